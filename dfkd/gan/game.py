"""A GAN as a session "game": DCGAN generator and critic on the shared adversarial engine.

One step is one round of the recipe's stage (:data:`STAGES`): ``critic_steps`` critic updates and one generator
update, as ``one_stage_round`` (the last update joint, Algorithm 1 of the paper) or ``two_stage_round`` (the
generator against the updated critic). Real images come from device-resident :class:`TensorBatches` in [0, 1] and
are mapped to the generator's tanh range [-1, 1]. Latent codes and CGAN labels come from the game's own seeded
generator (saved in checkpoints); the image grids use fixed codes (and fixed labels) drawn once at the start.

A round never makes the host wait for the device: statistics are returned as device tensors (the session reduces
them when it logs), and the engine's limit on consecutive skipped updates is checked by :meth:`GanGame.check`,
which the session calls whenever it logs or checkpoints.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import Tensor

from dfkd.data.batches import TensorBatches
from dfkd.data.eval import eval_mode
from dfkd.distributed import data_parallel, sync_batchnorm
from dfkd.engine import AdversarialBatch, AdversarialEngine, StepStats
from dfkd.engine.schedule import one_stage_round, two_stage_round
from dfkd.engine.stats import Scalar
from dfkd.gan.config import GanRecipe
from dfkd.gan.constraints import attach_weight_clipping, build_penalty
from dfkd.gan.evaluation import GanEvaluator
from dfkd.gan.loss_state import build_loss_state
from dfkd.gan.networks import build_networks
from dfkd.registry import Registry
from dfkd.runs.game_base import AdversarialGame, Part, RankRng, engine_config, latent_stream, optimised
from dfkd.runtime import prepare_models

Round = Callable[..., list[StepStats]]
STAGES: Registry[Round] = Registry("training stage")
STAGES.add("one", one_stage_round)
STAGES.add("two", two_stage_round)


class GanGame(AdversarialGame):
    """Generator + critic + engine for one recipe; implements :class:`dfkd.runs.session.Game`.

    Logged per round: the engine's losses, gradient norms, gamma statistics and guarded-sample counts, the
    learning rates, and the loss's own state (FisherGAN's multiplier). ``images_per_step`` counts the real images
    (= fake images) the critic sees per round: ``batch_size * critic_steps``.
    """

    def __init__(
        self,
        recipe: GanRecipe,
        device: torch.device,
        batches: TensorBatches,
        num_classes: int,
        channels: int,
        evaluator: GanEvaluator | None = None,
    ) -> None:
        self.recipe, self.device, self.batches, self.evaluator = recipe, device, batches, evaluator
        self.num_classes = num_classes if recipe.model.conditional else 0
        generator, critic = build_networks(recipe.model, channels, num_classes)
        self.generator, self.critic = generator.to(device), critic.to(device)
        if recipe.run.sync_batchnorm:  # torchrun only
            sync_batchnorm(self.generator, device)
            sync_batchnorm(self.critic, device)
        # speed settings before any wrapper sees the networks (DDP buckets follow their layout); for summary.json
        self.runtime = prepare_models(recipe.run, device, generator=self.generator, critic=self.critic)
        optim = recipe.optim
        steps = recipe.train.steps
        self.generator_optimizer, generator_schedule = optimised(
            self.generator.parameters(), optim.generator, optim.lr_schedule, steps
        )
        self.critic_optimizer, critic_schedule = optimised(
            self.critic.parameters(), optim.critic, optim.lr_schedule, steps
        )
        if recipe.loss.clip is not None:
            attach_weight_clipping(self.critic_optimizer, recipe.loss.clip)
        self.schedulers = generator_schedule + critic_schedule
        self.optimizers = {"generator": self.generator_optimizer, "critic": self.critic_optimizer}
        self.loss = build_loss_state(recipe.loss.name, recipe.loss.params)
        self.engine = AdversarialEngine(
            data_parallel(self.generator, device),  # DDP wrappers under torchrun, else the networks themselves
            data_parallel(self.critic, device),
            self.loss.objective(),
            self.generator_optimizer,
            self.critic_optimizer,
            engine_config(
                recipe.run,
                recipe.engine,
                device,
                critic_clip_norm=optim.critic_clip_norm,
                generator_clip_norm=optim.generator_clip_norm,
            ),
            critic_penalty=build_penalty(recipe.loss.penalty, recipe.loss.penalty_weight),
        )
        self.round = STAGES.get(recipe.train.stage)
        self.images_per_step = recipe.train.batch_size * recipe.train.critic_steps
        self.nz = recipe.model.nz
        grid = recipe.logging.grid_size
        self.rng, self.fixed_z = latent_stream(recipe.run.seed, device, grid, self.nz)
        self.fixed_labels = torch.arange(grid, device=device) % self.num_classes if self.num_classes else None

    # ------------------------------------------------------------------ batches and updates
    def _draw(self) -> AdversarialBatch:
        real, labels = self.batches.next_batch()
        size = real.shape[0]
        z = torch.randn(size, self.nz, generator=self.rng, device=self.device)
        if not self.num_classes:
            return AdversarialBatch(z=z, real=real * 2 - 1)
        fake_labels = torch.randint(self.num_classes, (size,), generator=self.rng, device=self.device)
        return AdversarialBatch(z=z, real=real * 2 - 1, fake_labels=fake_labels, real_labels=labels)

    def _after_update(self, stats: StepStats) -> None:
        if self.loss.after_update(stats):
            self.engine.objective = self.loss.objective()

    def _sample(self, z: Tensor, labels: Tensor | None) -> Tensor:
        return self.generator(z) if labels is None else self.generator(z, labels)

    # ------------------------------------------------------------------ Game protocol
    def train_step(self, step: int) -> Mapping[str, Scalar]:
        stats = self.round(self.engine, self._draw, self.recipe.train.critic_steps, on_step=self._after_update)
        return self.finish_round(stats, self.loss.scalars())

    def evaluate(self) -> Mapping[str, float]:
        if self.evaluator is None:
            return {}
        with eval_mode(self.generator):
            return self.evaluator.evaluate(self._sample, self.nz, self.num_classes, self.device)

    def sample_images(self) -> Tensor:
        with eval_mode(self.generator), torch.no_grad():
            return self._sample(self.fixed_z, self.fixed_labels).float()

    def checkpoint_parts(self) -> dict[str, Part]:
        return {
            "generator": self.generator,
            "critic": self.critic,
            "generator_optimizer": self.generator_optimizer,
            "critic_optimizer": self.critic_optimizer,
            "schedulers": self.schedulers,
            "engine": self.engine,
            "loss": self.loss,
            "batches": self.batches,
            "rng": RankRng(self.rng, self.recipe.run.seed),
        }

    def state_dict(self) -> dict[str, object]:
        return {**super().state_dict(), "fixed_z": self.fixed_z, "fixed_labels": self.fixed_labels}

    def load_state_dict(self, state: dict[str, object]) -> None:
        super().load_state_dict(state)
        self.engine.objective = self.loss.objective()  # the loaded loss state's objective
        self.fixed_z = state["fixed_z"].to(self.device)  # type: ignore[attr-defined]
        labels = state["fixed_labels"]
        self.fixed_labels = None if labels is None else labels.to(self.device)  # type: ignore[attr-defined]

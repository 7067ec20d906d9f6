"""Data-free distillation as a session "game": generator + (teacher, student) critic on the shared engine."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Mapping
from dataclasses import replace

import torch
from torch import Tensor, nn

from dfkd.config.load import RecipeError
from dfkd.data.eval import agreement, eval_mode, predict_top1
from dfkd.distill.attention import attention_transfer_loss
from dfkd.distill.config import DistillRecipe
from dfkd.distill.critic import DiscrepancyCritic, KDAux
from dfkd.distill.memory import ReplayMemory
from dfkd.distill.methods import METHODS, RoundContext
from dfkd.distill.priors import image_prior, teacher_prior
from dfkd.distill.teacher_pass import FrozenTeacher, TeacherPass
from dfkd.distributed import active, data_parallel, gather_objects, local_batch, rank, sync_batchnorm
from dfkd.engine import AdversarialBatch, AdversarialEngine, Objective, StepStats
from dfkd.losses import DISCREPANCIES, KD_OBJECTIVES
from dfkd.models import create_model
from dfkd.runs.game_base import AdversarialGame, Part, RankRng, engine_config, latent_stream, optimised
from dfkd.runtime import autocast_dtype, prepare_models
from dfkd.teachers.normalize import Normalizer
from dfkd.teachers.record import TeacherInfo

GRID_SIZE = 64
# The keyword under which a generator takes its output size (the teacher's input size is passed on).
GENERATOR_SIZE_KWARG = {"dfad_generator": "img_size", "zskt_generator": "img_size", "dcgan_generator": "resolution"}


def _discrepancy(recipe: DistillRecipe):  # type: ignore[no-untyped-def]
    fn = DISCREPANCIES.get(recipe.loss.discrepancy)
    return functools.partial(fn, temperature=recipe.loss.temperature) if recipe.loss.discrepancy == "kl" else fn


def _objective(recipe: DistillRecipe) -> Objective:
    objective = KD_OBJECTIVES.get(recipe.loss.objective).objective()
    beta = recipe.loss.attention_beta
    critic_aux = None
    if beta > 0:

        def critic_aux(aux_fake: object, aux_real: object) -> Tensor:
            assert isinstance(aux_fake, KDAux) and aux_fake.teacher_features and aux_fake.student_features
            return attention_transfer_loss(aux_fake.teacher_features, aux_fake.student_features, beta)

    priors = recipe.loss.priors
    return replace(
        objective,
        critic_aux_loss=critic_aux,
        generator_aux_loss=teacher_prior(priors),
        generator_output_loss=image_prior(priors),
    )


class DistillGame(AdversarialGame):
    """One round = one call of the recipe's method (see :mod:`dfkd.distill.methods`).

    Logged per round: the engine's losses, gamma statistics and guarded-sample counts, learning rates.
    Evaluated: the student's top-1 accuracy on the teacher's test data, and its agreement with the teacher.
    ``images_per_step`` counts the generated images the student trains on per round.

    The game keeps its own references to teacher, student, generator and latent size (taken when it builds
    them), so wrapping the networks (e.g. for data parallelism) hides nothing it needs.

    Under torchrun (:mod:`dfkd.distributed`) the engine trains DDP wrappers of the generator and the critic
    (the student's weights); ``recipe.batch_size`` is the global batch, each rank drawing its share from its
    own latent stream; replay memories are per rank. Evaluation and image grids use the plain networks.
    """

    image_range = (0.0, 1.0)

    def __init__(
        self,
        recipe: DistillRecipe,
        device: torch.device,
        teacher: nn.Module,
        teacher_info: TeacherInfo,
        eval_images: Tensor,
        eval_labels: Tensor,
    ) -> None:
        if teacher_info.mean is None or teacher_info.std is None:
            raise ValueError("the teacher's input normalisation (mean/std) must be known before distillation")
        if recipe.loss.attention_beta > 0 and recipe.replay.capacity and recipe.replay.steps:
            raise RecipeError(
                "replay keeps only the teacher's logits, but attention transfer (loss.attention_beta) needs its "
                "features in every student step: set replay.steps=0 or loss.attention_beta=0"
            )
        if teacher_info.input_size is None:
            raise ValueError("the teacher's input size must be known before distillation")
        self.recipe = recipe
        self.device = device
        self.input_size = tuple(teacher_info.input_size)
        self.normalizer = Normalizer(teacher_info.mean, teacher_info.std).to(device)
        self.student = create_model(
            recipe.student.arch, num_classes=teacher_info.num_classes, **recipe.student.kwargs
        ).to(device)
        channels, size = self.input_size[0], self.input_size[1]
        size_key = GENERATOR_SIZE_KWARG.get(recipe.generator.arch, "img_size")
        generator_kwargs = {size_key: size, "channels": channels, **recipe.generator.kwargs}
        self.generator = create_model(recipe.generator.arch, **generator_kwargs).to(device)
        self.nz = int(self.generator.nz)  # type: ignore[arg-type]
        self.batch_size = local_batch(recipe.batch_size, "batch_size")  # this process's share
        if recipe.run.sync_batchnorm:
            sync_batchnorm(self.student, device)
            sync_batchnorm(self.generator, device)
        self.teacher = FrozenTeacher(
            teacher.to(device),
            features=recipe.loss.attention_beta > 0,
            bn_statistics=bool(recipe.loss.priors.get("bn")),
        )
        # speed settings before any wrapper sees the networks (DDP buckets follow their layout); for summary.json
        self.runtime = prepare_models(
            recipe.run, device, teacher=self.teacher, student=self.student, generator=self.generator
        )
        self.critic = DiscrepancyCritic(
            self.teacher, self.student, _discrepancy(recipe), aux=teacher_prior(recipe.loss.priors) is not None
        )
        self.autocast_dtype = autocast_dtype(recipe.run, device)
        schedule, steps = recipe.optim.lr_schedule, recipe.steps
        self.student_optimizer, student_schedule = optimised(
            self.student.parameters(), recipe.student.optimizer, schedule, steps
        )
        self.generator_optimizer, generator_schedule = optimised(
            self.generator.parameters(),
            recipe.generator.optimizer,
            None if recipe.method == "noise" else schedule,
            steps,
        )  # the noise method never trains the generator
        self.schedulers = student_schedule + generator_schedule
        self.optimizers = {"student": self.student_optimizer, "generator": self.generator_optimizer}
        self.engine = AdversarialEngine(
            data_parallel(self.generator, device),
            data_parallel(self.critic, device),
            _objective(recipe),
            self.generator_optimizer,
            self.student_optimizer,
            engine_config(
                recipe.run,
                recipe.engine,
                device,
                critic_clip_norm=recipe.optim.student_clip_norm,
                generator_clip_norm=recipe.optim.generator_clip_norm,
            ),
        )
        self.method = METHODS.get(recipe.method)
        self.images_per_step = recipe.batch_size * recipe.student_updates_per_round
        self.rng, self.fixed_z = latent_stream(recipe.run.seed, device, GRID_SIZE, self.nz)
        self.eval_images, self.eval_labels = eval_images, eval_labels
        replay = recipe.replay
        self.memory = ReplayMemory(replay.capacity, device) if replay.capacity and replay.steps else None
        self._noise_pool: Tensor | None = None
        self._noise_logits: Tensor | None = None
        self.teacher_eval_predictions = self._predictions(teacher)

    # ------------------------------------------------------------------ batches
    def _draw(self) -> AdversarialBatch:
        z = torch.randn(self.batch_size, self.nz, generator=self.rng, device=self.device)
        return AdversarialBatch(z=z)

    def _noise(self) -> tuple[Tensor, TeacherPass | None]:
        """A batch of the fixed random-noise pool, with the teacher's logits on it when they suffice.

        The pool and the teacher are both fixed, so the teacher labels the pool once (in chunks of
        the run's batch size) and the control's student steps run no teacher forward; with attention transfer the
        student also needs the teacher's features, which are not kept for the whole pool (None: the critic runs
        the teacher on the batch)."""
        if self._noise_pool is None:  # fixed for the run: derived from the seed, not from the RNG stream
            pool_rng = torch.Generator(device=self.device)
            pool_rng.manual_seed(self.recipe.run.seed + 1)
            shape = (self.recipe.noise_pool, *self.input_size)
            self._noise_pool = torch.randn(shape, generator=pool_rng, device=self.device)
            if not self.teacher.features:
                chunks = self._noise_pool.split(self.batch_size)  # a training setting: fixed on resume
                self._noise_logits = torch.cat([self._teacher_pass(chunk).logits.float() for chunk in chunks])
        index = torch.randint(self._noise_pool.shape[0], (self.batch_size,), generator=self.rng, device=self.device)
        logits = self._noise_logits
        return self._noise_pool[index], None if logits is None else TeacherPass(logits[index])

    # ------------------------------------------------------------------ teacher
    def _teacher_pass(self, x: Tensor) -> TeacherPass:
        """The teacher's pass on ``x`` for student-only steps to reuse: no gradient, the run's precision, no BN
        statistics (only generator updates read them)."""
        autocast = (
            torch.autocast(self.device.type, dtype=self.autocast_dtype)
            if self.autocast_dtype is not None
            else contextlib.nullcontext()
        )
        with torch.no_grad(), autocast:
            return self.teacher(x, bn_statistics=False)

    # ------------------------------------------------------------------ Game protocol
    def _replay(self) -> list[StepStats]:
        """Store fresh samples with the teacher's logits, then extra student steps on remembered ones (the
        stored logits are their teacher pass: no teacher forward in these steps)."""
        assert self.memory is not None
        for _ in range(self.recipe.replay.per_round):
            fake = self.engine.generate(self._draw())
            self.memory.add(fake, self._teacher_pass(fake).logits)
        stats = []
        for _ in range(self.recipe.replay.steps):
            images, logits = self.memory.sample(self.batch_size, self.rng)
            stats.append(self.engine.critic_step(self._draw(), fake=images, precomputed=TeacherPass(logits)))
        return stats

    def train_step(self, step: int) -> Mapping[str, Tensor | float]:  # device tensors: no host synchronisation
        context = RoundContext(self.engine, self._teacher_pass, self._draw, self.recipe.student_steps, self._noise)
        stats = self.method(context)
        if self.memory is not None:
            stats += self._replay()
        return self.finish_round(stats)

    def _predictions(self, model: nn.Module) -> Tensor:
        return predict_top1(model, self.eval_images, self.recipe.data.batch_size, self.normalizer)

    def teacher_accuracy(self) -> float:
        return agreement(self.teacher_eval_predictions, self.eval_labels)

    def evaluate(self) -> Mapping[str, float]:
        predictions = self._predictions(self.student)
        return {
            "student_acc": agreement(predictions, self.eval_labels),
            "teacher_agreement": agreement(predictions, self.teacher_eval_predictions),
        }

    def sample_images(self) -> Tensor | None:
        if self.recipe.method == "noise":
            return None
        with eval_mode(self.generator), torch.no_grad():
            images = self.normalizer.inverse(self.generator(self.fixed_z).float())
        return images.clamp(0, 1)

    def checkpoint_parts(self) -> dict[str, Part]:
        return {
            "student": self.student,
            "generator": self.generator,
            "student_optimizer": self.student_optimizer,
            "generator_optimizer": self.generator_optimizer,
            "schedulers": self.schedulers,
            "engine": self.engine,
            "rng": RankRng(self.rng, self.recipe.run.seed),
        }

    def state_dict(self) -> dict[str, object]:
        return {**super().state_dict(), "memory": self._memory_state()}

    def best_state_dict(self) -> dict[str, object]:
        """``best.pt``'s state: all but the replay memory (100 MB in the quick-start; written at every improving
        evaluation, it cost about 0.5 s each time), which only resuming from ``last.pt`` needs."""
        return {**super().state_dict(), "memory": None}

    def _memory_state(self) -> object:
        if self.memory is None:
            return None
        if not active():
            return self.memory.state_dict()
        state = self.memory.state_dict()  # every rank's memory, on the CPU, in rank order
        return gather_objects({k: v.cpu() if isinstance(v, Tensor) else v for k, v in state.items()})

    def load_state_dict(self, state: dict[str, object]) -> None:
        super().load_state_dict(state)
        saved = state["memory"]
        if isinstance(saved, list):  # per rank (torchrun); a rank the checkpoint lacks starts empty
            saved = saved[rank()] if rank() < len(saved) else None
        if self.memory is not None and saved is not None:
            self.memory.load_state_dict(saved)  # type: ignore[arg-type]
            if self.memory.images is not None and self.memory.logits is not None:
                self.memory.images = self.memory.images.to(self.device)
                self.memory.logits = self.memory.logits.to(self.device)

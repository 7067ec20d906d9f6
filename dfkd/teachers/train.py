"""Supervised teacher training (``dfkd train-teacher``) as a session game: resumable, logged, evaluated.

The training split lives on the device as tensors (:class:`dfkd.data.TensorBatches`), augmented batch-wise
(random crop with padding 4, horizontal flip where labels allow). Learning-rate milestones are given in
epochs. At the end the teacher file records architecture, classes, input size, normalisation and the final
(last-epoch, not test-selected) test accuracy.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from dfkd.config.load import RecipeError
from dfkd.data.eval import agreement, predict_top1
from dfkd.data.loading import flips_keep_labels, load_split
from dfkd.data.spec import DatasetSpec
from dfkd.distributed import data_parallel, from_main, sync_batchnorm
from dfkd.distributed.batches import sharded_batches
from dfkd.models import create_model
from dfkd.recipes import packaged_recipe
from dfkd.runs.game_base import CheckpointedGame, Part, optimised
from dfkd.runs.launch import plan_run
from dfkd.runs.session import SessionConfig, precision_fingerprint, recipe_fingerprint, run_session
from dfkd.runtime import apply_run_settings, autocast_dtype, prepare_models
from dfkd.teachers.config import TeacherRecipe
from dfkd.teachers.normalize import Normalizer
from dfkd.teachers.record import TeacherInfo, save_teacher


class TeacherGame(CheckpointedGame):
    """One step = one SGD step on a batch of the training split."""

    def __init__(
        self,
        recipe: TeacherRecipe,
        device: torch.device,
        spec: DatasetSpec,
        train: tuple[Tensor, Tensor],
        test: tuple[Tensor, Tensor],
    ) -> None:
        self.recipe, self.device, self.spec = recipe, device, spec
        self.model = create_model(recipe.model.arch, num_classes=spec.num_classes, **recipe.model.kwargs).to(device)
        self.runtime = prepare_models(recipe.run, device, model=self.model)  # GPU speed settings, for summary.json
        self.normalizer = Normalizer(spec.mean, spec.std).to(device)
        cfg = recipe.train
        if recipe.run.sync_batchnorm:  # torchrun only
            sync_batchnorm(self.model, device)
        self.network = data_parallel(self.model, device)  # trains; DDP under torchrun
        self.batches = sharded_batches(
            *train,
            cfg.batch_size,
            key="train.batch_size",
            device=device,
            seed=recipe.run.seed,
            augment=recipe.data.augment,
            hflip=flips_keep_labels(recipe.data.name),
            channels_last=device.type == "cuda" and recipe.run.channels_last,
        )  # fmt: skip
        self.steps_per_epoch = len(self.batches)
        self.total_steps = cfg.epochs * self.steps_per_epoch
        schedule = cfg.lr_schedule.model_copy(
            update={"milestones": [m * self.steps_per_epoch for m in cfg.lr_schedule.milestones]}
        )
        self.optimizer, (self.scheduler,) = optimised(
            self.model.parameters(), cfg.optimizer, schedule, self.total_steps
        )
        self.autocast = autocast_dtype(recipe.run, device)
        self.scaler = torch.amp.GradScaler(device.type, enabled=self.autocast == torch.float16)
        self.test_images, self.test_labels = test
        self.images_per_step = cfg.batch_size

    def train_step(self, step: int) -> Mapping[str, float | Tensor]:
        images, labels = self.batches.next_batch()
        with torch.autocast(self.device.type, dtype=self.autocast or torch.float32, enabled=self.autocast is not None):
            logits = self.network(self.normalizer(images))
            loss = F.cross_entropy(logits, labels)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        accuracy = (logits.detach().argmax(1) == labels).float().mean()
        return {"loss": loss.detach(), "train_acc": accuracy, "lr": self.optimizer.param_groups[0]["lr"]}

    def evaluate(self) -> Mapping[str, float]:
        predictions = predict_top1(self.model, self.test_images, normalize=self.normalizer)
        return {"test_acc": agreement(predictions, self.test_labels)}

    def sample_images(self) -> None:
        return None

    def checkpoint_parts(self) -> dict[str, Part]:
        return {
            "model": self.model,
            "optimizer": self.optimizer,
            "scheduler": self.scheduler,
            "scaler": self.scaler,
            "batches": self.batches,
        }


#: Recipe keys that may change when a teacher training is resumed.
CHANGEABLE_ON_RESUME = ("logging",)


def check_output(output: str, *, force: bool) -> None:
    """Refuse, before any training, a teacher ``output`` that is a directory, lies under a file, or exists
    already (unless ``force``): :class:`~dfkd.config.load.RecipeError` naming the key."""
    path = Path(output)
    if path.is_dir():
        raise RecipeError(
            f"output={output}: is a directory; expected the teacher file to write, e.g. {path / 'teacher.pt'}"
        )
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            raise RecipeError(f"output={output}: {parent} is a file, not a directory")
    if path.exists() and not force:
        raise RecipeError(
            f"output={output}: the teacher file already exists; pass --force (force=True) to overwrite it, or "
            "choose another output=PATH"
        )


def train_teacher(
    recipe_path: str | None,
    overrides: list[str] | tuple[str, ...] = (),
    *,
    resume: str | None = None,
    force: bool = False,
) -> tuple[TeacherInfo | None, dict[str, object]]:
    """Train (or resume training) a teacher; writes the teacher file ``recipe.output`` once training completes.
    Returns its info (None when stopped early: nothing is written) and the run summary. No recipe and no
    resume: the packaged quick-start teacher recipe. An existing ``output`` is overwritten only with ``force``
    (checked before training, see :func:`check_output`)."""
    if recipe_path is None and resume is None:
        recipe_path = packaged_recipe("quickstart-teacher")
    plan = plan_run(TeacherRecipe, recipe_path, overrides, resume=resume, changeable=CHANGEABLE_ON_RESUME)
    recipe = plan.recipe
    check_output(recipe.output, force=force)
    device = apply_run_settings(recipe.run)
    data = recipe.data
    train_images, train_labels, spec = load_split(
        data.name, "train", root=data.root, download=data.download, max_items=data.max_train_items, seed=recipe.run.seed
    )
    test_images, test_labels, _ = load_split(
        data.name, "test", root=data.root, download=data.download, max_items=data.max_test_items, seed=0
    )
    game = TeacherGame(recipe, device, spec, (train_images, train_labels), (test_images, test_labels))
    run = plan.open()
    print(
        f"training teacher {recipe.model.arch} on {data.name} ({train_images.shape[0]} images, "
        f"{recipe.train.epochs} epochs = {game.total_steps} steps) -> {recipe.output}"
    )
    session = SessionConfig(
        steps=game.total_steps,
        eval_every=recipe.logging.eval_every or game.steps_per_epoch,
        log_every=recipe.logging.log_every,
        checkpoint_every=recipe.logging.checkpoint_every,
        image_every=0,
        max_wall_s=recipe.logging.max_wall_s,
    )
    meta = {"job": "train-teacher", "arch": recipe.model.arch, "runtime": game.runtime}
    fingerprints = {
        "recipe": recipe_fingerprint(recipe, CHANGEABLE_ON_RESUME),
        "precision": precision_fingerprint(recipe.run, device),
    }
    summary = run_session(game, run, session, resume=plan.resuming, meta=meta, fingerprints=fingerprints)
    run.close()
    if summary.get("stopped") != "completed":  # a half-trained teacher must not pass for the real one
        print(
            f"teacher training stopped at step {summary['steps']} of {game.total_steps} ({summary.get('stopped')}): "
            f"{recipe.output} not written; continue with `dfkd train-teacher --resume {run.path}`"
        )
        return None, summary
    info = TeacherInfo(
        arch=recipe.model.arch,
        num_classes=spec.num_classes,
        input_size=(spec.channels, spec.image_size, spec.image_size),
        mean=spec.mean,
        std=spec.std,
        accuracy=float(summary["test_acc_last"]),
        dataset=data.name,
        arch_kwargs=dict(recipe.model.kwargs),
    )
    info = from_main(lambda: save_teacher(recipe.output, game.model, info))  # rank 0 writes; all wait for it
    print(f"teacher test accuracy {info.accuracy:.4f} (last epoch) saved to {recipe.output}")
    return info, summary

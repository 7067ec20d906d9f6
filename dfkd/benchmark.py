"""Side-by-side cost of one-stage and two-stage training rounds, measured in one process.

Each contender is a full training round of a real game (distillation or GAN) built from a recipe, differing
only in ``method`` (distillation) or ``train.stage`` (GAN). Rounds are timed in interleaved blocks (A B, B A,
A B, ...) so that drifting machine load affects both alike, and the report gives medians and **ratios**:
absolute times on a shared machine mean little, the ratio of two measured side by side does.

Weights do not change the cost: when the teacher's checkpoint is absent, a randomly initialised teacher of
``teacher.arch`` stands in for it, so benchmarks of the CIFAR recipes need neither data nor a trained teacher.
"""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from dfkd.config.load import RecipeError, load_recipe
from dfkd.runtime import apply_run_settings, prepare_models


@dataclass
class Contender:
    """One way of training, as a callable that runs one round."""

    name: str
    round: Callable[[int], object]
    images_per_round: int


@dataclass
class Timing:
    name: str
    seconds_per_round: list[float]
    images_per_round: int

    @property
    def median(self) -> float:
        return statistics.median(self.seconds_per_round)

    @property
    def images_per_s(self) -> float:
        return self.images_per_round / self.median


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_interleaved(
    contenders: Sequence[Contender], *, rounds: int, repeats: int, warmup: int, device: torch.device
) -> list[Timing]:
    """Seconds per round of each contender: ``repeats`` blocks of ``rounds`` rounds, alternating the order."""
    step = 0
    for contender in contenders:
        for _ in range(warmup):
            step += 1
            contender.round(step)
    samples: dict[str, list[float]] = {c.name: [] for c in contenders}
    for repeat in range(repeats):
        order = contenders if repeat % 2 == 0 else list(reversed(contenders))
        for contender in order:
            _synchronize(device)
            start = time.perf_counter()
            for _ in range(rounds):
                step += 1
                contender.round(step)
            _synchronize(device)
            samples[contender.name].append((time.perf_counter() - start) / rounds)
    return [Timing(c.name, samples[c.name], c.images_per_round) for c in contenders]


def format_timings(timings: Sequence[Timing], baseline: str) -> str:
    """A table of medians with each contender's speed-up over ``baseline`` (its s/round over theirs)."""
    reference = next(t for t in timings if t.name == baseline)
    title = f"speed-up vs {baseline}"
    width = len(title) + 2
    lines = [f"{'contender':<12} {'s/round (median)':>17} {'spread':>8} {'images/s':>10} {title:>{width}}"]
    for t in timings:
        spread = (max(t.seconds_per_round) - min(t.seconds_per_round)) / t.median  # (max - min) / median
        lines.append(
            f"{t.name:<12} {t.median:>17.4f} {spread:>8.0%} {t.images_per_s:>10.0f} "
            f"{reference.median / t.median:>{width - 1}.3f}x"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- distillation
def _stand_in_teacher(recipe, data_spec):  # type: ignore[no-untyped-def]
    """The recipe's teacher if its checkpoint exists, else a random one of ``teacher.arch`` (same cost)."""
    from dfkd.distill.job import _complete_info, ensure_teacher
    from dfkd.models import create_model
    from dfkd.teachers.record import TeacherInfo

    cfg = recipe.teacher
    if Path(cfg.checkpoint).is_file():
        teacher, info = ensure_teacher(cfg)
        return teacher, _complete_info(info, data_spec, cfg.checkpoint)
    if cfg.arch is None:
        raise RecipeError(
            f"teacher.checkpoint {cfg.checkpoint} does not exist: set teacher.arch (e.g. teacher.arch=cifar_resnet34) "
            "so that a randomly initialised teacher of that architecture can stand in for the benchmark"
        )
    num_classes = cfg.num_classes or data_spec.num_classes
    teacher = create_model(cfg.arch, num_classes=num_classes, **(cfg.arch_kwargs or {}))  # the critic freezes it
    size = data_spec.image_size
    info = TeacherInfo(cfg.arch, num_classes, (data_spec.channels, size, size), data_spec.mean, data_spec.std)
    return teacher, info


def distill_contenders(
    recipe_path: str, overrides: Sequence[str], methods: Sequence[str]
) -> tuple[list[Contender], torch.device]:
    """One :class:`~dfkd.distill.game.DistillGame` per method, from the same recipe and seed."""
    from dfkd.data import dataset_spec
    from dfkd.distill.config import DistillRecipe
    from dfkd.distill.game import DistillGame

    contenders, device = [], torch.device("cpu")
    for method in methods:
        recipe = load_recipe(DistillRecipe, recipe_path, [*overrides, f"method={method}"])
        device = apply_run_settings(recipe.run)
        spec = dataset_spec(recipe.data.name, recipe.data.root)
        teacher, info = _stand_in_teacher(recipe, spec)
        channels, size = info.input_size[0], info.input_size[1]
        eval_images = torch.zeros(8, channels, size, size, dtype=torch.uint8)
        game = DistillGame(recipe, device, teacher, info, eval_images, torch.zeros(8, dtype=torch.long))
        prepare_models(recipe.run, device, teacher=game.critic.teacher, student=game.student, generator=game.generator)
        contenders.append(Contender(method, game.train_step, game.images_per_step))
    return contenders, device


# ---------------------------------------------------------------------------------------------- GAN
def gan_contenders(recipe_path: str, overrides: Sequence[str], stages: Sequence[str]) -> tuple[list[Contender], torch.device]:
    """One :class:`~dfkd.gan.game.GanGame` per stage, from the same recipe and seed (FID/KID off)."""
    from dfkd.gan.config import GanRecipe
    from dfkd.gan.job import build_game

    contenders, device = [], torch.device("cpu")
    for stage in stages:
        recipe = load_recipe(GanRecipe, recipe_path, [*overrides, f"train.stage={stage}", "fid.enabled=false"])
        device = apply_run_settings(recipe.run)
        game = build_game(recipe, device).game
        prepare_models(recipe.run, device, generator=game.generator, critic=game.critic)
        contenders.append(Contender(f"{stage}-stage", game.train_step, game.images_per_step))
    return contenders, device

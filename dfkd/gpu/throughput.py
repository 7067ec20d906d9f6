"""Measured speed of distillation rounds: images/s of one-stage and DFAD side by side, and the engine's
overhead over the same round written directly in PyTorch (:mod:`dfkd.gpu.plain_round`).

Rounds are timed in interleaved blocks (:func:`dfkd.benchmark.time_interleaved`): ratios of contenders
measured side by side, in one process, are what these numbers are for.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from dfkd.benchmark import Contender, Timing, _stand_in_teacher, distill_contenders, time_interleaved
from dfkd.config.load import load_recipe
from dfkd.data import dataset_spec
from dfkd.distill.config import DistillRecipe
from dfkd.distill.game import DistillGame
from dfkd.distill.methods import RoundContext
from dfkd.gpu.plain_round import PlainOneStageRound
from dfkd.gpu.profiles import RECIPES, CheckProfile
from dfkd.runtime import apply_run_settings, prepare_models


def _timing_row(timing: Timing) -> dict[str, Any]:
    spread = (max(timing.seconds_per_round) - min(timing.seconds_per_round)) / timing.median
    return {
        "s_per_round": timing.median,
        "images_per_s": timing.images_per_s,
        "images_per_round": timing.images_per_round,
        "spread": spread,
    }


def _timed(contenders: Sequence[Contender], profile: CheckProfile, device: torch.device) -> dict[str, Timing]:
    plan = profile.timing
    timings = time_interleaved(contenders, rounds=plan.rounds, repeats=plan.repeats, warmup=plan.warmup, device=device)
    return {t.name: t for t in timings}


def method_throughput(profile: CheckProfile, precision: str, extra: Sequence[str] = ()) -> dict[str, Any]:
    """images/s of ``onestage`` and ``dfad`` on DFAD's CIFAR-10 recipe with ``profile.benchmark_overrides``."""
    overrides = [*profile.benchmark_overrides, f"run.precision={precision}", *extra]
    contenders, device = distill_contenders(str(RECIPES / "cifar10" / "dfad.yaml"), overrides, ["onestage", "dfad"])
    timings = _timed(contenders, profile, device)
    return {
        "precision": precision,
        "overrides": overrides,
        "methods": {name: _timing_row(t) for name, t in timings.items()},
        "onestage_over_dfad": timings["onestage"].images_per_s / timings["dfad"].images_per_s,
    }


def _onestage_game(overrides: Sequence[str]) -> DistillGame:
    recipe = load_recipe(DistillRecipe, str(RECIPES / "cifar10" / "onestage.yaml"), overrides)
    device = apply_run_settings(recipe.run)
    spec = dataset_spec(recipe.data.name, recipe.data.root)
    teacher, info = _stand_in_teacher(recipe, spec)
    size = info.input_size
    game = DistillGame(recipe, device, teacher, info, torch.zeros(8, *size, dtype=torch.uint8), torch.zeros(8).long())
    prepare_models(recipe.run, device, teacher=game.critic.teacher, student=game.student, generator=game.generator)
    return game


def engine_round(game: DistillGame) -> Contender:
    """The game's method on its engine, without the game's statistics and schedules."""
    context = RoundContext(game.engine, game.critic, game._draw, game.recipe.student_steps, game._noise)
    return Contender("engine", lambda step: game.method(context), game.images_per_step)


def engine_overhead(profile: CheckProfile, precision: str) -> dict[str, Any]:
    """Seconds per one-stage round: written directly in PyTorch (``plain``), on the engine (``engine``), and as
    the game's whole ``train_step`` (``game``: plus the logged statistics and the schedules); overheads are
    relative to ``plain``."""
    game = _onestage_game([*profile.benchmark_overrides, f"run.precision={precision}"])
    contenders = [
        Contender("plain", PlainOneStageRound(game), game.images_per_step),
        engine_round(game),
        Contender("game", game.train_step, game.images_per_step),
    ]
    timings = _timed(contenders, profile, game.device)
    plain = timings["plain"].median
    return {
        "precision": precision,
        "rounds": {name: _timing_row(t) for name, t in timings.items()},
        "engine_overhead": timings["engine"].median / plain - 1,
        "game_overhead": timings["game"].median / plain - 1,
    }

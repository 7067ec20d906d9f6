"""Accuracy curves of member runs: reading them, time to a fraction of the teacher, means over seeds.

A member's curve is its evaluations in metrics.jsonl: ``eval/student_acc`` against the round (``step``),
``train_wall_s`` (training time only, without evaluation and checkpoints, accumulated over resumes) and
generated images seen (``step`` x images per round). Between evaluations the accuracy is not known; curves are
treated as step functions that hold the last evaluated value, so means over seeds never invent values between
evaluations. :func:`seed_mean_curve` averages seeds only on the rounds that every seed evaluated.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import reduce
from pathlib import Path
from typing import Literal

import numpy as np

from dfkd.runs.run_dir import RunDir

Axis = Literal["seconds", "images"]
ACCURACY_KEY = "eval/student_acc"


@dataclass(frozen=True)
class Curve:
    """One member's evaluations, in step order: the round, training seconds, images seen and accuracy of each."""

    steps: np.ndarray
    seconds: np.ndarray
    images: np.ndarray
    accuracy: np.ndarray

    def axis(self, name: Axis) -> np.ndarray:
        return self.seconds if name == "seconds" else self.images


def read_curve(run_path: Path, images_per_round: float) -> Curve:
    rows = RunDir(run_path.name, root=run_path.parent, tensorboard=False).read_metrics()
    evals = sorted((r for r in rows if ACCURACY_KEY in r and "train_wall_s" in r), key=lambda r: r["step"])
    return Curve(
        steps=np.array([int(r["step"]) for r in evals], dtype=np.int64),
        seconds=np.array([float(r["train_wall_s"]) for r in evals]),
        images=np.array([r["step"] * images_per_round for r in evals]),
        accuracy=np.array([float(r[ACCURACY_KEY]) for r in evals]),
    )


def first_reach(curve: Curve, threshold: float, axis: Axis) -> float | None:
    """Seconds (or images) at the first evaluation with accuracy >= ``threshold``; None if none reached it."""
    hits = np.flatnonzero(curve.accuracy >= threshold)
    return float(curve.axis(axis)[hits[0]]) if hits.size else None


def seed_mean_curve(curves: Sequence[Curve]) -> Curve | None:
    """The mean over seeds, round by round: on every round some seed evaluated, from the first round that every
    seed has evaluated by, each seed contributes its last evaluation so far (seconds, images and accuracy), and a
    seed that stopped earlier (a wall-clock budget) holds its final evaluation -- its student no longer changes.
    At the last round the mean accuracy is therefore the mean of the seeds' last accuracies. None without seeds
    or if some seed has no evaluation."""
    if not curves or any(c.steps.size == 0 for c in curves):
        return None
    start = max(int(c.steps[0]) for c in curves)
    rounds = reduce(np.union1d, [c.steps for c in curves])
    rounds = rounds[rounds >= start]

    def mean(pick: Callable[[Curve], np.ndarray]) -> np.ndarray:
        return np.mean([hold_last(c.steps, pick(c), rounds) for c in curves], axis=0)

    return Curve(
        steps=rounds,
        seconds=mean(lambda c: c.seconds),
        images=mean(lambda c: c.images),
        accuracy=mean(lambda c: c.accuracy),
    )


def hold_last(x: np.ndarray, y: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Step-wise interpolation: at each grid point the last ``y`` whose ``x`` is <= it (NaN before the first)."""
    index = np.searchsorted(x, grid, side="right") - 1
    out = y[np.clip(index, 0, None)].astype(float)
    out[index < 0] = np.nan
    return out


@dataclass(frozen=True)
class Band:
    """Mean accuracy over seeds on a common grid, with the lowest and highest seed."""

    grid: np.ndarray
    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray


def mean_band(curves: list[Curve], axis: Axis, points: int = 200) -> Band | None:
    """The seeds' curves on a common grid, from where every seed has been evaluated once to where the last seed
    stops; a seed that stopped earlier holds its final accuracy (its student does not change any more). None if
    some seed has no evaluation."""
    if not curves or any(c.accuracy.size == 0 for c in curves):
        return None
    start = max(float(c.axis(axis)[0]) for c in curves)
    end = max(start, max(float(c.axis(axis)[-1]) for c in curves))
    knots = np.concatenate([c.axis(axis) for c in curves])
    grid = np.union1d(np.linspace(start, end, points), knots[(knots >= start) & (knots <= end)])
    values = np.stack([hold_last(c.axis(axis), c.accuracy, grid) for c in curves])
    return Band(grid, values.mean(axis=0), values.min(axis=0), values.max(axis=0))

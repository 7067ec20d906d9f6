"""Accuracy curves of member runs: reading them, time to a fraction of the teacher, means over seeds.

A member's curve is its evaluations in metrics.jsonl: ``eval/student_acc`` against the round (``step``),
``train_wall_s`` (training time only, without evaluation and checkpoints, accumulated over resumes) and
generated images seen (``step`` x images per round). Between evaluations the accuracy is not known; curves are
treated as step functions that hold the last evaluated value, so means over seeds never invent values between
evaluations. :func:`seed_mean_curve` averages seeds only on the rounds that every seed evaluated.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    """The mean over seeds on the rounds that EVERY seed evaluated (seconds, images and accuracy averaged at each
    such round); None without seeds or without such a round."""
    if not curves:
        return None
    common = reduce(np.intersect1d, [c.steps for c in curves])
    if common.size == 0:
        return None
    at = [np.searchsorted(c.steps, common) for c in curves]

    def mean(values: list[np.ndarray]) -> np.ndarray:
        return np.mean([v[i] for v, i in zip(values, at, strict=True)], axis=0)

    return Curve(
        steps=common,
        seconds=mean([c.seconds for c in curves]),
        images=mean([c.images for c in curves]),
        accuracy=mean([c.accuracy for c in curves]),
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

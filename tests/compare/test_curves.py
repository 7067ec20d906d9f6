"""Curves: first time to a threshold, step-wise holding between evaluations, means and bands over seeds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dfkd.compare.curves import Curve, first_reach, hold_last, mean_band, read_curve, seed_mean_curve


def curve(
    seconds: list[float], accuracy: list[float], images_per_eval: int = 100, steps: list[int] | None = None
) -> Curve:
    rounds = np.array(steps if steps is not None else range(1, len(seconds) + 1))
    return Curve(rounds, np.array(seconds), rounds * float(images_per_eval), np.array(accuracy))


def test_read_curve_takes_the_evaluation_rows(tmp_path: Path) -> None:
    run = tmp_path / "member"
    run.mkdir()
    rows = [
        {"step": 5, "train/loss": 1.0, "train_wall_s": 1.0},
        {"step": 10, "eval/student_acc": 0.3, "train_wall_s": 2.0},
        {"step": 20, "eval/student_acc": 0.6, "train_wall_s": 4.5},
    ]
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"step": 3')  # torn last line
    c = read_curve(run, images_per_round=64)
    assert c.seconds.tolist() == [2.0, 4.5] and c.images.tolist() == [640, 1280] and c.accuracy.tolist() == [0.3, 0.6]
    assert c.steps.tolist() == [10, 20]


def test_first_reach_is_the_first_evaluation_at_or_above() -> None:
    c = curve([10, 20, 30, 40], [0.2, 0.5, 0.45, 0.8])
    assert first_reach(c, 0.5, "seconds") == 20
    assert first_reach(c, 0.5, "images") == 200
    assert first_reach(c, 0.6, "seconds") == 40
    assert first_reach(c, 0.9, "seconds") is None


def test_hold_last_is_a_step_function() -> None:
    values = hold_last(np.array([1.0, 3.0]), np.array([0.1, 0.4]), np.array([0.5, 1.0, 2.9, 3.0, 9.0]))
    assert np.isnan(values[0]) and values[1:].tolist() == [0.1, 0.1, 0.4, 0.4]


def test_mean_band_over_seeds_on_a_common_grid() -> None:
    a = curve([1, 2, 3], [0.2, 0.4, 0.6])
    b = curve([1.5, 2.5], [0.3, 0.5])  # first evaluated later, stops earlier: holds 0.5 afterwards
    band = mean_band([a, b], "seconds", points=5)
    assert band is not None
    assert band.grid[0] == 1.5 and band.grid[-1] == 3.0
    assert {2.0, 2.5} <= set(band.grid.tolist())  # every evaluation is a grid point
    at = dict(
        zip(
            band.grid.tolist(),
            zip(band.mean.tolist(), band.low.tolist(), band.high.tolist(), strict=False),
            strict=False,
        )
    )
    assert at[1.5] == pytest.approx((0.25, 0.2, 0.3))
    assert at[2.5] == pytest.approx((0.45, 0.4, 0.5))
    assert at[3.0] == pytest.approx((0.55, 0.5, 0.6))
    assert mean_band([a, curve([], [])], "seconds") is None


def test_seed_mean_curve_holds_each_seeds_last_evaluation_between_and_after() -> None:
    a = curve([1, 2, 3, 4], [0.2, 0.4, 0.6, 0.8], steps=[10, 20, 30, 40])
    b = curve([2, 5, 7], [0.3, 0.5, 0.7], steps=[10, 30, 40])  # no evaluation at round 20: holds round 10's
    mean = seed_mean_curve([a, b])
    assert mean is not None
    assert mean.steps.tolist() == [10, 20, 30, 40]
    assert mean.seconds.tolist() == pytest.approx([1.5, 2.0, 4.0, 5.5])
    assert mean.accuracy.tolist() == pytest.approx([0.25, 0.35, 0.55, 0.75])
    assert seed_mean_curve([]) is None
    assert seed_mean_curve([a, curve([], [], steps=[])]) is None  # a seed without evaluation


def test_seed_mean_curve_of_seeds_stopped_at_different_rounds_ends_at_their_mean_last_accuracy() -> None:
    """A wall-clock budget stops seeds at different rounds: each holds its final evaluation afterwards, so the
    mean at the last round is the mean of the last accuracies (what a reference must reach)."""
    a = curve([1, 2], [0.5, 0.7], steps=[10, 23])
    b = curve([1, 2, 3], [0.4, 0.6, 0.9], steps=[10, 20, 27])
    mean = seed_mean_curve([a, b])
    assert mean is not None
    assert mean.steps.tolist() == [10, 20, 23, 27]
    assert mean.accuracy.tolist() == pytest.approx([0.45, 0.55, 0.65, 0.8])
    assert mean.seconds[-1] == pytest.approx((2 + 3) / 2)
    assert mean.accuracy[-1] == pytest.approx((0.7 + 0.9) / 2)

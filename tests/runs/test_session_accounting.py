"""The session's per-round accounting: device scalars read only when a row is logged (or a checkpoint written),
NaN left out of window means, the game's check() at those points."""

from __future__ import annotations

import math
from itertools import pairwise
from pathlib import Path

import pytest
import torch

from dfkd.diagnostics import HostSyncCounter
from dfkd.engine import NonFiniteError
from dfkd.runs.run_dir import RunDir
from dfkd.runs.session import SessionConfig, run_session


@pytest.fixture(autouse=True)
def _no_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DFKD_NO_PROGRESS", "1")


class TensorGame:
    """Returns 0-dim tensors; records host syncs per round; ``gamma`` is NaN on odd steps; ``check`` can fail."""

    images_per_step = 4

    def __init__(self, fail_check_at: int = 0) -> None:
        self.counter = HostSyncCounter()
        self.marks: list[int] = []
        self.checked_at: list[int] = []
        self.step = 0
        self.fail_check_at = fail_check_at

    def train_step(self, step: int) -> dict[str, torch.Tensor | float]:
        if step == 1:
            self.counter.__enter__()
        self.marks.append(self.counter.total)
        self.step = step
        value = torch.tensor(float(step))
        gamma = torch.tensor(float("nan")) if step % 2 else torch.tensor(2.0 * step)
        always_nan = torch.tensor(float("nan"))
        return {
            "loss": value * 2,
            "count": torch.tensor(step, dtype=torch.int64),
            "gamma": gamma,
            "absent": always_nan,
            "lr": 0.5,
        }

    def check(self) -> None:
        self.checked_at.append(self.step)
        if self.step == self.fail_check_at:
            raise NonFiniteError("too many skips")

    def evaluate(self) -> dict[str, float]:
        return {}

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass

    def sample_images(self) -> None:
        return None


def _config(**kw: object) -> SessionConfig:
    base: dict = dict(steps=12, eval_every=0, log_every=4, checkpoint_every=6, image_every=0)
    base.update(kw)
    return SessionConfig(**base)


def test_scalars_are_read_only_at_logging_and_checkpoint_steps(tmp_path: Path) -> None:
    game = TensorGame()
    run_session(game, RunDir("r", tmp_path, tensorboard=False), _config(), resume=False)
    game.counter.__exit__()
    per_round = {step: b - a for step, (a, b) in enumerate(pairwise(game.marks), start=1)}
    due = {4, 6, 8}  # rows at 4 and 8, checkpoint at 6 (12, the last step, is outside the marks)
    assert {step for step, n in per_round.items() if n} == due
    assert game.checked_at == [4, 6, 8, 12]


def test_window_means_leave_nan_out_and_omit_names_without_values(tmp_path: Path) -> None:
    run = RunDir("r", tmp_path, tensorboard=False)
    run_session(TensorGame(), run, _config(), resume=False)
    rows = run.read_metrics()
    first = rows[0]
    assert first["step"] == 4
    assert first["train/loss"] == (2 + 4 + 6 + 8) / 4 and first["train/count"] == 2.5 and first["train/lr"] == 0.5
    assert first["train/gamma"] == (4 + 8) / 2  # steps 1 and 3 had no gamma
    assert "train/absent" not in first
    assert all(math.isfinite(v) for row in rows for v in row.values())


def test_a_failing_check_stops_the_session(tmp_path: Path) -> None:
    game = TensorGame(fail_check_at=8)
    with pytest.raises(NonFiniteError, match="too many skips"):
        run_session(game, RunDir("r", tmp_path, tensorboard=False), _config(), resume=False)
    game.counter.__exit__()
    assert game.step == 8

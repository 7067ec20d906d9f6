"""Host synchronisations per training round, counted from outside (calls that block the host on a GPU).

Every game runs through its real job (`dfkd distill` / `dfkd gan` code path) with log_every=10; rounds 11..40
are counted, including the session's logging. Rounds that do not log make no synchronisation at all; the average
over the window is at most one per round.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest
import torch

from dfkd.diagnostics import HostSyncCounter
from dfkd.distill.game import DistillGame
from dfkd.distill.job import run_distill
from dfkd.gan.game import GanGame
from dfkd.gan.job import run_gan
from tests.distill.conftest import tiny_recipe
from tests.gan.conftest import write_blob_folder
from tests.gan.helpers import recipe_path, tiny_overrides

LOG_EVERY, FIRST, LAST = 10, 11, 40  # counted rounds: FIRST..LAST (steady state: after the first window)


class RoundCounter:
    """Counts host syncs from the start of round FIRST to the start of round LAST + 1, per round."""

    def __init__(self) -> None:
        self.counter = HostSyncCounter()
        self.marks: list[int] = []

    def mark(self, step: int) -> None:
        if step == FIRST:
            self.counter.__enter__()
        if FIRST <= step <= LAST + 1:
            self.marks.append(self.counter.total)
        if step == LAST + 1:
            self.counter.__exit__()

    def per_round(self) -> dict[int, int]:
        return {FIRST + i: b - a for i, (a, b) in enumerate(pairwise(self.marks))}


@pytest.fixture
def rounds(monkeypatch: pytest.MonkeyPatch) -> Iterator[RoundCounter]:
    counter = RoundCounter()
    for game in (DistillGame, GanGame):
        original = game.train_step

        def counted(self, step: int, original=original):  # type: ignore[no-untyped-def]
            counter.mark(step)
            return original(self, step)

        monkeypatch.setattr(game, "train_step", counted)
    yield counter


def _assert_budget(rounds: RoundCounter) -> None:
    per_round = rounds.per_round()
    assert len(per_round) == LAST - FIRST + 1
    silent = {step: n for step, n in per_round.items() if step % LOG_EVERY}
    assert all(n == 0 for n in silent.values()), f"rounds that do not log synchronised: {silent}"
    assert sum(per_round.values()) / len(per_round) <= 1.0, per_round


SESSION = {"log_every": LOG_EVERY, "eval_every": 0, "checkpoint_every": 0, "image_every": 0}


@pytest.mark.parametrize("method", ["onestage", "dfad", "zskt"])
def test_distillation_rounds(method: str, rounds: RoundCounter, tmp_path: Path) -> None:
    extra = {"loss": {"discrepancy": "kl", "attention_beta": 250.0}} if method == "zskt" else {}
    recipe = tiny_recipe(tmp_path, method=method, steps=LAST + 1, logging=SESSION, **extra)
    run_distill(str(recipe))
    _assert_budget(rounds)


@pytest.mark.parametrize("stage", ["one", "two"])
def test_gan_rounds(stage: str, rounds: RoundCounter, tmp_path: Path) -> None:
    folder = write_blob_folder(tmp_path / "blobs")
    overrides = tiny_overrides(
        folder,
        f"train.steps={LAST + 1}",
        f"run.root={tmp_path}",
        "train.critic_steps=2",
        *(f"logging.{key}={value}" for key, value in SESSION.items() if key != "eval_every"),
    )
    run_gan(str(recipe_path("dcgan-asym", stage)), overrides)
    _assert_budget(rounds)


def test_the_counter_sees_a_synchronising_round(
    rounds: RoundCounter, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The method is sensitive: one .item() per round in the game is caught."""
    original = DistillGame.train_step

    def leaky(self, step: int):  # type: ignore[no-untyped-def]
        out = original(self, step)
        torch.ones(()).item()
        return out

    monkeypatch.setattr(DistillGame, "train_step", leaky)
    run_distill(str(tiny_recipe(tmp_path, steps=LAST + 1, logging=SESSION)))
    assert all(n >= 1 for n in rounds.per_round().values())

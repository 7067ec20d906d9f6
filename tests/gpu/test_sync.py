"""count_syncs: warm-up rounds not counted, synchronisations counted and attributed, other warnings kept."""

from __future__ import annotations

import warnings

import pytest
import torch

from dfkd.gpu.sync import count_syncs

SYNC = "called a synchronizing CUDA operation"


class _Round:
    def __init__(self) -> None:
        self.steps: list[int] = []

    def __call__(self, step: int) -> None:
        self.steps.append(step)
        if step > 1:
            # stacklevel=1 (the default): each warning keeps its own line, as set_sync_debug_mode("warn") reports
            warnings.warn(SYNC, stacklevel=1)
            warnings.warn(SYNC, stacklevel=1)
            warnings.warn("something else", RuntimeWarning, stacklevel=1)


def test_on_a_cpu_nothing_is_counted() -> None:
    fn = _Round()
    row = count_syncs(fn, torch.device("cpu"), warmup=2)
    assert fn.steps == [1, 2, 3] and row["syncs"] is None and row["round_s"] >= 0


def test_syncs_of_the_counted_round_are_attributed(monkeypatch: pytest.MonkeyPatch) -> None:
    modes: list[object] = []
    monkeypatch.setattr(torch.cuda, "set_sync_debug_mode", modes.append)
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: None)
    row = count_syncs(_Round(), torch.device("cuda"), warmup=1)
    assert modes == ["warn", 0]  # on for the counted round only, and switched off again
    assert row["syncs"] == 2
    # Attributed to the innermost dfkd line on the stack: here the one that called this (non-dfkd) round.
    assert list(row["sites"].values()) == [2] and next(iter(row["sites"])).startswith("dfkd/gpu/sync.py:")
    assert row["warnings"] == {"RuntimeWarning: something else": 1}

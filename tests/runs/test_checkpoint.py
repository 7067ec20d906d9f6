"""Checkpoints are loaded with weights_only=True; RNG state survives a save/load round trip."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from dfkd.runs.checkpoint import (
    CheckpointError,
    capture_rng_state,
    load_checkpoint,
    restore_rng_state,
    save_checkpoint,
)


class Arbitrary:
    """Any user class: must never be unpickled from a checkpoint."""

    def __init__(self) -> None:
        self.x = 1


def draws() -> tuple[float, float, float, float]:
    return random.random(), random.gauss(0, 1), float(np.random.rand()), float(torch.rand(1))


def test_round_trip(tmp_path: Path) -> None:
    state = {"model": {"w": torch.randn(3, 2)}, "step": 7, "name": "x", "opt": {"lr": [0.1, 0.01]}, "t": (1, None)}
    save_checkpoint(tmp_path / "c.pt", state)
    loaded = load_checkpoint(tmp_path / "c.pt")
    assert torch.equal(loaded["model"]["w"], state["model"]["w"])
    assert loaded["step"] == 7 and loaded["name"] == "x" and loaded["opt"] == {"lr": [0.1, 0.01]}


def test_arbitrary_object_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"obj": Arbitrary()}, path)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    assert str(path) in str(info.value)
    assert "Arbitrary" in str(info.value) and "weights_only" in str(info.value)


def test_missing_and_corrupt_files(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="nope.pt: checkpoint not found"):
        load_checkpoint(tmp_path / "nope.pt")
    good = tmp_path / "good.pt"
    save_checkpoint(good, {"w": torch.zeros(1000)})
    truncated = tmp_path / "trunc.pt"
    truncated.write_bytes(good.read_bytes()[:500])
    with pytest.raises(CheckpointError, match="trunc.pt: corrupt, truncated or not a checkpoint"):
        load_checkpoint(truncated)
    for name, data in (("empty.pt", b""), ("text.pt", b"hello world" * 10)):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(CheckpointError, match=name):
            load_checkpoint(tmp_path / name)
    torch.save([1, 2], tmp_path / "list.pt")
    with pytest.raises(CheckpointError, match="expected a dict"):
        load_checkpoint(tmp_path / "list.pt")


def test_rng_round_trip_through_a_weights_only_checkpoint(tmp_path: Path) -> None:
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    draws()  # move every stream away from its seed, leave a cached gaussian in numpy / random
    np.random.randn()
    save_checkpoint(tmp_path / "rng.pt", {"rng": capture_rng_state()})
    expected = draws()
    random.seed(99)
    np.random.seed(99)
    torch.manual_seed(99)
    restore_rng_state(load_checkpoint(tmp_path / "rng.pt")["rng"])
    assert draws() == expected


def test_capture_does_not_advance_the_streams() -> None:
    torch.manual_seed(5)
    state = capture_rng_state()
    first = draws()
    restore_rng_state(state)
    assert draws() == first

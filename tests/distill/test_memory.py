"""The replay memory: a ring buffer that comes back on its own device after a resume."""

from __future__ import annotations

import pytest
import torch

from dfkd.distill.memory import ReplayMemory


def test_ring_buffer_keeps_the_latest_samples() -> None:
    memory = ReplayMemory(3, torch.device("cpu"))
    for value in range(5):
        memory.add(torch.full((1, 1, 2, 2), float(value)), torch.full((1, 4), float(value)))
    assert memory.size == 3 and memory.images is not None
    assert sorted(memory.images[:, 0, 0, 0].tolist()) == [2.0, 3.0, 4.0]
    images, logits = memory.sample(8, torch.Generator().manual_seed(0))
    assert torch.equal(images[:, 0, 0, 0], logits[:, 0])  # image and logits of the same sample travel together


def test_unfilled_slots_are_zero_so_a_checkpoint_of_the_memory_is_finite() -> None:
    memory = ReplayMemory(32, torch.device("cpu"))
    memory.add(torch.rand(2, 3, 2, 2), torch.rand(2, 10))
    state = memory.state_dict()
    images, logits = state["images"], state["logits"]
    assert isinstance(images, torch.Tensor) and isinstance(logits, torch.Tensor)
    assert torch.isfinite(logits).all() and not images[2:].any() and not logits[2:].any()


def test_loaded_state_moves_to_the_memory_device() -> None:
    saved = ReplayMemory(4, torch.device("cpu"))
    saved.add(torch.rand(2, 3, 2, 2), torch.rand(2, 10))
    state = saved.state_dict()  # what a checkpoint loaded with map_location="cpu" holds
    target = torch.device("meta")  # stands for a CUDA device on a CPU-only machine: any other device
    memory = ReplayMemory(4, target)
    memory.load_state_dict(state)
    assert memory.images is not None and memory.logits is not None
    assert memory.images.device == target and memory.logits.device == target
    assert (memory.size, memory.cursor) == (2, 2)
    empty = ReplayMemory(4, target)
    empty.load_state_dict(ReplayMemory(4, torch.device("cpu")).state_dict())  # saved before anything was added
    assert empty.images is None and empty.size == 0


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [("images", [0.0], "'images' and 'logits' must be tensors"), ("size", 2.0, "'size' and 'cursor' must be integers")],
)
def test_malformed_state_is_refused_by_key(key: str, value: object, message: str) -> None:
    saved = ReplayMemory(4, torch.device("cpu"))
    saved.add(torch.rand(2, 3, 2, 2), torch.rand(2, 10))
    state = {**saved.state_dict(), key: value}
    memory = ReplayMemory(4, torch.device("cpu"))
    with pytest.raises(ValueError, match=message):
        memory.load_state_dict(state)
    assert memory.images is None and memory.size == 0  # nothing half-restored

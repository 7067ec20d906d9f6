"""DeviceBatches: the TensorBatches stream on a CPU, channels-last output, exact resume, uint8 storage, the
recipe switch; on a GPU (when there is one), batches without a host synchronisation."""
from __future__ import annotations

import pytest
import torch

from dfkd.config.sections import RunSection
from dfkd.data.batches import TensorBatches
from dfkd.data.device_batches import DeviceBatches, make_batches
from dfkd.runs.checkpoint import CheckpointError

CPU = torch.device("cpu")


def _data(n: int = 40) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return torch.randint(0, 256, (n, 3, 8, 8), dtype=torch.uint8, generator=generator), torch.arange(n) % 10


@pytest.mark.parametrize("augment", [False, True])
def test_same_stream_as_tensor_batches_on_a_cpu(augment: bool) -> None:
    images, labels = _data()
    host = TensorBatches(images, labels, 6, seed=5, augment=augment)
    device = DeviceBatches(images, labels, 6, seed=5, augment=augment)
    for _ in range(3 * len(host)):  # three epochs: new permutations too
        (x, y), (u, v) = host.next_batch(), device.next_batch()
        assert torch.equal(x, u) and torch.equal(y, v)
    assert device.epoch == host.epoch and set(device.state_dict()) == set(host.state_dict())


def test_images_stay_uint8_and_batches_are_unit_floats() -> None:
    images, labels = _data()
    batches = DeviceBatches(images, labels, 8, augment=True)
    x, y = batches.next_batch()
    assert batches.images.dtype == torch.uint8 and x.dtype == torch.float32 and y.dtype == torch.int64
    assert x.shape == (8, 3, 8, 8) and 0 <= float(x.min()) and float(x.max()) <= 1


@pytest.mark.parametrize("augment", [False, True])
def test_channels_last_changes_the_layout_not_the_values(augment: bool) -> None:
    images, labels = _data()
    plain = DeviceBatches(images, labels, 8, seed=1, augment=augment)
    fast = DeviceBatches(images, labels, 8, seed=1, augment=augment, channels_last=True)
    for _ in range(4):
        (x, _), (u, _) = plain.next_batch(), fast.next_batch()
        assert x.is_contiguous() and u.is_contiguous(memory_format=torch.channels_last)
        assert torch.equal(x, u)


def test_augmentation_crops_and_flips_each_image() -> None:
    images = torch.arange(36, dtype=torch.uint8).view(1, 1, 6, 6).repeat(64, 1, 1, 1)
    batches = DeviceBatches(images, torch.zeros(64, dtype=torch.long), 64, seed=0, augment=True)
    x, _ = batches.next_batch()
    reference = images[0].float() / 255
    padded = torch.nn.functional.pad(reference, (4, 4, 4, 4))
    windows = {padded[:, r : r + 6, c : c + 6] for r in range(9) for c in range(9)}
    candidates = [w for w in windows] + [w.flip(-1) for w in windows]
    assert all(any(torch.equal(image, c) for c in candidates) for image in x)
    assert len({tuple(image.flatten().tolist()) for image in x}) > 10  # not one crop for the whole batch


def test_resume_reproduces_order_and_augmentation() -> None:
    images, labels = _data()
    source = DeviceBatches(images, labels, 7, seed=3, augment=True)
    for _ in range(8):  # into the second epoch
        source.next_batch()
    state = source.state_dict()
    expected = [source.next_batch() for _ in range(6)]
    resumed = DeviceBatches(images, labels, 7, seed=99, augment=True)
    resumed.load_state_dict(state)
    for (x, y), (u, v) in zip(expected, (resumed.next_batch() for _ in range(6)), strict=True):
        assert torch.equal(x, u) and torch.equal(y, v)
    with pytest.raises(ValueError, match="saved for 40 items, this source holds 39"):
        DeviceBatches(images[:39], labels[:39], 7).load_state_dict(state)


def test_resume_on_another_kind_of_device_is_refused_clearly() -> None:
    images, labels = _data()
    state = DeviceBatches(images, labels, 7).state_dict()
    state["generator"] = torch.zeros(16, dtype=torch.uint8)  # a CUDA generator's state (seed and offset)
    with pytest.raises(CheckpointError, match="resume on the device type the run started on"):
        DeviceBatches(images, labels, 7).load_state_dict(state)


def test_bad_shapes_and_batch_sizes_are_refused() -> None:
    images, labels = _data()
    with pytest.raises(ValueError, match="expected images"):
        DeviceBatches(images[:, 0], labels, 4)
    with pytest.raises(ValueError, match="batch_size must be in 1..40"):
        DeviceBatches(images, labels, 41)


def test_the_recipe_switch_chooses_the_source() -> None:
    images, labels = _data()
    common = {"device": CPU, "augment": True, "hflip": True}
    assert isinstance(make_batches(images, labels, 4, run=RunSection(), **common), DeviceBatches)
    host = make_batches(images, labels, 4, run=RunSection(device_batches=False, seed=2), **common)
    assert isinstance(host, TensorBatches) and torch.equal(
        host.next_batch()[0], TensorBatches(images, labels, 4, seed=2, augment=True).next_batch()[0]
    )
    assert make_batches(images, labels, 4, run=RunSection(), **common).channels_last is False  # CPU: never


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_batches_need_no_host_synchronisation() -> None:
    images, labels = _data(512)
    batches = DeviceBatches(images, labels, 64, device="cuda", seed=0, augment=True, channels_last=True)
    batches.next_batch()
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(3 * len(batches)):
            x, _ = batches.next_batch()
    finally:
        torch.cuda.set_sync_debug_mode(0)
    assert x.is_cuda and x.is_contiguous(memory_format=torch.channels_last)

"""TensorBatches: epochs, drop_last, exact resume (order and augmentation) and tensor-op augmentation."""

from __future__ import annotations

import io

import pytest
import torch
from torch.utils.data import TensorDataset

from dfkd.data.batches import TensorBatches, load_to_tensors
from dfkd.data.shapes import ShapesDataset


def _data(n: int = 10, size: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    images = torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    return images, torch.arange(n)


def test_epochs_cover_items_and_drop_the_last_partial_batch() -> None:
    images, labels = _data(10)
    batches = TensorBatches(images, labels, batch_size=3, seed=0)
    assert len(batches) == 3
    first_epoch = [batches.next_batch() for _ in range(3)]
    seen = torch.cat([lab for _, lab in first_epoch])
    assert len(set(seen.tolist())) == 9 and batches.epoch == 0
    image, label = first_epoch[0]
    assert image.dtype == torch.float32 and torch.equal(image, images[label].float() / 255)
    batches.next_batch()
    assert batches.epoch == 1 and batches.position == 3


def test_resume_gives_identical_batches_and_augmentation() -> None:
    images, labels = _data(10)
    source = TensorBatches(images, labels, batch_size=4, seed=7, augment=True)
    for _ in range(5):
        source.next_batch()
    buffer = io.BytesIO()
    torch.save(source.state_dict(), buffer)
    expected = [source.next_batch() for _ in range(6)]
    buffer.seek(0)
    resumed = TensorBatches(images, labels, batch_size=4, seed=999, augment=True)
    resumed.load_state_dict(torch.load(buffer))
    for (want_x, want_y), (got_x, got_y) in zip(expected, (resumed.next_batch() for _ in range(6)), strict=True):
        assert torch.equal(want_x, got_x) and torch.equal(want_y, got_y)
    fresh = TensorBatches(images, labels, batch_size=4, seed=7, augment=True)
    assert torch.equal(fresh.next_batch()[0], TensorBatches(images, labels, 4, seed=7, augment=True).next_batch()[0])


def test_augmentation_is_a_padded_crop_or_its_mirror() -> None:
    images, labels = _data(6, size=8)
    batches = TensorBatches(images, labels, batch_size=6, seed=3, shuffle=False, augment=True)
    out, got_labels = batches.next_batch()
    assert out.shape == (6, 3, 8, 8) and torch.equal(got_labels, labels)
    padded = torch.nn.functional.pad(images.float() / 255, (4, 4, 4, 4))
    flipped_any = False
    for i in range(6):
        crops = {
            (dy, dx, flip)
            for dy in range(9)
            for dx in range(9)
            for flip in (False, True)
            if torch.equal(out[i], (lambda c: c.flip(-1) if flip else c)(padded[i, :, dy : dy + 8, dx : dx + 8]))
        }
        assert crops, f"image {i} is not a crop of its padded original"
        flipped_any |= all(flip for *_, flip in crops)
    assert flipped_any


def test_validation() -> None:
    images, labels = _data(4)
    with pytest.raises(ValueError, match="batch_size"):
        TensorBatches(images, labels, batch_size=5)
    state = TensorBatches(images, labels, batch_size=2).state_dict()
    with pytest.raises(ValueError, match="4 items"):
        TensorBatches(*_data(6), batch_size=2).load_state_dict(state)


def test_load_to_tensors_keeps_uint8_when_lossless() -> None:
    dataset = ShapesDataset("test", n=50, seed=0)
    images, labels = load_to_tensors(dataset, max_items=30, batch_size=8)
    assert images.dtype == torch.uint8 and torch.equal(images, dataset.images[:30])
    assert torch.equal(labels, dataset.labels[:30])
    floats = TensorDataset(torch.rand(9, 3, 4, 4), torch.arange(9))
    float_images, _ = load_to_tensors(floats, batch_size=4)
    assert float_images.dtype == torch.float32 and torch.equal(float_images, floats.tensors[0])

"""The procedural shapes dataset: determinism, balance, ranges, splits and its normalisation constants."""

from __future__ import annotations

import torch

from dfkd.data.shapes import SHAPE_CLASSES, SHAPES_MEAN, SHAPES_STD, SPLIT_OFFSETS, ShapesDataset, make_shapes


def test_make_shapes_shapes_range_and_dtypes() -> None:
    images, labels = make_shapes(30, seed=0)
    assert images.shape == (30, 3, 32, 32) and images.dtype == torch.float32
    assert labels.shape == (30,) and labels.dtype == torch.int64
    assert images.min() >= 0 and images.max() <= 1
    assert len(SHAPE_CLASSES) == 10 and len(set(SHAPE_CLASSES)) == 10
    assert make_shapes(5, seed=0, image_size=24)[0].shape == (5, 3, 24, 24)


def test_same_seed_identical_and_different_seed_differs() -> None:
    first, first_labels = make_shapes(40, seed=3)
    again, again_labels = make_shapes(40, seed=3)
    assert torch.equal(first, again) and torch.equal(first_labels, again_labels)
    other, _ = make_shapes(40, seed=4)
    assert not torch.equal(first, other)
    assert all(not torch.equal(first[i], other[i]) for i in range(40))


def test_images_depend_only_on_seed_and_index() -> None:
    long, long_labels = make_shapes(1500, seed=1)  # spans two generation chunks
    short, _ = make_shapes(40, seed=1)
    window, window_labels = make_shapes(30, seed=1, offset=985)
    assert torch.equal(long[:40], short)
    assert torch.equal(long[985:1015], window) and torch.equal(long_labels[985:1015], window_labels)


def test_labels_are_balanced() -> None:
    counts = torch.bincount(make_shapes(1000, seed=0)[1], minlength=10)
    assert counts.tolist() == [100] * 10
    counts = torch.bincount(make_shapes(37, seed=0)[1], minlength=10)
    assert counts.max() - counts.min() <= 1


def test_dataset_splits_are_disjoint_and_yield_floats() -> None:
    train = ShapesDataset("train", n=200, seed=0)
    test = ShapesDataset("test", n=200, seed=0)
    assert len(train) == 200 and train.classes == list(SHAPE_CLASSES)
    image, label = test[3]
    assert image.dtype == torch.float32 and image.shape == (3, 32, 32) and isinstance(label, int)
    expected, _ = make_shapes(4, seed=0, offset=SPLIT_OFFSETS["test"])
    assert torch.allclose(image, expected[3], atol=0.5 / 255 + 1e-6)
    train_keys = {bytes(img.numpy().tobytes()) for img in train.images}
    assert not any(bytes(img.numpy().tobytes()) in train_keys for img in test.images)


def test_normalisation_constants_match_a_fresh_sample() -> None:
    images, _ = make_shapes(10_000, seed=12345)
    mean = images.mean(dim=(0, 2, 3))
    std = images.std(dim=(0, 2, 3))
    assert torch.allclose(mean, torch.tensor(SHAPES_MEAN), atol=0.01), mean
    assert torch.allclose(std, torch.tensor(SHAPES_STD), atol=0.01), std

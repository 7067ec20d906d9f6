"""Registered datasets: CIFAR-10 from a fake on-disk copy, missing-data and download errors, specs, names."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest
import torch
import torchvision.datasets as tvd

from dfkd.data.datasets import DATASETS, build_dataset, dataset_spec
from dfkd.data.errors import DataNotFoundError

PER_BATCH = 4


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture
def fake_cifar10(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, np.ndarray, list[int]]:
    """A tiny CIFAR-10 in torchvision's on-disk format; torchvision's md5 table is pointed at its files."""
    folder = tmp_path / tvd.CIFAR10.base_folder
    folder.mkdir()
    rng = np.random.default_rng(0)
    train_data, train_labels = [], []
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, size=(PER_BATCH, 3 * 32 * 32), dtype=np.uint8)
        labels = rng.integers(0, 10, size=PER_BATCH).tolist()
        with open(folder / name, "wb") as file:
            pickle.dump({"data": data, "labels": labels, "batch_label": name}, file)
        if name != "test_batch":
            train_data.append(data)
            train_labels += labels
    with open(folder / "batches.meta", "wb") as file:
        pickle.dump({"label_names": list(dataset_spec("cifar10").classes)}, file)
    monkeypatch.setattr(tvd.CIFAR10, "train_list", [[n, _md5(folder / n)] for n, _ in tvd.CIFAR10.train_list])
    monkeypatch.setattr(tvd.CIFAR10, "test_list", [["test_batch", _md5(folder / "test_batch")]])
    monkeypatch.setattr(tvd.CIFAR10, "meta", {**tvd.CIFAR10.meta, "md5": _md5(folder / "batches.meta")})
    return tmp_path, np.concatenate(train_data), train_labels


def test_cifar10_loads_from_the_torchvision_format(fake_cifar10: tuple[Path, np.ndarray, list[int]]) -> None:
    root, data, labels = fake_cifar10
    train = build_dataset("cifar10", "train", root=root)
    assert len(train) == 5 * PER_BATCH and len(build_dataset("cifar10", "test", root=root)) == PER_BATCH
    image, label = train[6]
    expected = torch.from_numpy(data[6].reshape(3, 32, 32)).float() / 255
    assert image.dtype == torch.float32 and torch.allclose(image, expected) and label == labels[6]
    assert build_dataset("cifar10", "train", root=root, image_size=16)[0][0].shape == (3, 16, 16)
    assert build_dataset("cifar10", "train", root=root, train_transform=True)[0][0].shape == (3, 32, 32)
    assert build_dataset("cifar10", "test", root=root, channels=1)[0][0].shape == (1, 32, 32)


def test_missing_data_without_download(tmp_path: Path) -> None:
    for name in ("cifar10", "cifar100", "mnist"):
        with pytest.raises(DataNotFoundError) as info:
            build_dataset(name, "train", root=tmp_path)
        message = str(info.value)
        assert str(tmp_path) in message and "download" in message and name in message
        assert isinstance(info.value, FileNotFoundError)


def test_failed_download_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(*args: object, **kwargs: object) -> None:
        raise URLError("no network in tests")

    monkeypatch.setattr(tvd.cifar, "download_and_extract_archive", offline)
    monkeypatch.setattr(tvd.mnist, "download_and_extract_archive", offline)
    for name in ("cifar10", "mnist"):
        with pytest.raises(DataNotFoundError, match="download") as info:
            build_dataset(name, "test", root=tmp_path, download=True)
        assert str(tmp_path) in str(info.value)
    with pytest.raises(DataNotFoundError, match="no network in tests"):
        build_dataset("cifar10", "test", root=tmp_path, download=True)


def test_unknown_name_lists_known_names() -> None:
    with pytest.raises(ValueError, match="cifar10") as info:
        build_dataset("imagenet21k", "train")
    assert all(name in str(info.value) for name in DATASETS)
    with pytest.raises(ValueError, match="split"):
        build_dataset("shapes", "validation")  # type: ignore[arg-type]


def test_specs() -> None:
    assert dataset_spec("cifar100").num_classes == 100 and len(dataset_spec("cifar100").classes) == 100
    mnist = dataset_spec("mnist", channels=3, image_size=32)
    assert mnist.channels == 3 and mnist.mean == (0.1307,) * 3 and mnist.image_size == 32
    shapes = dataset_spec("shapes")
    assert shapes.num_classes == 10 and shapes.channels == 3 and shapes.image_size == 32


def test_shapes_through_the_registry() -> None:
    test = build_dataset("shapes", "test", image_size=24, train_transform=True)
    image, label = test[0]
    assert image.shape == (3, 24, 24) and image.dtype == torch.float32 and 0 <= label < 10
    assert test.classes == list(dataset_spec("shapes").classes)

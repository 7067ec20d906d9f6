"""Image folders through build_dataset: flat and split layouts, resizing, and errors for bad layouts."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from dfkd.data.datasets import build_dataset, dataset_spec
from dfkd.data.errors import DataNotFoundError

CLASSES = ("cat", "dog")


def _write_tree(directory: Path, size: tuple[int, int] = (20, 20), per_class: int = 3) -> None:
    for label, name in enumerate(CLASSES):
        (directory / name).mkdir(parents=True)
        for index in range(per_class):
            colour = (40 * index, 200 * label, 90)
            Image.new("RGB", size, colour).save(directory / name / f"{index}.png")


def test_flat_layout(tmp_path: Path) -> None:
    _write_tree(tmp_path / "flat")
    dataset = build_dataset(str(tmp_path / "flat"), "train")
    assert len(dataset) == 6 and dataset.classes == list(CLASSES)
    image, label = dataset[4]
    assert image.shape == (3, 20, 20) and image.dtype == torch.float32 and label == 1
    assert torch.allclose(image[:, 0, 0], torch.tensor([40, 200, 90]) / 255)
    spec = dataset_spec(str(tmp_path / "flat"))
    assert spec.num_classes == 2 and spec.image_size == 20 and spec.classes == CLASSES and spec.channels == 3


def test_split_layout_and_resizing(tmp_path: Path) -> None:
    _write_tree(tmp_path / "split" / "train", per_class=3)
    _write_tree(tmp_path / "split" / "test", size=(30, 20), per_class=1)
    assert len(build_dataset(str(tmp_path / "split"), "train")) == 6
    test = build_dataset(str(tmp_path / "split"), "test", image_size=8)
    assert len(test) == 2 and test[0][0].shape == (3, 8, 8)
    augmented = build_dataset(str(tmp_path / "split"), "train", image_size=8, train_transform=True, channels=1)
    assert augmented[0][0].shape == (1, 8, 8)


def test_missing_or_empty_folder_raises(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(DataNotFoundError, match="<path>/<class>") as info:
        build_dataset(str(missing), "train")
    assert str(missing) in str(info.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataNotFoundError, match="no class sub-folders"):
        build_dataset(str(tmp_path / "empty"), "test")
    _write_tree(tmp_path / "only_train" / "train")
    with pytest.raises(DataNotFoundError, match="no 'test' folder"):
        build_dataset(str(tmp_path / "only_train"), "test")

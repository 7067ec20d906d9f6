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


def test_mixed_image_sizes_are_resized_to_the_reported_size(tmp_path: Path) -> None:
    from dfkd.data.loading import load_split

    _write_tree(tmp_path / "mixed", size=(24, 24), per_class=1)
    Image.new("RGB", (40, 30), (10, 20, 30)).save(tmp_path / "mixed" / "cat" / "big.png")
    Image.new("RGB", (12, 16), (10, 20, 30)).save(tmp_path / "mixed" / "dog" / "small.jpg")
    images, labels, spec = load_split(str(tmp_path / "mixed"), "test")
    assert spec.image_size == 24 and images.shape == (4, 3, 24, 24) and labels.tolist() == [0, 0, 1, 1]
    images, _, spec = load_split(str(tmp_path / "mixed"), "test", image_size=8)
    assert spec.image_size == 8 and images.shape == (4, 3, 8, 8)


@pytest.mark.parametrize("damage", ["corrupt", "truncated", "empty"])
def test_an_unreadable_image_names_the_file(tmp_path: Path, damage: str) -> None:
    from dfkd.data.errors import DataError

    _write_tree(tmp_path / "folder")
    bad = tmp_path / "folder" / "dog" / "1.png"
    data = bad.read_bytes()
    bad.write_bytes({"corrupt": b"\x89PNG not really", "truncated": data[: len(data) // 2], "empty": b""}[damage])
    dataset = build_dataset(str(tmp_path / "folder"), "train")
    with pytest.raises(DataError, match=rf"{bad}: cannot read this image .*corrupt or truncated"):
        [dataset[i] for i in range(len(dataset))]
    first = tmp_path / "folder" / "cat" / "0.png"  # the image dataset_spec measures
    first.write_bytes(b"")
    with pytest.raises(DataError, match=rf"{first}: cannot read this image"):
        dataset_spec(str(tmp_path / "folder"))

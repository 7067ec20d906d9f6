"""resolve_data: torchvision and ImageFolder layouts of CIFAR-10, tarballs unpacked once, clear errors."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from dfkd.data.errors import DataNotFoundError
from dfkd.gpu.data_source import resolve_data
from dfkd.gpu.images import write_random_image_folder


def _image_tree(root: Path) -> Path:
    write_random_image_folder(root / "train", 1, classes=2, size=4)
    write_random_image_folder(root / "test", 1, classes=2, size=4)
    return root


def test_torchvision_layout(tmp_path: Path) -> None:
    (tmp_path / "cifar-10-batches-py").mkdir()
    for given in (tmp_path, tmp_path / "cifar-10-batches-py"):
        source = resolve_data(given, tmp_path / "scratch")
        assert (source.name, source.root, source.kind) == ("cifar10", str(tmp_path), "torchvision")
        assert source.overrides() == ["data.name=cifar10", f"data.root={tmp_path}"]


def test_image_folder_at_the_path_or_one_level_below(tmp_path: Path) -> None:
    tree = _image_tree(tmp_path / "data" / "cifar10-jpeg")
    for given in (tree, tmp_path / "data"):
        source = resolve_data(given, tmp_path / "scratch")
        assert (source.name, source.kind) == (str(tree), "imagefolder")


def test_tarball_is_unpacked_once(tmp_path: Path) -> None:
    tree = _image_tree(tmp_path / "cifar10-jpeg")
    archive = tmp_path / "cifar10.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tree, arcname="cifar10-jpeg")
    source = resolve_data(archive, tmp_path / "scratch")
    assert source.name == str(tmp_path / "scratch" / "data" / "cifar10-jpeg") and source.kind == "imagefolder"
    assert (Path(source.name) / "train" / "class_1" / "0000.png").is_file()
    (Path(source.name) / "train" / "class_1" / "0000.png").unlink()
    assert resolve_data(archive, tmp_path / "scratch") == source  # not unpacked again
    assert not (Path(source.name) / "train" / "class_1" / "0000.png").exists()


def test_unknown_layouts_are_named(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match="no such folder or .tar.gz archive"):
        resolve_data(tmp_path / "missing", tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataNotFoundError, match="expected CIFAR-10 as torchvision files"):
        resolve_data(tmp_path / "empty", tmp_path)

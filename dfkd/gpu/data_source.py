"""Where the reproduction's CIFAR-10 comes from: a torchvision copy, an ImageFolder tree, or a tarball of one.

:func:`resolve_data` turns the DATA argument into the recipe keys ``data.name`` / ``data.root`` that both the
teacher and the distillation use, so that they train and test on the same version of the images.
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

from torchvision import datasets as tvd

from dfkd.data.errors import DataNotFoundError
from dfkd.data.sources import SPLITS

TORCHVISION_FOLDER = tvd.CIFAR10.base_folder  # "cifar-10-batches-py", where dfkd's torchvision CIFAR-10 looks
ARCHIVES = (".tar.gz", ".tgz", ".tar")


@dataclass(frozen=True)
class DataSource:
    """``name``/``root`` as recipe keys, and a word on what was found."""

    name: str
    root: str
    kind: str  # "torchvision" or "imagefolder"

    def overrides(self) -> list[str]:
        return [f"data.name={self.name}", f"data.root={self.root}"]


def _has_splits(folder: Path) -> bool:
    return all((folder / split).is_dir() for split in SPLITS)


def _find(folder: Path) -> DataSource | None:
    if folder.name == TORCHVISION_FOLDER:
        return DataSource("cifar10", str(folder.parent), "torchvision")
    if (folder / TORCHVISION_FOLDER).is_dir():
        return DataSource("cifar10", str(folder), "torchvision")
    if _has_splits(folder):
        return DataSource(str(folder), str(folder.parent), "imagefolder")
    return None


def _unpack(archive: Path, destination: Path) -> Path:
    """Extract ``archive`` into ``destination`` once (a marker file records completion)."""
    done = destination / ".unpacked"
    if done.is_file():
        return destination
    destination.mkdir(parents=True, exist_ok=True)
    if shutil.which("tar"):  # much faster than tarfile for tens of thousands of small files
        subprocess.run(["tar", "-xf", str(archive), "-C", str(destination)], check=True)
    else:
        with tarfile.open(archive) as tar:
            tar.extractall(destination, filter="data")
    done.write_text(str(archive) + "\n")
    return destination


def resolve_data(path: str | Path, scratch: Path) -> DataSource:
    """The CIFAR-10 copy at ``path``: a folder holding ``cifar-10-batches-py`` (torchvision), that folder
    itself, an ImageFolder tree with ``train/`` and ``test/`` class folders (at ``path`` or one level below),
    or a ``.tar.gz``/``.tar`` of one of these, unpacked into ``scratch``."""
    path = Path(path).expanduser().resolve()
    if path.is_file() and path.name.endswith(ARCHIVES):
        path = _unpack(path, scratch / "data")
    if not path.is_dir():
        raise DataNotFoundError(f"{path}: no such folder or .tar.gz archive (expected CIFAR-10)")
    found = _find(path)
    if found is None:
        below = [found for child in sorted(path.iterdir()) if child.is_dir() and (found := _find(child))]
        found = below[0] if below else None
    if found is None:
        raise DataNotFoundError(
            f"{path}: expected CIFAR-10 as torchvision files ({TORCHVISION_FOLDER}/) or as an image folder with "
            "train/<class>/ and test/<class>/ (or a .tar.gz of either)"
        )
    return found

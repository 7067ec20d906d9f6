"""One entry point for real and procedural datasets: ``build_dataset(name_or_path, split)`` and ``dataset_spec``.

Names come from a registry (:data:`DATASETS`): ``cifar10``, ``cifar100``, ``mnist`` (torchvision), ``shapes`` and
``patterns`` (:mod:`dfkd.data.shapes`, generated, no files). Anything else that is an existing directory -- or looks
like a path (contains a separator, starts with ``.`` or ``~``) -- is an image folder (``<path>/<class>/*.png`` or
``<path>/<split>/<class>/*.png``); to use a folder whose name is also a registered name, write ``./name``.

Every dataset yields ``(float image tensor in [0, 1] of shape (C, H, W), int label)``; normalisation is *not*
applied (models carry their own, see :attr:`DatasetSpec.mean`/``std``). Channels stay native (MNIST: 1) unless
``channels`` asks for 1 or 3.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from torch.utils.data import Dataset

from dfkd.data.errors import DataError, DataNotFoundError
from dfkd.data.folder import build_image_folder, folder_spec
from dfkd.data.shapes import PATTERNS_MEAN, PATTERNS_STD, SHAPE_CLASSES, SHAPES_MEAN, SHAPES_STD, ShapesDataset
from dfkd.data.sources import SPLITS, DatasetRequest, RegisteredDataset, Split
from dfkd.data.spec import DatasetSpec
from dfkd.data.torchvision_sets import TORCHVISION_DATASETS
from dfkd.data.transforms import SUPPORTED_CHANNELS, image_pipeline

__all__ = ["DATASETS", "DataNotFoundError", "DatasetSpec", "build_dataset", "dataset_spec", "is_image_folder"]

SHAPES_SPEC = DatasetSpec(
    name="shapes", num_classes=len(SHAPE_CLASSES), image_size=32, channels=3,
    mean=SHAPES_MEAN, std=SHAPES_STD, classes=SHAPE_CLASSES,
)  # fmt: skip


PATTERNS_SPEC = DatasetSpec(
    name="patterns", num_classes=len(SHAPE_CLASSES), image_size=32, channels=3,
    mean=PATTERNS_MEAN, std=PATTERNS_STD, classes=SHAPE_CLASSES,
)  # fmt: skip


def _build_shapes(request: DatasetRequest) -> Dataset:
    return ShapesDataset(request.split, image_size=request.image_size, transform=request.transform)


def _build_patterns(request: DatasetRequest) -> Dataset:
    return ShapesDataset(request.split, image_size=request.image_size, transform=request.transform, tiled=True)


DATASETS: Mapping[str, RegisteredDataset] = MappingProxyType(
    {
        **TORCHVISION_DATASETS,
        "shapes": RegisteredDataset(SHAPES_SPEC, _build_shapes, renders_any_size=True),
        "patterns": RegisteredDataset(PATTERNS_SPEC, _build_patterns, renders_any_size=True),
    }
)
"""Registered dataset names (read-only)."""


def _looks_like_path(name_or_path: str) -> bool:
    separators = {os.sep, "/"} | ({os.altsep} if os.altsep else set())
    return any(sep in name_or_path for sep in separators) or name_or_path.startswith((".", "~"))


def _registered(name_or_path: str) -> RegisteredDataset | None:
    """The registry entry, None for an image-folder path, :class:`DataError` for an unknown name."""
    entry = DATASETS.get(name_or_path.lower())
    if entry is not None:
        return entry
    if Path(name_or_path).expanduser().is_dir() or _looks_like_path(name_or_path):
        return None
    raise DataError(
        f"unknown dataset {name_or_path!r}: expected one of {sorted(DATASETS)} or the path of an image-folder directory"
    )


def is_image_folder(name_or_path: str) -> bool:
    """Whether ``name_or_path`` names an image folder rather than a registered dataset (:class:`DataError` for an
    unknown name)."""
    return _registered(name_or_path) is None


def _check_options(split: str, image_size: int | None, channels: int | None) -> None:
    if split not in SPLITS:
        raise ValueError(f"split: expected one of {list(SPLITS)}, got {split!r}")
    if image_size is not None and image_size < 1:
        raise ValueError(f"image_size: expected a positive number of pixels or None, got {image_size}")
    if channels is not None and channels not in SUPPORTED_CHANNELS:
        raise ValueError(f"channels: expected one of {SUPPORTED_CHANNELS} or None (native), got {channels}")


def dataset_spec(
    name_or_path: str,
    root: str | Path = "data",
    *,
    image_size: int | None = None,
    channels: int | None = None,
) -> DatasetSpec:
    """Describe a dataset (classes, size, channels, normalisation) without loading it.

    ``root`` is accepted for symmetry with :func:`build_dataset`; registered specs do not need the files.
    ``image_size``/``channels`` give the spec of the dataset as built with the same options.
    """
    del root  # registered specs are static; image folders are addressed by their own path
    _check_options("train", image_size, channels)
    entry = _registered(name_or_path)
    if entry is None:
        return folder_spec(Path(name_or_path).expanduser(), image_size).with_overrides(channels=channels)
    return entry.spec.with_overrides(image_size=image_size, channels=channels)


def build_dataset(
    name_or_path: str,
    split: Split,
    *,
    root: str | Path = "data",
    download: bool = False,
    image_size: int | None = None,
    train_transform: bool = False,
    channels: int | None = None,
) -> Dataset:
    """Build a dataset yielding ``(image float tensor in [0, 1], label)``.

    ``root``: directory holding (or receiving) torchvision datasets. ``download``: fetch missing torchvision data
    (needs network); missing data raises :class:`DataNotFoundError` naming the root and the fix.
    ``image_size``: resize (shorter side) + center-crop to this size (``shapes`` renders at it directly). Image
    folders are always resized: without ``image_size``, to the size :func:`dataset_spec` reports (the first
    image's shorter side), so that a folder of mixed image sizes gives equally sized items.
    ``train_transform``: add RandomCrop(size, padding=4) + RandomHorizontalFlip (flip skipped for digits).
    ``channels``: convert to 1 or 3 channels; None keeps the native count (MNIST 1, others 3).
    """
    _check_options(split, image_size, channels)
    entry = _registered(name_or_path)
    if entry is None:
        path = Path(name_or_path).expanduser()
        size = image_size if image_size is not None else folder_spec(path).image_size
        transform = image_pipeline(
            output_size=size, resize=True, train_transform=train_transform, hflip=True, channels=channels
        )
        return build_image_folder(path, DatasetRequest(Path(root), split, download, size, transform))
    output_size = entry.spec.image_size if image_size is None else image_size
    resize = output_size != entry.spec.image_size and not entry.renders_any_size
    transform = image_pipeline(
        output_size=output_size, resize=resize, train_transform=train_transform, hflip=entry.hflip, channels=channels
    )
    return entry.factory(DatasetRequest(Path(root).expanduser(), split, download, output_size, transform))


def check_dataset_name(name_or_path: str) -> None:
    """Raise ValueError (listing the registered names) unless ``name_or_path`` is a registered dataset or an
    image-folder path (an existing directory, or a name that looks like a path: it may not exist yet)."""
    _registered(name_or_path)

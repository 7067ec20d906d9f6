"""The contract between :func:`dfkd.data.datasets.build_dataset` and the per-source dataset factories."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from torch.utils.data import Dataset

from dfkd.data.spec import DatasetSpec

Split = Literal["train", "test"]
SPLITS: tuple[Split, ...] = ("train", "test")


@dataclass(frozen=True)
class DatasetRequest:
    """What a factory is asked to build.

    ``image_size`` is the output size (None: native size of an image folder); ``transform`` already contains
    any resizing, augmentation and channel conversion and must be applied to every item's image (PIL or tensor).
    """

    root: Path
    split: Split
    download: bool
    image_size: int | None
    transform: Callable[[object], object] | None


DatasetFactory = Callable[[DatasetRequest], Dataset]


@dataclass(frozen=True)
class RegisteredDataset:
    """A named dataset: its native spec and how to build it.

    ``hflip``: horizontal flips keep labels (False for digits). ``renders_any_size``: the factory renders at
    ``request.image_size`` itself, so no resizing is added to the transform.
    """

    spec: DatasetSpec
    factory: DatasetFactory
    hflip: bool = True
    renders_any_size: bool = False

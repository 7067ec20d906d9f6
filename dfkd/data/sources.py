"""The contract between :func:`dfkd.data.datasets.build_dataset` and the per-source dataset factories."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from torch import Tensor
from torch.utils.data import Dataset

from dfkd.data.spec import DatasetSpec

if TYPE_CHECKING:
    from PIL.Image import Image

Split = Literal["train", "test"]
SPLITS: tuple[Split, ...] = ("train", "test")


@dataclass(frozen=True)
class DatasetRequest:
    """What a factory is asked to build.

    ``image_size`` is the output size (an image folder's native size unless one was asked for); ``transform``
    already contains any resizing, augmentation and channel conversion and must be applied to every item's image
    (PIL or tensor); it returns the float image tensor.
    """

    root: Path
    split: Split
    download: bool
    image_size: int
    transform: Callable[[Image | Tensor], Tensor] | None


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

"""A whole split in memory: dataset -> (images, labels) tensors, optionally a seeded class-mixed subset."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor
from torch.utils.data import Subset

from dfkd.data.batches import load_to_tensors
from dfkd.data.datasets import DATASETS, build_dataset, dataset_spec
from dfkd.data.sources import Split
from dfkd.data.spec import DatasetSpec


def load_split(
    name_or_path: str,
    split: Split,
    *,
    root: str | Path = "data",
    download: bool = False,
    max_items: int | None = None,
    seed: int = 0,
    image_size: int | None = None,
) -> tuple[Tensor, Tensor, DatasetSpec]:
    """Images (uint8 when lossless) and labels of a split, with its spec.

    With ``max_items`` smaller than the split, a random subset drawn with ``seed`` is taken (not the first
    items, which in a class-sorted folder would be a single class).
    """
    spec = dataset_spec(name_or_path, root=root, image_size=image_size)
    dataset = build_dataset(name_or_path, split, root=root, download=download, image_size=image_size)
    total = len(dataset)  # type: ignore[arg-type]
    if max_items is not None and max_items < total:
        generator = torch.Generator().manual_seed(seed)
        indices = torch.randperm(total, generator=generator)[:max_items].sort().values.tolist()
        dataset = Subset(dataset, indices)
    images, labels = load_to_tensors(dataset)
    return images, labels, spec


def flips_keep_labels(name_or_path: str) -> bool:
    """Whether horizontal flips are label-preserving (False for digits); True for image folders."""
    entry = DATASETS.get(name_or_path)
    return True if entry is None else entry.hflip

"""Real-feature cache: computed once per key, reused, recomputed when the key or the file does not match."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch

from dfkd.metrics import RealFeatureKey, load_or_compute

KEY = RealFeatureKey(dataset="cifar10", split="train", resolution=32, extractor="pixels4", count=5, total=100)


def test_computed_once_then_reused(tmp_path: Path) -> None:
    calls: list[int] = []

    def compute() -> torch.Tensor:
        calls.append(1)
        return torch.arange(10.0).view(5, 2) + len(calls)

    first = load_or_compute(KEY, compute, tmp_path)
    second = load_or_compute(KEY, compute, tmp_path)
    assert len(calls) == 1 and torch.equal(first, second)
    assert (tmp_path / "cifar10-train-32px-pixels4-n5of100.pt").is_file()
    load_or_compute(replace(KEY, extractor="timm-resnet18-224px-random0"), compute, tmp_path)
    load_or_compute(replace(KEY, resolution=64), compute, tmp_path)
    assert len(calls) == 3 and len(list(tmp_path.glob("*.pt"))) == 3


def test_corrupt_or_mismatched_file_is_recomputed(tmp_path: Path) -> None:
    path = tmp_path / KEY.filename()
    path.write_bytes(b"garbage")
    assert load_or_compute(KEY, lambda: torch.ones(5, 2), tmp_path).sum() == 10
    torch.save({"key": {"dataset": "other"}, "features": torch.zeros(5, 2)}, path)
    assert load_or_compute(KEY, lambda: torch.ones(5, 2), tmp_path).sum() == 10


def test_no_cache_dir_means_no_file(tmp_path: Path) -> None:
    assert load_or_compute(KEY, lambda: torch.ones(5, 2), None).shape == (5, 2)


def test_folder_datasets_get_a_path_hash() -> None:
    a = replace(KEY, dataset="/data/celeba").filename()
    b = replace(KEY, dataset="/other/celeba").filename()
    assert a.startswith("celeba-") and b.startswith("celeba-") and a != b and "/" not in a

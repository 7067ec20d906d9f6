"""Cache of real-image features, keyed by dataset, split, resolution, extractor and sample count.

Features (not just their mean and covariance) are stored, so both FID (moments) and KID (kernel over samples) can
be computed from one file. Files are ``<cache_dir>/<key>.pt`` holding ``{"key": dict, "features": Tensor}``,
written atomically and read with ``weights_only=True``; a file whose key does not match is recomputed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import Tensor

from dfkd.runs.atomic import atomic_torch_save


@dataclass(frozen=True)
class RealFeatureKey:
    """What the cached features depend on. ``dataset``: a registered name or a folder path; ``total``: items
    in the loaded split (the evaluated ``count`` are a seeded subset of them)."""

    dataset: str
    split: str
    resolution: int
    extractor: str
    count: int
    total: int

    def filename(self) -> str:
        name = self.dataset
        if any(sep in name for sep in "/\\") or name.startswith((".", "~")):
            absolute = str(Path(name).expanduser().absolute())
            name = f"{Path(absolute).name}-{hashlib.sha1(absolute.encode()).hexdigest()[:8]}"
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
        extractor = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.extractor)
        return f"{slug}-{self.split}-{self.resolution}px-{extractor}-n{self.count}of{self.total}.pt"


def load_or_compute(key: RealFeatureKey, compute: Callable[[], Tensor], cache_dir: str | Path | None) -> Tensor:
    """The cached features for ``key``, or ``compute()`` them (and cache them when ``cache_dir`` is set)."""
    if cache_dir is None:
        return compute()
    path = Path(cache_dir).expanduser() / key.filename()
    if path.is_file():
        try:
            saved = torch.load(path, map_location="cpu", weights_only=True)
        except Exception:  # noqa: BLE001 - a corrupt cache entry is recomputed
            saved = None
        if isinstance(saved, dict) and saved.get("key") == asdict(key):
            features = saved.get("features")
            if isinstance(features, Tensor) and features.dim() == 2 and features.shape[0] == key.count:
                return features
    features = compute().detach().cpu()
    atomic_torch_save({"key": asdict(key), "features": features}, path)
    return features

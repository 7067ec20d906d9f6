"""FID and KID of generated images, computed by torchmetrics from features of any :class:`FeatureExtractor`.

The real-image features are extracted once (and usually cached, :mod:`dfkd.metrics.cache`); generated images are
scored against them. torchmetrics does all the statistics: its ``FrechetInceptionDistance`` and
``KernelInceptionDistance`` are given a pass-through "feature network", so they receive features that were
already extracted, in batches, by the chosen extractor. Images enter as uint8: generated images in [-1, 1] are
quantised like a saved PNG (:func:`tanh_to_uint8`).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

import torch
from torch import Tensor, nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance

from dfkd.metrics.extractors import FeatureExtractor


def tanh_to_uint8(images: Tensor) -> Tensor:
    """Images in [-1, 1] -> uint8 0..255 (clamped, rounded to nearest, as ``torchvision.utils.save_image``)."""
    return ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def unit_to_uint8(images: Tensor) -> Tensor:
    """Images in [0, 1] (or already uint8) -> uint8 0..255."""
    if images.dtype == torch.uint8:
        return images
    return (images.float().clamp(0, 1) * 255).round().to(torch.uint8)


class PrecomputedFeatures(nn.Module):
    """The identity, declared as torchmetrics' feature network: metrics are updated with features directly."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features

    def forward(self, features: Tensor) -> Tensor:
        return features


@torch.no_grad()
def extract_features(extractor: nn.Module, batches: Iterable[Tensor], device: torch.device | None = None) -> Tensor:
    """Concatenated features of uint8 image batches (moved to ``device``, or the extractor's own), on the CPU."""
    if device is None:
        device = next((t.device for t in (*extractor.parameters(), *extractor.buffers())), torch.device("cpu"))
    parts = [extractor(batch.to(device)).float().cpu() for batch in batches]
    if not parts:
        raise ValueError("extract_features: no images")
    return torch.cat(parts)


class ImageQuality:
    """FID and KID (mean and std over subsets) of generated features against fixed real features.

    ``kid_subset_size`` is capped by the number of real and of generated samples. Scores are computed in float64
    (torchmetrics accumulates FID moments in float64; KID's features are promoted here).
    """

    def __init__(self, real_features: Tensor, *, kid_subsets: int = 100, kid_subset_size: int = 1000) -> None:
        if real_features.dim() != 2 or real_features.shape[0] < 2:
            raise ValueError(f"ImageQuality: expected real features (N >= 2, D), got {tuple(real_features.shape)}")
        self.real_features = real_features.double()
        self.num_features = int(real_features.shape[1])
        self.kid_subsets = kid_subsets
        self.kid_subset_size = kid_subset_size
        self._fid = FrechetInceptionDistance(
            feature=PrecomputedFeatures(self.num_features), reset_real_features=False, sync_on_compute=False
        )  # one process scores its own samples: no gathering across a torchrun group
        self._fid.update(self.real_features, real=True)

    def score(self, fake_features: Tensor) -> dict[str, float]:
        """``{"fid", "kid", "kid_std"}`` of ``fake_features`` (N >= 2, D) against the real features."""
        if fake_features.dim() != 2 or fake_features.shape[1] != self.num_features or fake_features.shape[0] < 2:
            raise ValueError(
                f"ImageQuality.score: expected features (N >= 2, {self.num_features}), got {tuple(fake_features.shape)}"
            )
        fake = fake_features.double().cpu()
        self._fid.reset()  # keeps the real features (reset_real_features=False)
        self._fid.update(fake, real=False)
        fid = float(self._fid.compute())
        subset = min(self.kid_subset_size, self.real_features.shape[0], fake.shape[0])
        with warnings.catch_warnings():  # "will save all extracted features": that is what it is for here
            warnings.filterwarnings("ignore", message=".*will save all extracted features.*")
            kid = KernelInceptionDistance(
                feature=PrecomputedFeatures(self.num_features),
                subsets=self.kid_subsets,
                subset_size=subset,
                sync_on_compute=False,
            )
        kid.update(self.real_features, real=True)
        kid.update(fake, real=False)
        kid_mean, kid_std = kid.compute()
        return {"fid": fid, "kid": float(kid_mean), "kid_std": float(kid_std)}


__all__ = [
    "FeatureExtractor",
    "ImageQuality",
    "PrecomputedFeatures",
    "extract_features",
    "tanh_to_uint8",
    "unit_to_uint8",
]

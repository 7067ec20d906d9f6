"""FID and KID of the generator during training, prepared before training starts.

Preparing builds the feature extractor (so missing Inception weights stop the run before its first step, with
the message of :mod:`dfkd.metrics.inception`) and gets the real-image features from the cache or computes them.
Every evaluation scores the same latent codes (a generator seeded with :data:`EVAL_SEED`), so numbers of
different steps are comparable; the generator runs in eval mode (BatchNorm running statistics).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
from torch import Tensor

from dfkd.gan.config import FidSection
from dfkd.metrics import (
    ExtractorOptions,
    FeatureExtractor,
    ImageQuality,
    RealFeatureKey,
    build_extractor,
    extract_features,
    load_or_compute,
    tanh_to_uint8,
    unit_to_uint8,
)

EVAL_SEED = 1234
REAL_SUBSET_SEED = 0
SAMPLES_ON_GPU = 10_000
SAMPLES_ON_CPU = 1_000

Sampler = Callable[[Tensor, Tensor | None], Tensor]
"""``sample(z, labels_or_None) -> images in [-1, 1]``"""


def sample_counts(fid: FidSection, device: torch.device, available: int) -> tuple[int, int]:
    """(generated, real) image counts: the recipe's, or 10000 on a GPU / 1000 on a CPU; real ones capped."""
    generated = fid.num_samples or (SAMPLES_ON_GPU if device.type == "cuda" else SAMPLES_ON_CPU)
    return generated, min(fid.num_real or generated, available)


class GanEvaluator:
    """Scores a generator with FID/KID against fixed real features."""

    def __init__(self, extractor: FeatureExtractor, real_features: Tensor, fid: FidSection, num_samples: int) -> None:
        self.extractor = extractor
        self.quality = ImageQuality(real_features, kid_subsets=fid.kid_subsets, kid_subset_size=fid.kid_subset_size)
        self.num_samples = num_samples
        self.num_real = int(real_features.shape[0])
        self.batch_size = fid.batch_size

    @classmethod
    def prepare(
        cls, fid: FidSection, images: Tensor, dataset: str, resolution: int, device: torch.device
    ) -> GanEvaluator:
        """Build the extractor and the real features of a fixed seeded subset of ``images`` ([0, 1] or uint8)."""
        options = ExtractorOptions(weights=fid.weights, image_size=fid.image_size, download=fid.download)
        extractor = build_extractor(fid.extractor, options).to(device)
        num_samples, num_real = sample_counts(fid, device, images.shape[0])
        index = torch.randperm(images.shape[0], generator=torch.Generator().manual_seed(REAL_SUBSET_SEED))[:num_real]
        key = RealFeatureKey(dataset, "train", resolution, extractor.cache_id, num_real, images.shape[0])

        def batches() -> Iterator[Tensor]:
            for start in range(0, num_real, fid.batch_size):
                yield unit_to_uint8(images[index[start : start + fid.batch_size]])

        real = load_or_compute(key, lambda: extract_features(extractor, batches(), device), fid.cache_dir)
        return cls(extractor, real, fid, num_samples)

    @property
    def comparable(self) -> bool:
        return bool(self.extractor.comparable)

    @torch.no_grad()
    def evaluate(self, sample: Sampler, nz: int, num_classes: int, device: torch.device) -> dict[str, float]:
        """``{"fid", "kid", "kid_std"}`` of ``num_samples`` images from ``sample`` (labels uniform if conditional)."""
        rng = torch.Generator().manual_seed(EVAL_SEED)

        def batches() -> Iterator[Tensor]:
            for start in range(0, self.num_samples, self.batch_size):
                n = min(self.batch_size, self.num_samples - start)
                z = torch.randn(n, nz, generator=rng).to(device)
                labels = torch.randint(num_classes, (n,), generator=rng).to(device) if num_classes else None
                yield tanh_to_uint8(sample(z, labels))

        return self.quality.score(extract_features(self.extractor, batches(), device))

"""Image-quality metrics: FID and KID through torchmetrics, with swappable feature extractors and a cache of
real-image features. See :mod:`dfkd.metrics.extractors` for the extractor names a recipe may use."""

from dfkd.metrics import inception  # noqa: F401  (registers "inception")
from dfkd.metrics.cache import RealFeatureKey, load_or_compute
from dfkd.metrics.errors import ExtractorWeightsError
from dfkd.metrics.extractors import (
    EXTRACTORS,
    ExtractorOptions,
    FeatureExtractor,
    PixelFeatures,
    TimmFeatures,
    build_extractor,
    register_extractor,
)
from dfkd.metrics.quality import ImageQuality, extract_features, tanh_to_uint8, unit_to_uint8

__all__ = [
    "EXTRACTORS",
    "ExtractorOptions",
    "ExtractorWeightsError",
    "FeatureExtractor",
    "ImageQuality",
    "PixelFeatures",
    "RealFeatureKey",
    "TimmFeatures",
    "build_extractor",
    "extract_features",
    "load_or_compute",
    "register_extractor",
    "tanh_to_uint8",
    "unit_to_uint8",
]

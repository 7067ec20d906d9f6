"""Feature extractors for FID/KID, chosen by name from a registry.

An extractor maps uint8 images ``(B, C, H, W)`` in 0..255 (C = 1 or 3; grey images are repeated to RGB) to
features ``(B, num_features)``. It never trains and never needs gradients. Names:

* ``inception`` -- the standard FID Inception-v3 (torch-fidelity's weights, 2048 pool features, via
  torchmetrics). The only choice whose numbers are comparable with published FID/KID (:mod:`.inception`).
* ``timm:<model>`` -- any timm model's pooled features (``num_classes=0``), at ``image_size`` (default: the
  model's own input size), ImageNet-normalised. Random weights (seed 0) unless ``weights=PATH`` gives a state
  dict. Quick and NOT comparable with published numbers.
* ``pixels:<size>`` -- the image average-pooled to ``size`` x ``size`` and flattened; no weights. For smoke tests
  and sanity checks only.

Add your own with :func:`register_extractor`; or hand any :class:`FeatureExtractor` module to
:class:`dfkd.metrics.quality.ImageQuality` directly.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dfkd.metrics.errors import ExtractorWeightsError
from dfkd.registry import Registry


class FeatureExtractor(nn.Module, ABC):
    """uint8 images -> float features; always in eval mode, no parameter gradients.

    Subclasses set ``num_features``, ``cache_id`` (names the network, its weights and its input size, so that
    cached real-image features are reused only for the same extractor) and ``comparable`` (True only when the
    numbers may be compared with published FID/KID), and implement :meth:`extract` on RGB uint8 images.
    """

    num_features: int
    cache_id: str
    comparable: bool = False

    def forward(self, images: Tensor) -> Tensor:
        if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] not in (1, 3):
            raise ValueError(
                f"{type(self).__name__}: expected uint8 images of shape (B, 1 or 3, H, W), got {images.dtype} "
                f"{tuple(images.shape)}"
            )
        if images.shape[1] == 1:
            images = images.expand(-1, 3, -1, -1)
        return self.extract(images).flatten(1)

    @abstractmethod
    def extract(self, images: Tensor) -> Tensor:
        """Features of RGB uint8 images (B, 3, H, W)."""

    def train(self, mode: bool = True) -> FeatureExtractor:
        return super().train(False)

    def frozen(self) -> FeatureExtractor:
        """Eval mode and no parameter gradients; returns self."""
        for p in self.parameters():
            p.requires_grad_(False)
        return self.eval()


@dataclass(frozen=True)
class ExtractorOptions:
    """What a recipe says about the extractor: the part after ``name:``, a weights file, the input size and
    whether missing weights may be downloaded."""

    argument: str | None = None
    weights: str | None = None
    image_size: int | None = None
    download: bool = False


ExtractorFactory = Callable[[ExtractorOptions], FeatureExtractor]
EXTRACTORS: Registry[ExtractorFactory] = Registry("feature extractor")


def register_extractor(name: str) -> Callable[[ExtractorFactory], ExtractorFactory]:
    """Decorator: ``@register_extractor("mine")`` makes ``fid.extractor=mine[:argument]`` build it."""
    return EXTRACTORS.register(name)


def build_extractor(name: str, options: ExtractorOptions = ExtractorOptions()) -> FeatureExtractor:
    """Build ``name`` (``kind`` or ``kind:argument``) from the registry, frozen and in eval mode."""
    kind, _, argument = name.partition(":")
    factory = EXTRACTORS.get(kind)
    options = ExtractorOptions(argument or None, options.weights, options.image_size, options.download)
    return factory(options).frozen()


def file_digest(path: Path, length: int = 8) -> str:
    """Short sha256 of a file (identifies weights in cache keys)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:length]


def to_unit_float(images: Tensor, size: int | None) -> Tensor:
    """uint8 -> float in [0, 1], bilinearly resized (antialiased) to ``size`` x ``size`` when given."""
    x = images.float().div(255)
    if size is not None and tuple(x.shape[-2:]) != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return x


# --------------------------------------------------------------------------------------------- pixels


class PixelFeatures(FeatureExtractor):
    """The image average-pooled to ``size`` x ``size``, flattened (3 * size^2 features)."""

    def __init__(self, size: int = 8) -> None:
        super().__init__()
        if size < 1:
            raise ValueError(f"pixels extractor: size must be >= 1, got {size}")
        self.size = size
        self.num_features = 3 * size * size
        self.cache_id = f"pixels{size}"

    def extract(self, images: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(images.float().div(255), self.size)


@register_extractor("pixels")
def _pixels(options: ExtractorOptions) -> FeatureExtractor:
    try:
        size = int(options.argument) if options.argument else (options.image_size or 8)
    except ValueError:
        raise ValueError(f"fid.extractor: 'pixels:<size>' needs an integer size, got {options.argument!r}") from None
    return PixelFeatures(size)


# ----------------------------------------------------------------------------------------------- timm


def _load_state_dict(path: Path) -> dict[str, Tensor]:
    if not path.is_file():
        raise ExtractorWeightsError(f"fid.weights: {path} does not exist")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    state = torch.load(path, map_location="cpu", weights_only=True)
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        raise ExtractorWeightsError(f"fid.weights: {path} does not hold a state dict")
    return {k.removeprefix("module."): v for k, v in state.items()}


class TimmFeatures(FeatureExtractor):
    """Pooled features of a timm model (classifier removed), ImageNet-normalised input at ``image_size``."""

    mean: Tensor
    std: Tensor

    def __init__(self, model_name: str, weights: str | None = None, image_size: int | None = None) -> None:
        super().__init__()
        from dfkd.models import create_model

        with torch.random.fork_rng(devices=[]):  # the same random weights on every machine, RNG untouched
            torch.manual_seed(0)
            self.model = create_model(model_name, pretrained=False, num_classes=0)
        tag = "random0"
        if weights is not None:
            path = Path(weights).expanduser()
            state = _load_state_dict(path)
            own = self.model.state_dict()
            usable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
            if len(usable) < len(own) // 2:
                raise ExtractorWeightsError(
                    f"fid.weights: {path} matches only {len(usable)} of the {len(own)} tensors of timm model "
                    f"{model_name!r}; is it that model's state dict?"
                )
            self.model.load_state_dict(usable, strict=False)
            tag = file_digest(path)
        cfg = getattr(self.model, "pretrained_cfg", {}) or {}
        self.size = image_size or int(cfg.get("input_size", (3, 224, 224))[-1])
        mean, std = cfg.get("mean", (0.485, 0.456, 0.406)), cfg.get("std", (0.229, 0.224, 0.225))
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1))
        num_features = getattr(self.model, "num_features", None)  # every timm model sets it
        if not isinstance(num_features, int):
            raise ValueError(f"fid.extractor: timm model {model_name!r} does not say its number of features")
        self.num_features = num_features
        self.cache_id = f"timm-{model_name}-{self.size}px-{tag}"

    def extract(self, images: Tensor) -> Tensor:
        x = (to_unit_float(images, self.size) - self.mean) / self.std
        return self.model(x)


@register_extractor("timm")
def _timm(options: ExtractorOptions) -> FeatureExtractor:
    if not options.argument:
        raise ValueError("fid.extractor: write 'timm:<model name>', e.g. 'timm:resnet18'")
    return TimmFeatures(options.argument, options.weights, options.image_size)


__all__ = [
    "EXTRACTORS",
    "ExtractorOptions",
    "FeatureExtractor",
    "PixelFeatures",
    "TimmFeatures",
    "build_extractor",
    "register_extractor",
]

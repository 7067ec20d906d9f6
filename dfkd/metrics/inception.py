"""The standard FID extractor: torch-fidelity's Inception-v3 (2048 pool features) through torchmetrics.

Machines without network cannot download its weights, so they are looked up, in order, at ``fid.weights`` (a
path) and in the torch hub cache (``<torch hub dir>/checkpoints/<INCEPTION_FILE>``, where torch-fidelity itself
would download them). When they are in neither place the error says where to put them and where to fetch them;
with ``fid.download=true`` torch-fidelity fetches them into the hub cache instead.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from dfkd.metrics.errors import ExtractorWeightsError
from dfkd.metrics.extractors import ExtractorOptions, FeatureExtractor, file_digest, register_extractor

INCEPTION_FILE = "weights-inception-2015-12-05-6726825d.pth"
INCEPTION_URL = f"https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/{INCEPTION_FILE}"


def hub_weights_path() -> Path:
    """Where torch-fidelity downloads (and looks for) the Inception weights."""
    return Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILE


def missing_weights_message(looked_at: list[Path]) -> str:
    places = ", ".join(str(p) for p in looked_at)
    return (
        f"FID/KID extractor 'inception' needs the Inception-v3 weights file {INCEPTION_FILE} (about 91 MB), "
        f"not found at: {places}. This machine cannot download it. On a machine with network, fetch {INCEPTION_URL} "
        f"(e.g. `curl -L -O {INCEPTION_URL}`), then copy it to {hub_weights_path()} or anywhere and set "
        f"fid.weights=PATH. Or set fid.download=true on a networked machine; or evaluate with a swapped, "
        f"non-comparable extractor (fid.extractor=timm:resnet18 or fid.extractor=pixels:8); or train without "
        f"evaluation (fid.enabled=false)."
    )


def find_inception_weights(weights: str | None) -> Path | None:
    """The weights file to use: ``weights`` if given (must exist), else the hub cache copy, else None."""
    if weights is not None:
        path = Path(weights).expanduser()
        if path.is_dir():
            path = path / INCEPTION_FILE
        if not path.is_file():
            raise ExtractorWeightsError(missing_weights_message([path]))
        return path
    cached = hub_weights_path()
    return cached if cached.is_file() else None


def _check_plain_state_dict(path: Path) -> None:
    """torch-fidelity loads the file with weights_only=False: make sure first that it holds only tensors."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any failure means the file cannot be used safely
        raise ExtractorWeightsError(
            f"fid.weights: {path} is not a plain Inception state dict ({type(exc).__name__}); "
            f"{missing_weights_message([path])}"
        ) from exc
    if not isinstance(state, dict) or "Conv2d_1a_3x3.conv.weight" not in state:
        raise ExtractorWeightsError(f"fid.weights: {path} does not look like torch-fidelity's {INCEPTION_FILE}")


class InceptionFeatures(FeatureExtractor):
    """torchmetrics' ``NoTrainInceptionV3`` (torch-fidelity's FID network), 2048 features, any input size
    (resized to 299 inside)."""

    comparable = True

    def __init__(self, weights: Path | None) -> None:
        super().__init__()
        from torchmetrics.image.fid import NoTrainInceptionV3

        self.net = NoTrainInceptionV3(
            name="inception-v3-compat",
            features_list=["2048"],
            feature_extractor_weights_path=None if weights is None else str(weights),
        )
        self.num_features = 2048
        self.cache_id = "inception2048" if weights is None else f"inception2048-{file_digest(weights)}"

    def extract(self, images: Tensor) -> Tensor:
        return self.net(images)


@register_extractor("inception")
def _inception(options: ExtractorOptions) -> FeatureExtractor:
    if options.argument:
        raise ValueError(f"fid.extractor: 'inception' takes no argument, got 'inception:{options.argument}'")
    path = find_inception_weights(options.weights)
    if path is None and not options.download:
        raise ExtractorWeightsError(missing_weights_message([hub_weights_path()]))
    if path is not None:
        _check_plain_state_dict(path)
        return InceptionFeatures(path)
    try:  # fid.download=true: torch-fidelity fetches the file into the hub cache
        return InceptionFeatures(None)
    except Exception as exc:  # no network, proxy, disk: one actionable error
        raise ExtractorWeightsError(
            f"download failed ({type(exc).__name__}: {exc}). {missing_weights_message([hub_weights_path()])}"
        ) from exc

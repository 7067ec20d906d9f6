"""Extractor registry: pixels, timm (random or given weights), inception weights lookup and its errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from dfkd.metrics import (
    EXTRACTORS,
    ExtractorOptions,
    ExtractorWeightsError,
    PixelFeatures,
    build_extractor,
)
from dfkd.metrics.inception import INCEPTION_FILE, INCEPTION_URL, find_inception_weights
from dfkd.registry import UnknownNameError


def _images(n: int = 4, channels: int = 3, size: int = 16) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    return torch.randint(0, 256, (n, channels, size, size), dtype=torch.uint8, generator=generator)


def test_registry_names_and_unknown_name() -> None:
    assert {"inception", "timm", "pixels"} <= set(EXTRACTORS.names())
    with pytest.raises(UnknownNameError, match="expected one of"):
        build_extractor("incpetion")


def test_pixels_extractor_pools_and_accepts_grey() -> None:
    extractor = build_extractor("pixels:2")
    assert isinstance(extractor, PixelFeatures) and extractor.num_features == 12 and not extractor.training
    grey = _images(channels=1)
    features = extractor(grey)
    assert features.shape == (4, 12)
    assert torch.allclose(features[:, :4], features[:, 4:8])  # the grey channel repeated to RGB
    expected = grey[0, 0, :8, :8].float().div(255).mean()
    assert features[0, 0] == pytest.approx(float(expected), rel=1e-6)
    with pytest.raises(ValueError, match="uint8"):
        extractor(grey.float())


def test_timm_extractor_random_weights_are_reproducible_and_loadable(tmp_path: Path) -> None:
    state = torch.get_rng_state()
    a = build_extractor("timm:resnet10t", ExtractorOptions(image_size=32))
    b = build_extractor("timm:resnet10t", ExtractorOptions(image_size=32))
    assert torch.equal(torch.get_rng_state(), state)  # building does not touch the global RNG
    images = _images()
    assert a.cache_id == "timm-resnet10t-32px-random0"
    assert torch.equal(a(images), b(images)) and a(images).shape == (4, a.num_features)
    weights = tmp_path / "w.pth"
    torch.save({"state_dict": {f"module.{k}": v * 0.5 for k, v in a.model.state_dict().items()}}, weights)
    c = build_extractor("timm:resnet10t", ExtractorOptions(image_size=32, weights=str(weights)))
    assert c.cache_id.startswith("timm-resnet10t-32px-") and c.cache_id != a.cache_id
    assert not torch.equal(c(images), a(images))
    with pytest.raises(ValueError, match="timm:<model name>"):
        build_extractor("timm")


def test_inception_missing_weights_error_says_where_to_put_them(tmp_path: Path) -> None:
    hub = Path(torch.hub.get_dir())
    torch.hub.set_dir(str(tmp_path / "hub"))
    try:
        assert find_inception_weights(None) is None
        with pytest.raises(ExtractorWeightsError) as info:
            build_extractor("inception")
    finally:
        torch.hub.set_dir(str(hub))
    message = str(info.value)
    assert INCEPTION_FILE in message and INCEPTION_URL in message
    assert str(tmp_path / "hub" / "checkpoints" / INCEPTION_FILE) in message and "fid.weights=PATH" in message


def test_inception_weights_path_checked(tmp_path: Path) -> None:
    with pytest.raises(ExtractorWeightsError, match="nothere.pth"):
        build_extractor("inception", ExtractorOptions(weights=str(tmp_path / "nothere.pth")))
    bogus = tmp_path / INCEPTION_FILE
    torch.save({"not": torch.zeros(1)}, bogus)
    with pytest.raises(ExtractorWeightsError, match="does not look like"):
        build_extractor("inception", ExtractorOptions(weights=str(tmp_path)))  # a directory holding the file

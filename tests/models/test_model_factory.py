"""Registration with timm, dfkd.models.create_model, and the timm-kwargs helper."""

from __future__ import annotations

import pytest
import timm
import torch
from timm.models import model_entrypoint

import dfkd.models
from dfkd.models import SupportsFeatures, create_model, latent_size, list_dfkd_models

CLASSIFIERS = ["cifar_resnet18", "cifar_resnet34", "simple_cnn", "wrn_16_1", "wrn_16_2", "wrn_40_1", "wrn_40_2"]
GENERATORS = ["dcgan_generator", "dfad_generator", "zskt_generator"]
CRITICS = ["dcgan_critic"]


def _forward_shape(name: str, model: torch.nn.Module) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Run a batch of 2 through ``model`` and return (output shape, expected shape)."""
    model.eval()
    with torch.no_grad():
        if name in CLASSIFIERS:
            return tuple(model(torch.randn(2, 3, 32, 32)).shape), (2, 7)
        if name in GENERATORS:
            return tuple(model(torch.randn(2, model.nz)).shape), (2, 3, 32, 32)
        return tuple(model(torch.randn(2, 3, 32, 32)).shape), (2,)


def test_registered_names() -> None:
    names = list_dfkd_models()
    assert names == sorted(names)
    assert set(CLASSIFIERS + GENERATORS + CRITICS) <= set(names)
    for name in list_dfkd_models():
        assert timm.is_model(name)
        assert model_entrypoint(name).__module__.startswith("dfkd.models."), name


@pytest.mark.parametrize("name", CLASSIFIERS + GENERATORS + CRITICS)
def test_builds_through_timm_and_dfkd(name: str) -> None:
    torch.manual_seed(0)
    kwargs = {"num_classes": 7} if name in CLASSIFIERS else {}
    via_timm = timm.create_model(name, **kwargs)
    via_dfkd = create_model(name, **kwargs)
    assert type(via_timm) is type(via_dfkd)
    got, expected = _forward_shape(name, via_dfkd)
    assert got == expected
    assert via_dfkd.pretrained_cfg["architecture"] == name
    assert via_dfkd.default_cfg is via_dfkd.pretrained_cfg
    if name in CLASSIFIERS:
        assert via_dfkd.num_classes == 7
        assert via_dfkd.pretrained_cfg["num_classes"] == 7
        assert isinstance(via_dfkd, SupportsFeatures)
    else:
        assert not isinstance(via_dfkd, SupportsFeatures)


def test_unknown_model_is_a_value_error_listing_dfkd_models() -> None:
    with pytest.raises(ValueError) as info:
        create_model("cifar_resnet19")
    message = str(info.value)
    assert "'cifar_resnet19'" in message
    for name in list_dfkd_models():
        assert name in message
    assert "timm" in message


def test_pretrained_is_refused_with_a_clear_message() -> None:
    for build in (create_model, timm.create_model):
        with pytest.raises(ValueError, match="no pretrained weights.*dfkd train-teacher"):
            build("cifar_resnet18", pretrained=True)
    # pretrained=False, and the cfg kwargs timm adds itself, are accepted and stripped
    model = create_model("simple_cnn", pretrained=False, pretrained_cfg_overlay={"num_classes": 3}, cache_dir="/x")
    assert model.num_classes == 10


def test_bad_kwargs_name_the_model_and_the_accepted_ones() -> None:
    with pytest.raises(TypeError, match=r"simple_cnn.*\['widht'\].*width"):
        create_model("simple_cnn", widht=8)
    with pytest.raises(TypeError, match=r"cifar_resnet18.*\['layers'\]"):  # pinned by the entrypoint
        create_model("cifar_resnet18", layers=[1, 1, 1, 1])


def test_timm_models_still_build() -> None:
    model = create_model("resnet18", num_classes=3)
    assert model.num_classes == 3
    assert dfkd.models.create_model is create_model


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [("dfad_generator", {"nz": 7, "ngf": 4}), ("zskt_generator", {"nz": 7, "ngf": 4}), ("dcgan_generator", {"nz": 7})],
)
def test_latent_size_is_the_generators_nz(name: str, kwargs: dict) -> None:
    assert latent_size(create_model(name, **kwargs)) == 7


def test_latent_size_of_a_module_that_is_no_generator_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="SimpleCNN is not a generator"):
        latent_size(create_model("simple_cnn", num_classes=3, width=4, depth=2))

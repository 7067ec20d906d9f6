"""CIFAR ResNet-18/34 as in baselines.md ("resnet_8x")."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from dfkd.models import CifarResNet, create_model
from dfkd.models.resnet_cifar import BasicBlock


def _params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.fixture(scope="module")
def r18() -> CifarResNet:
    torch.manual_seed(0)
    return create_model("cifar_resnet18", num_classes=10)


@pytest.fixture(scope="module")
def r34() -> CifarResNet:
    torch.manual_seed(0)
    return create_model("cifar_resnet34", num_classes=10)


@pytest.mark.parametrize(
    ("model", "expected", "exact"),
    [
        ("r18", 11.17e6, 11_173_962),
        ("r34", 21.28e6, 21_282_122),
    ],
)
def test_parameter_counts(model: str, expected: float, exact: int, request: pytest.FixtureRequest) -> None:
    n = _params(request.getfixturevalue(model))
    assert n == pytest.approx(expected, rel=0.01)
    assert n == exact


def test_stem_is_3x3_stride_1_without_max_pool(r18: CifarResNet) -> None:
    conv = r18.conv1
    assert (conv.kernel_size, conv.stride, conv.padding, conv.out_channels) == ((3, 3), (1, 1), (1, 1), 64)
    assert conv.bias is None
    assert not any(isinstance(m, (nn.MaxPool2d, nn.AdaptiveMaxPool2d)) for m in r18.modules())


@pytest.mark.parametrize(("model_name", "blocks"), [("r18", [2, 2, 2, 2]), ("r34", [3, 4, 6, 3])])
def test_projection_shortcuts_exactly_where_shape_changes(
    model_name: str, blocks: list[int], request: pytest.FixtureRequest
) -> None:
    model = request.getfixturevalue(model_name)
    stages = [model.layer1, model.layer2, model.layer3, model.layer4]
    assert [len(s) for s in stages] == blocks
    for stage_idx, stage in enumerate(stages):
        for block_idx, block in enumerate(stage):
            assert isinstance(block, BasicBlock)
            changes = stage_idx > 0 and block_idx == 0
            assert block.conv1.stride == ((2, 2) if changes else (1, 1))
            if changes:
                conv, bn = block.shortcut
                assert conv.kernel_size == (1, 1) and conv.stride == (2, 2) and conv.bias is None
                assert isinstance(bn, nn.BatchNorm2d) and bn.num_features == conv.out_channels
            else:
                assert isinstance(block.shortcut, nn.Identity)


def test_features_and_logits(r18: CifarResNet) -> None:
    torch.manual_seed(1)
    x = torch.randn(2, 3, 32, 32)
    r18.eval()
    logits, features = r18.forward_with_features(x)
    assert [tuple(f.shape) for f in features] == [(2, 64, 32, 32), (2, 128, 16, 16), (2, 256, 8, 8), (2, 512, 4, 4)]
    assert logits.shape == (2, 10)
    torch.testing.assert_close(logits, r18(x), rtol=0, atol=0)
    # features are part of the graph (attention transfer backpropagates through them)
    r18.train()
    _, features = r18.forward_with_features(x)
    features[1].pow(2).mean().backward()
    assert r18.conv1.weight.grad is not None and r18.layer3[0].conv1.weight.grad is None
    r18.zero_grad(set_to_none=True)


def test_kaiming_fan_out_init(r18: CifarResNet) -> None:
    w = r18.layer4[1].conv2.weight  # 512 x 512 x 3 x 3
    fan_out = w.shape[0] * w.shape[2] * w.shape[3]
    assert w.std().item() == pytest.approx(math.sqrt(2.0 / fan_out), rel=0.03)
    assert w.mean().abs().item() < 1e-3


def test_num_classes_and_in_chans() -> None:
    model = create_model("cifar_resnet18", num_classes=100, in_chans=1)
    assert model.fc.out_features == 100 and model.num_classes == 100
    assert model(torch.randn(2, 1, 32, 32)).shape == (2, 100)
    with pytest.raises(ValueError, match="layers"):
        CifarResNet(layers=[2, 2, 2])

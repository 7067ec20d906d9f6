"""WideResNets of ZSKT."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dfkd.models import WideResNet, create_model


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("wrn_16_1", 175_066),  # ~0.2M in ZSKT's table
        ("wrn_16_2", 691_674),
        ("wrn_40_1", 563_930),
        ("wrn_40_2", 2_243_546),  # ~2.2M
    ],
)
def test_parameter_counts(name: str, params: int) -> None:
    assert sum(p.numel() for p in create_model(name).parameters()) == params


@pytest.mark.parametrize(("name", "n", "k"), [("wrn_16_1", 2, 1), ("wrn_40_2", 6, 2)])
def test_structure(name: str, n: int, k: int) -> None:
    model = create_model(name)
    groups = [model.block1, model.block2, model.block3]
    assert [len(g) for g in groups] == [n, n, n]
    assert [g[0].conv1.out_channels for g in groups] == [16 * k, 32 * k, 64 * k]
    # 1x1 shortcut only where the shape changes; pre-activation blocks start with BN
    assert (model.block1[0].shortcut is None) == (k == 1)
    for g in groups[1:]:
        assert g[0].shortcut.kernel_size == (1, 1) and g[0].shortcut.stride == (2, 2)
    assert all(b.shortcut is None for g in groups for b in g[1:])
    assert isinstance(model.block2[0].bn1, nn.BatchNorm2d) and model.block2[0].bn1.num_features == 16 * k
    assert not any(isinstance(m, nn.Dropout) for m in model.modules())


def test_features_are_raw_group_outputs_and_logits_match() -> None:
    torch.manual_seed(0)
    model = create_model("wrn_16_2", num_classes=5).eval()
    x = torch.randn(2, 3, 32, 32)
    logits, features = model.forward_with_features(x)
    assert [tuple(f.shape) for f in features] == [(2, 32, 32, 32), (2, 64, 16, 16), (2, 128, 8, 8)]
    torch.testing.assert_close(logits, model(x), rtol=0, atol=0)
    assert logits.shape == (2, 5)
    # ZSKT's attention maps use the group outputs before the next BN-ReLU: they are not rectified
    assert all(f.min() < 0 for f in features)


def test_depth_must_be_6n_plus_4() -> None:
    with pytest.raises(ValueError, match="6n \\+ 4"):
        WideResNet(depth=15, widen_factor=1)

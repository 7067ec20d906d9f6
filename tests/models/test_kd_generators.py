"""DFAD's GeneratorA and ZSKT's generator."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dfkd.models import UpsampleGenerator, create_model


def test_dfad_generator_matches_the_spec() -> None:
    torch.manual_seed(0)
    g = create_model("dfad_generator")
    assert g.nz == 256
    assert (g.fc.in_features, g.fc.out_features) == (256, 128 * 8 * 8)
    assert g.bn0.num_features == 128
    ups = [m for m in g.modules() if isinstance(m, nn.Upsample)]
    assert len(ups) == 2 and all(u.mode == "nearest" and u.scale_factor == 2 for u in ups)
    convs = [m for m in g.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size) for c in convs] == [
        (128, 128, (3, 3)),
        (128, 64, (3, 3)),
        (64, 3, (3, 3)),
    ]
    assert all(m.negative_slope == 0.2 for m in g.modules() if isinstance(m, nn.LeakyReLU))
    *_, tanh, bn = g.head
    assert isinstance(tanh, nn.Tanh)
    assert isinstance(bn, nn.BatchNorm2d) and not bn.affine and bn.num_features == 3
    out = g(torch.randn(8, 256))
    assert out.shape == (8, 3, 32, 32)
    # train-mode non-affine BN output: each channel standardised over the batch
    torch.testing.assert_close(out.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(out.var(dim=(0, 2, 3), unbiased=False), torch.ones(3), atol=1e-3, rtol=0)


def test_zskt_generator_has_affine_bn_and_no_tanh() -> None:
    g = create_model("zskt_generator")
    assert g.nz == 100 and (g.fc.in_features, g.fc.out_features) == (100, 128 * 8 * 8)
    assert not any(isinstance(m, nn.Tanh) for m in g.modules())
    last = list(g.modules())[-1]
    assert isinstance(last, nn.BatchNorm2d) and last.affine and last.num_features == 3
    assert g(torch.randn(4, 100)).shape == (4, 3, 32, 32)


@pytest.mark.parametrize("name", ["dfad_generator", "zskt_generator"])
def test_size_and_channels_from_kwargs(name: str) -> None:
    g = create_model(name, img_size=16, channels=1, ngf=8, nz=10)
    assert g.fc.out_features == 16 * 4 * 4
    assert g(torch.randn(3, 10)).shape == (3, 1, 16, 16)


def test_validation() -> None:
    g = create_model("dfad_generator", ngf=8)
    with pytest.raises(ValueError, match="z of shape"):
        g(torch.randn(2, 100))
    with pytest.raises(ValueError, match="multiple of 4"):
        UpsampleGenerator(nz=8, img_size=30)
    with pytest.raises(ValueError, match="unconditional"):
        create_model("zskt_generator", num_classes=10)
    assert create_model("zskt_generator", num_classes=0, ngf=8).nz == 100

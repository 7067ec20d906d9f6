"""DCGAN generator and critic, one definition for every resolution."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from dfkd.models import CRITIC_NORMS, DCGANCritic, DCGANGenerator, create_model


@pytest.mark.parametrize("resolution", [8, 16, 32, 64])
def test_generator_resolutions(resolution: int) -> None:
    torch.manual_seed(0)
    g = create_model("dcgan_generator", nz=16, ngf=8, resolution=resolution)
    steps = int(math.log2(resolution)) - 2
    convs = [m for m in g.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert len(convs) == steps + 1
    assert convs[0].out_channels == 8 * 2 ** (steps - 1) and convs[-1].out_channels == 3
    assert isinstance(g.main[-1], nn.Tanh)
    out = g(torch.randn(2, 16))
    assert out.shape == (2, 3, resolution, resolution)
    assert out.abs().max() <= 1
    assert (g.nz, g.resolution, g.num_classes) == (16, resolution, 0)


def test_standard_64x64_generator_widths() -> None:
    g = DCGANGenerator(nz=100, ngf=64, resolution=64)
    widths = [m.out_channels for m in g.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert widths == [512, 256, 128, 64, 3]


@pytest.mark.parametrize("norm", sorted(CRITIC_NORMS))
@pytest.mark.parametrize("resolution", [16, 32, 64])
def test_critic_every_norm_and_resolution(norm: str, resolution: int) -> None:
    torch.manual_seed(0)
    d = create_model("dcgan_critic", ndf=8, resolution=resolution, norm=norm)
    assert d(torch.randn(3, 3, resolution, resolution)).shape == (3,)
    assert isinstance(d.main[1], nn.LeakyReLU)  # first layer never normalised
    assert d.main[1].negative_slope == 0.2
    assert (d.resolution, d.num_classes) == (resolution, 0)
    assert sum(isinstance(m, nn.Conv2d) for m in d.modules()) == int(math.log2(resolution)) - 2


def test_group_norm_groups() -> None:
    d = DCGANCritic(ndf=24, resolution=32, norm="gn")
    groups = [(m.num_groups, m.num_channels) for m in d.modules() if isinstance(m, nn.GroupNorm)]
    assert groups == [(16, 48), (32, 96)]
    assert not any(isinstance(m, nn.BatchNorm2d) for m in d.modules())


def test_spectral_norm_critic() -> None:
    torch.manual_seed(0)
    d = DCGANCritic(ndf=8, resolution=16, norm="sn", num_classes=3)
    weighted = [m for m in d.modules() if isinstance(m, (nn.Conv2d, nn.Linear, nn.Embedding))]
    assert len(weighted) == 4
    assert all(parametrize.is_parametrized(m, "weight") for m in weighted)
    assert not any(isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)) for m in d.modules())
    x, c = torch.randn(4, 3, 16, 16), torch.randint(0, 3, (4,))
    for _ in range(30):  # power iterations run in train-mode forwards
        d(x, c)
    w = d.main[2].weight
    assert torch.linalg.matrix_norm(w.flatten(1), ord=2).item() == pytest.approx(1.0, rel=0.02)


@pytest.mark.parametrize(("norm", "train"), [("gn", True), ("none", True), ("sn", False), ("bn", False)])
def test_per_sample_independence(norm: str, train: bool) -> None:
    torch.manual_seed(0)
    d = DCGANCritic(ndf=8, resolution=16, norm=norm).train(train)
    x = torch.randn(4, 3, 16, 16)
    y = d(x)
    x2 = x.clone()
    x2[1:] = torch.randn(3, 3, 16, 16) * 3 + 1
    torch.testing.assert_close(d(x2)[0], y[0], rtol=1e-5, atol=1e-6)


def test_train_mode_batch_norm_couples_samples() -> None:
    torch.manual_seed(0)
    d = DCGANCritic(ndf=8, resolution=16, norm="bn").train()
    x = torch.randn(4, 3, 16, 16)
    y = d(x)
    x2 = x.clone()
    x2[1:] = torch.randn(3, 3, 16, 16) * 3 + 1
    assert (d(x2)[0] - y[0]).abs().item() > 1e-4


def test_conditional_generator() -> None:
    torch.manual_seed(0)
    g = create_model("dcgan_generator", nz=16, ngf=8, resolution=16, num_classes=5).eval()
    assert g.embed.weight.shape == (5, 16)
    z = torch.randn(2, 16)
    a = g(z, torch.tensor([0, 1]))
    b = g(z, torch.tensor([2, 1]))
    assert a.shape == (2, 3, 16, 16)
    assert not torch.allclose(a[0], b[0]) and torch.allclose(a[1], b[1])
    with pytest.raises(ValueError, match="needs labels"):
        g(z)
    with pytest.raises(ValueError, match="got labels"):
        DCGANGenerator(nz=16, ngf=8, resolution=16)(z, torch.tensor([0, 1]))


def test_projection_critic() -> None:
    torch.manual_seed(0)
    d = create_model("dcgan_critic", ndf=8, resolution=16, norm="gn", num_classes=4).eval()
    x = torch.randn(3, 3, 16, 16)
    labels = torch.tensor([0, 1, 3])
    out = d(x, labels)
    assert out.shape == (3,)
    h = d.main(x).flatten(1)
    expected = d.fc(h).squeeze(1) + (d.embed(labels) * h).sum(1)
    torch.testing.assert_close(out, expected)
    assert d.embed.weight.shape == (4, h.shape[1])
    with pytest.raises(ValueError, match="needs labels"):
        d(x)


def test_dcgan_init() -> None:
    torch.manual_seed(0)
    d = DCGANCritic(ndf=64, resolution=32, norm="gn")
    g = DCGANGenerator(nz=100, ngf=64, resolution=32)
    for model in (d, g):
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) and m.weight.numel() > 10_000:
                assert m.weight.std().item() == pytest.approx(0.02, rel=0.05)
            if isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                assert m.weight.mean().item() == pytest.approx(1.0, abs=0.01)
                assert 0 < m.weight.std().item() < 0.04
            if getattr(m, "bias", None) is not None:
                assert torch.count_nonzero(m.bias) == 0


def test_validation() -> None:
    for bad in (4, 24, 48):
        with pytest.raises(ValueError, match="power of two"):
            DCGANGenerator(resolution=bad)
        with pytest.raises(ValueError, match="power of two"):
            DCGANCritic(resolution=bad)
    with pytest.raises(ValueError, match="unknown critic norm.*'gn'"):
        DCGANCritic(norm="layer")
    with pytest.raises(ValueError, match="expected images"):
        DCGANCritic(ndf=8, resolution=16)(torch.randn(2, 3, 32, 32))

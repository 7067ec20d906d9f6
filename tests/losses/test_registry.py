"""Each registered loss declares its symmetry truthfully: symmetric means dL_G/dy_fake = -dL_D/dy_fake for
every sample (Section 3.1.2), asymmetric means it differs somewhere. The engine's -1 routing relies on it."""

from __future__ import annotations

import pytest
import torch

from dfkd.losses import GAN_LOSSES, KD_OBJECTIVES
from dfkd.losses.registry import AdversarialLoss

ALL = [(GAN_LOSSES, name) for name in GAN_LOSSES.names()] + [(KD_OBJECTIVES, name) for name in KD_OBJECTIVES.names()]


def _fake_derivatives(loss: AdversarialLoss) -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    y_real = torch.randn(64, dtype=torch.float64) if loss.needs_real else None
    y_fake = torch.randn(64, dtype=torch.float64)
    if not loss.needs_real:
        y_fake = y_fake.abs() + 0.1  # distillation outputs are discrepancies, d >= 0
    y_fake.requires_grad_(True)
    params = {"lam": 0.5, "rho": 0.1} if loss.name == "fisher" else {}
    critic_loss, generator_loss = loss.objective(**params).losses(y_real, y_fake)
    (d_critic,) = torch.autograd.grad(critic_loss, y_fake, retain_graph=True)
    (d_generator,) = torch.autograd.grad(generator_loss, y_fake)
    return d_critic, d_generator


@pytest.mark.parametrize(("registry", "name"), ALL, ids=[name for _, name in ALL])
def test_declared_symmetry_matches_the_derivatives(registry, name: str) -> None:  # type: ignore[no-untyped-def]
    loss = registry.get(name)
    d_critic, d_generator = _fake_derivatives(loss)
    reversed_exactly = torch.allclose(d_generator, -d_critic, rtol=1e-12, atol=1e-15)
    assert reversed_exactly == loss.symmetric


def test_unknown_loss_names_the_choices() -> None:
    with pytest.raises(Exception, match="hinge"):
        GAN_LOSSES.get("hnige")

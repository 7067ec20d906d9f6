"""gamma and cotangents: the catalog's closed forms, the eps guard for dead/tiny derivatives, finiteness."""

from __future__ import annotations

import math

import pytest
import torch

from dfkd.engine import asymmetric_scales, symmetric_scales
from dfkd.engine.derivatives import output_derivatives
from dfkd.losses import GAN_LOSSES

sp = torch.nn.functional.softplus
sig = torch.sigmoid

# Closed forms from gan_losses.md: (dL_D^f/dy, dL_G/dy) per sample, batch mean factor 1/B omitted.
LAM, RHO = 0.5, 0.1


def _fisher(y: torch.Tensor, yr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    c = 1 - 0.5 * ((yr**2).mean() + (y**2).mean())
    return 1 + (LAM - RHO * c) * y, -torch.ones_like(y)


CLOSED_FORMS = {
    "minimax": lambda y, yr: (sig(y), -sig(y)),
    "nonsaturating": lambda y, yr: (sig(y), -sig(-y)),
    "wgan": lambda y, yr: (torch.ones_like(y), -torch.ones_like(y)),
    "lsgan": lambda y, yr: (y, y - 1),
    "hinge": lambda y, yr: ((y > -1).to(y.dtype), -torch.ones_like(y)),
    "relativistic": lambda y, yr: (sig(y - yr), -sig(yr - y)),
    "fisher": _fisher,
    "bgan": lambda y, yr: (sig(y), y),
}
PARAMS = {"fisher": {"lam": LAM, "rho": RHO}}


def test_every_registered_gan_loss_has_a_closed_form_check() -> None:
    assert set(GAN_LOSSES.names()) - {"relativistic_average"} == set(CLOSED_FORMS)


@pytest.mark.parametrize("name", sorted(CLOSED_FORMS))
def test_autograd_derivatives_match_catalog(name: str) -> None:
    torch.manual_seed(1)
    y = torch.linspace(-6, 6, 25, dtype=torch.float64)
    yr = torch.randn(25, dtype=torch.float64)
    d = output_derivatives(GAN_LOSSES.get(name).objective(**PARAMS.get(name, {})), yr, y)
    expected_critic, expected_generator = CLOSED_FORMS[name](y, yr)
    batch = y.numel()
    torch.testing.assert_close(d.d_critic_fake * batch, expected_critic, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(d.d_generator_fake * batch, expected_generator, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", [n for n in GAN_LOSSES.names() if GAN_LOSSES.get(n).symmetric])
def test_symmetric_losses_really_are_symmetric(name: str) -> None:
    y = torch.linspace(-5, 5, 11, dtype=torch.float64)
    d = output_derivatives(GAN_LOSSES.get(name).objective(), torch.zeros(11, dtype=torch.float64), y)
    torch.testing.assert_close(d.d_generator_fake, -d.d_critic_fake, rtol=1e-14, atol=0)


def test_nonsaturating_gamma_is_minus_exp_minus_y() -> None:
    y = torch.linspace(-8, 8, 17, dtype=torch.float64)
    d = output_derivatives(GAN_LOSSES.get("nonsaturating").objective(), torch.zeros_like(y), y)
    scales = asymmetric_scales(d.d_critic_fake, d.d_generator_fake, torch.float64)
    assert not scales.guarded.any()
    torch.testing.assert_close(scales.gamma, -torch.exp(-y), rtol=1e-12, atol=0)


def test_symmetric_scales_are_minus_one_and_keep_cotangent() -> None:
    d = torch.tensor([0.0, 0.5, -2.0])
    scales = symmetric_scales(d)
    assert torch.equal(scales.gamma, torch.full((3,), -1.0))
    assert torch.equal(scales.cotangent, d)
    assert not scales.guarded.any()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dead_samples_get_eps_cotangent_and_exact_generator_scale(dtype: torch.dtype) -> None:
    d_critic = torch.tensor([0.25, 0.0, 0.125, 0.0], dtype=dtype)  # two dead samples (hinge y <= -1)
    d_generator = torch.tensor([-0.25, -0.25, -0.25, -0.25], dtype=dtype)
    scales = asymmetric_scales(d_critic, d_generator, dtype)
    assert scales.guarded.tolist() == [False, True, False, True]
    eps = scales.cotangent[1]
    assert eps > 0 and eps < 0.25 * 2.0**-20
    assert math.log2(float(eps)).is_integer()  # a power of two: exact products
    # gradient delivered = cotangent * gamma = dL_G/dy, exactly
    assert torch.equal(scales.cotangent * scales.gamma, d_generator)


def test_tiny_derivatives_from_saturated_logits_are_guarded_and_finite() -> None:
    y = torch.tensor([0.0, -100.0, -1000.0, 100.0, 1000.0], dtype=torch.float32)
    d = output_derivatives(GAN_LOSSES.get("nonsaturating").objective(), torch.zeros_like(y), y)
    scales = asymmetric_scales(d.d_critic_fake, d.d_generator_fake, torch.float32)
    assert scales.gamma.isfinite().all() and scales.cotangent.isfinite().all()
    assert scales.guarded.tolist() == [False, True, True, False, False]
    torch.testing.assert_close(scales.cotangent * scales.gamma, d.d_generator_fake, rtol=1e-6, atol=0)


def test_all_dead_batch_still_finite() -> None:
    d_critic = torch.zeros(4)
    d_generator = torch.full((4,), -0.25)
    scales = asymmetric_scales(d_critic, d_generator, torch.float32)
    assert scales.guarded.all()
    assert scales.gamma.isfinite().all()
    torch.testing.assert_close(scales.cotangent * scales.gamma, d_generator)


def test_drop_guard_for_coupled_critics_zeroes_weak_samples_and_keeps_cotangent() -> None:
    d_critic = torch.tensor([0.5, 0.0, 1e-6, 0.25])
    d_generator = torch.tensor([-1.0, -1.0, -1.0, -1.0])
    scales = asymmetric_scales(d_critic, d_generator, torch.float32, per_sample_critic=False)
    assert torch.equal(scales.cotangent, d_critic)
    assert scales.guarded.tolist() == [False, True, True, False]
    assert scales.gamma.tolist() == [-2.0, 0.0, 0.0, -4.0]


def test_overflowing_gamma_is_dropped_not_propagated() -> None:
    d_critic = torch.tensor([1.0, 1.0])
    d_generator = torch.tensor([-1.0, float("inf")])
    scales = asymmetric_scales(d_critic, d_generator, torch.float32)
    assert scales.gamma.isfinite().all()
    assert scales.guarded.tolist() == [False, True]

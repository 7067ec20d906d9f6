"""The heart of the engine: one-stage updates equal two exact backward passes, in float64.

For every registered loss, on a per-sample critic (GroupNorm), with outputs placed where each loss is
hazardous (hinge dead zone, saturated logits, LSGAN at y = 0 and y = 1, FisherGAN's pole), the one-stage
step's gradients for both networks match the reference to 1e-10. With a train-mode BatchNorm critic,
symmetric losses stay exact and asymmetric ones are measurably inexact (and the engine warns or refuses).
"""

from __future__ import annotations

import warnings

import pytest
import torch

from dfkd.audit import HAZARD_RANGES, LOSS_PARAMS
from dfkd.engine import (
    AdversarialBatch,
    AdversarialEngine,
    CouplingError,
    CouplingWarning,
    EngineConfig,
    GradientRecorder,
    reference_gradients,
    relative_error,
)
from dfkd.losses import GAN_LOSSES
from tests.engine.helpers import make_pair, spread_outputs

F64 = torch.float64


def _one_stage_vs_reference(name: str, norm: str, config: EngineConfig = EngineConfig()):
    generator, critic = make_pair(norm)
    torch.manual_seed(1)
    batch = AdversarialBatch(z=torch.randn(32, 4, dtype=F64), real=torch.randn(32, 3, 8, 8, dtype=F64))
    with torch.no_grad():
        fake = generator(batch.z)
    spread_outputs(critic, fake, *HAZARD_RANGES[name])
    objective = GAN_LOSSES.get(name).objective(**LOSS_PARAMS.get(name, {}))
    reference = reference_gradients(generator, critic, objective, batch)
    gen_rec, critic_rec = GradientRecorder(generator.parameters()), GradientRecorder(critic.parameters())
    engine = AdversarialEngine(generator, critic, objective, gen_rec, critic_rec, config)
    stats = engine.one_stage_step(batch)
    assert not stats.skipped
    return (
        relative_error(critic_rec.grads, reference.critic),
        relative_error(gen_rec.grads, reference.generator),
        stats,
    )


@pytest.mark.parametrize("name", GAN_LOSSES.names())
def test_one_stage_is_exact_on_per_sample_critic(name: str) -> None:
    critic_err, generator_err, stats = _one_stage_vs_reference(name, "gn")
    assert critic_err <= 1e-10, critic_err
    assert generator_err <= 1e-10, generator_err
    assert stats.exact is True


@pytest.mark.parametrize("name", ["hinge", "lsgan", "nonsaturating", "relativistic", "bgan"])
def test_hazard_ranges_really_contain_guarded_samples(name: str) -> None:
    _, _, stats = _one_stage_vs_reference(name, "gn")
    assert stats.guarded_count > 0


def test_hinge_dead_zone_majority_still_exact() -> None:
    critic_err, generator_err, stats = _one_stage_vs_reference("hinge", "gn")
    assert stats.guarded_count >= 8  # outputs span [-3, 1]: about half are at or below -1
    assert critic_err <= 1e-10 and generator_err <= 1e-10


@pytest.mark.parametrize("name", [n for n in GAN_LOSSES.names() if GAN_LOSSES.get(n).symmetric])
def test_symmetric_losses_exact_even_with_batchnorm_critic(name: str) -> None:
    critic_err, generator_err, stats = _one_stage_vs_reference(name, "bn")
    assert critic_err <= 1e-10 and generator_err <= 1e-10
    assert stats.exact is True


@pytest.mark.parametrize("name", [n for n in GAN_LOSSES.names() if not GAN_LOSSES.get(n).symmetric])
def test_asymmetric_losses_inexact_with_batchnorm_critic_and_warned(name: str) -> None:
    with pytest.warns(CouplingWarning, match="approximate"):
        critic_err, generator_err, stats = _one_stage_vs_reference(name, "bn")
    assert critic_err <= 1e-10  # the critic always gets exactly dL_D (drop guard injects nothing)
    assert generator_err > 1e-3  # measurably wrong generator gradient
    assert stats.exact is False
    assert torch.isfinite(stats.gamma).all()


def test_coupling_error_policy_refuses() -> None:
    with pytest.raises(CouplingError, match="BatchNorm|couples"):
        _one_stage_vs_reference("nonsaturating", "bn", EngineConfig(coupling="error"))


def test_eval_mode_batchnorm_is_per_sample() -> None:
    generator, critic = make_pair("bn")
    critic.eval()
    objective = GAN_LOSSES.get("nonsaturating").objective()
    batch = AdversarialBatch(z=torch.randn(8, 4, dtype=F64), real=torch.randn(8, 3, 8, 8, dtype=F64))
    reference = reference_gradients(generator, critic, objective, batch)
    gen_rec, critic_rec = GradientRecorder(generator.parameters()), GradientRecorder(critic.parameters())
    engine = AdversarialEngine(generator, critic, objective, gen_rec, critic_rec)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CouplingWarning)
        engine.one_stage_step(batch)
    assert relative_error(gen_rec.grads, reference.generator) <= 1e-10
    assert "exact" in engine.exactness() and "approximate" not in engine.exactness()


def test_parameter_updates_match_with_real_sgd() -> None:
    """Same statement through a real optimiser: SGD(lr) updates equal lr * reference gradients."""
    generator, critic = make_pair("gn")
    batch = AdversarialBatch(z=torch.randn(16, 4, dtype=F64), real=torch.randn(16, 3, 8, 8, dtype=F64))
    objective = GAN_LOSSES.get("hinge").objective()
    reference = reference_gradients(generator, critic, objective, batch)
    before_g = [p.detach().clone() for p in generator.parameters()]
    before_d = [p.detach().clone() for p in critic.parameters()]
    lr = 0.5
    engine = AdversarialEngine(
        generator,
        critic,
        objective,
        torch.optim.SGD(generator.parameters(), lr=lr),
        torch.optim.SGD(critic.parameters(), lr=lr),
    )
    engine.one_stage_step(batch)
    for before, param, grad in zip(before_g, generator.parameters(), reference.generator, strict=True):
        torch.testing.assert_close(before - param.detach(), lr * grad, rtol=1e-9, atol=1e-14)
    for before, param, grad in zip(before_d, critic.parameters(), reference.critic, strict=True):
        torch.testing.assert_close(before - param.detach(), lr * grad, rtol=1e-9, atol=1e-14)

"""Numerical hazards: extreme logits, half precision, and non-finite steps never reach a parameter."""

from __future__ import annotations

import pytest
import torch

from dfkd.audit import LOSS_PARAMS
from dfkd.engine import AdversarialBatch, AdversarialEngine, CouplingWarning, EngineConfig, NonFiniteError
from dfkd.losses import GAN_LOSSES
from tests.engine.helpers import make_pair, spread_outputs


def _params(*modules: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for m in modules for p in m.parameters()]


def _all_finite(*modules: torch.nn.Module) -> bool:
    tensors = [t for m in modules for t in list(m.parameters()) + list(m.buffers()) if t.is_floating_point()]
    return all(bool(t.isfinite().all()) for t in tensors)


def _engine(name: str, norm: str = "gn", config: EngineConfig = EngineConfig(), dtype=torch.float32):
    generator, critic = make_pair(norm, dtype=dtype)
    objective = GAN_LOSSES.get(name).objective(**LOSS_PARAMS.get(name, {}))
    engine = AdversarialEngine(
        generator,
        critic,
        objective,
        torch.optim.Adam(generator.parameters(), lr=1e-3),
        torch.optim.Adam(critic.parameters(), lr=1e-3),
        config,
    )
    return engine, generator, critic


@pytest.mark.parametrize("magnitude", [100.0, 1000.0])
@pytest.mark.parametrize("name", GAN_LOSSES.names())
def test_extreme_float32_logits_never_produce_nonfinite_parameters(name: str, magnitude: float) -> None:
    engine, generator, critic = _engine(name)
    torch.manual_seed(3)
    for _ in range(3):
        batch = AdversarialBatch(z=torch.randn(16, 4), real=torch.randn(16, 3, 8, 8))
        with torch.no_grad():
            spread_outputs(critic, generator(batch.z), -magnitude, magnitude)
        engine.one_stage_step(batch)
        engine.two_stage_step(batch)
        assert _all_finite(generator, critic), name


@pytest.mark.parametrize("name", ["nonsaturating", "hinge", "lsgan"])
def test_saturated_float32_generator_gradient_is_still_exact_in_direction(name: str) -> None:
    """At logits of -100 sigma underflows to a float32 denormal: the guard still delivers dL_G exactly."""
    from dfkd.engine import GradientRecorder, reference_gradients, relative_error

    generator, critic = make_pair("gn", dtype=torch.float32)
    batch = AdversarialBatch(z=torch.randn(16, 4), real=torch.randn(16, 3, 8, 8))
    with torch.no_grad():
        spread_outputs(critic, generator(batch.z), -100.0, -20.0)
    objective = GAN_LOSSES.get(name).objective()
    reference = reference_gradients(generator, critic, objective, batch)
    gen_rec, critic_rec = GradientRecorder(generator.parameters()), GradientRecorder(critic.parameters())
    AdversarialEngine(generator, critic, objective, gen_rec, critic_rec).one_stage_step(batch)
    assert relative_error(gen_rec.grads, reference.generator) < 1e-4


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("name", ["nonsaturating", "hinge", "wgan", "relativistic"])
def test_autocast_steps_update_and_stay_finite(name: str, dtype: torch.dtype) -> None:
    engine, generator, critic = _engine(name, config=EngineConfig(autocast_dtype=dtype))
    assert engine.scaler.is_enabled() == (dtype == torch.float16)
    before = _params(generator, critic)
    torch.manual_seed(0)
    for _ in range(4):
        batch = AdversarialBatch(z=torch.randn(16, 4), real=torch.randn(16, 3, 8, 8))
        with torch.no_grad():
            spread_outputs(critic, generator(batch.z), -12.0, 12.0)  # e^12 overflows float16
        engine.one_stage_step(batch)
        engine.two_stage_step(batch)
    assert _all_finite(generator, critic)
    after = _params(generator, critic)
    assert any(not torch.equal(a, b) for a, b in zip(before, after, strict=True))


def test_nonfinite_loss_skips_step_and_restores_buffers() -> None:
    engine, generator, critic = _engine("nonsaturating", norm="bn")
    params_before = _params(generator, critic)
    buffers_before = [b.clone() for m in (generator, critic) for b in m.buffers()]
    batch = AdversarialBatch(z=torch.randn(8, 4), real=torch.full((8, 3, 8, 8), float("nan")))
    with pytest.warns(CouplingWarning, match="approximate"):  # asymmetric loss on a BatchNorm critic
        stats = engine.one_stage_step(batch)
    assert stats.skipped and "non-finite" in stats.skip_reason
    assert all(torch.equal(a, b) for a, b in zip(params_before, _params(generator, critic), strict=True))
    buffers_after = [b for m in (generator, critic) for b in m.buffers()]
    assert all(torch.equal(a, b) for a, b in zip(buffers_before, buffers_after, strict=True))
    assert engine.skips.total == 1 and engine.skips.consecutive == 1
    # a good step afterwards resets the consecutive count and updates
    engine.one_stage_step(AdversarialBatch(z=torch.randn(8, 4), real=torch.randn(8, 3, 8, 8)))
    assert engine.skips.consecutive == 0 and engine.skips.total == 1
    assert _all_finite(generator, critic)


def test_nonfinite_gradient_is_skipped() -> None:
    engine, generator, critic = _engine("wgan")
    hook = critic.head.weight.register_hook(lambda g: g * float("inf"))
    before = _params(generator, critic)
    stats = engine.one_stage_step(AdversarialBatch(z=torch.randn(8, 4), real=torch.randn(8, 3, 8, 8)))
    hook.remove()
    assert stats.skipped and stats.skip_reason == "non-finite gradient"
    assert all(torch.equal(a, b) for a, b in zip(before, _params(generator, critic), strict=True))


def test_consecutive_skips_stop_the_run_with_a_clear_error() -> None:
    engine, _, _ = _engine("hinge", config=EngineConfig(max_consecutive_skips=3))
    bad = AdversarialBatch(z=torch.randn(8, 4), real=torch.full((8, 3, 8, 8), float("inf")))
    engine.one_stage_step(bad)
    engine.critic_step(bad)
    with pytest.raises(NonFiniteError, match="3 consecutive steps were skipped"):
        engine.one_stage_step(bad)


def test_engine_state_round_trip() -> None:
    engine, _, _ = _engine("hinge", config=EngineConfig(autocast_dtype=torch.float16))
    engine.one_stage_step(AdversarialBatch(z=torch.randn(8, 4), real=torch.full((8, 3, 8, 8), float("nan"))))
    state = engine.state_dict()
    other, _, _ = _engine("hinge", config=EngineConfig(autocast_dtype=torch.float16))
    other.load_state_dict(state)
    assert other.skips.total == 1 and other.scaler.state_dict() == engine.scaler.state_dict()

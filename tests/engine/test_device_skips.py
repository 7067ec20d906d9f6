"""Skips decided on the device: fused optimisers masked with found_inf, buffers restored with torch.where, the
consecutive-skip limit enforced when the caller checks -- and none of it synchronises with the host."""

from __future__ import annotations

import pytest
import torch

from dfkd.diagnostics import count_host_syncs
from dfkd.engine import AdversarialBatch, AdversarialEngine, EngineConfig, NonFiniteError
from dfkd.engine.safety import masked_step
from dfkd.losses import GAN_LOSSES
from tests.engine.helpers import make_pair

GOOD = lambda: AdversarialBatch(z=torch.randn(8, 4), real=torch.randn(8, 3, 8, 8))  # noqa: E731
BAD = lambda: AdversarialBatch(z=torch.randn(8, 4), real=torch.full((8, 3, 8, 8), float("nan")))  # noqa: E731


def _fused_engine(name: str = "wgan", norm: str = "gn", optimizer: str = "adam", **config: object):
    generator, critic = make_pair(norm, dtype=torch.float32)
    make = {
        "adam": lambda ps: torch.optim.Adam(ps, lr=1e-3, fused=True),
        "sgd": lambda ps: torch.optim.SGD(ps, lr=1e-2, momentum=0.9, fused=True),
    }[optimizer]
    engine = AdversarialEngine(
        generator,
        critic,
        GAN_LOSSES.get(name).objective(),
        make(list(generator.parameters())),
        make(list(critic.parameters())),
        EngineConfig(**config),  # type: ignore[arg-type]
    )
    return engine, generator, critic


def _state(engine: AdversarialEngine) -> list[torch.Tensor]:
    tensors = [t for m in (engine.generator, engine.critic) for t in (*m.parameters(), *m.buffers())]
    for optimizer in (engine.generator_optimizer, engine.critic_optimizer):
        tensors += [v for s in optimizer.state.values() for v in s.values() if isinstance(v, torch.Tensor)]
    return [t.detach().clone() for t in tensors]


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_steps_never_synchronise_with_fused_optimisers_and_caller_checks(optimizer: str) -> None:
    engine, _, _ = _fused_engine(optimizer=optimizer, norm="bn", skip_check="caller")
    torch.manual_seed(0)
    with count_host_syncs() as syncs:
        engine.one_stage_step(GOOD())
        engine.two_stage_step(BAD())
        engine.critic_step(GOOD())
        engine.generator_step(GOOD())
    assert syncs.total == 0


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_a_skipped_first_step_leaves_parameters_state_and_buffers_as_never_stepped(optimizer: str) -> None:
    """Masking via found_inf: Adam's moments and step counters, SGD's momentum buffers stay as before any step."""
    engine, generator, critic = _fused_engine(optimizer=optimizer, name="nonsaturating", norm="bn", coupling="ignore")
    twin, twin_g, twin_c = _fused_engine(optimizer=optimizer, name="nonsaturating", norm="bn", coupling="ignore")
    twin_g.load_state_dict(generator.state_dict())
    twin_c.load_state_dict(critic.state_dict())
    before = _state(engine)
    stats = engine.one_stage_step(BAD())
    assert stats.skipped and stats.skip_reason == "non-finite loss or output derivative"
    after = _state(engine)
    assert all(torch.equal(a, b) for a, b in zip(before, after[: len(before)], strict=False))
    assert all(not t.any() for t in after[len(before) :] if t.dim() > 0)  # zero moments / momentum buffers
    # the next good step is the same first step as on an engine that never skipped
    torch.manual_seed(1)
    engine.one_stage_step(GOOD())
    torch.manual_seed(1)
    twin.one_stage_step(GOOD())
    assert all(torch.equal(a, b) for a, b in zip(_state(engine), _state(twin), strict=True))


def test_caller_mode_raises_at_the_check_after_the_limit() -> None:
    engine, _, _ = _fused_engine(max_consecutive_skips=3, skip_check="caller")
    for _ in range(5):
        engine.one_stage_step(BAD())  # no error yet: nothing reads the counter
    assert engine.skips.total == 5 and engine.skips.consecutive == 5
    with pytest.raises(NonFiniteError, match=r"5 consecutive steps were skipped .*last: one update: non-finite loss"):
        engine.check_skips()


def test_caller_check_sees_a_run_of_skips_that_ended_before_it() -> None:
    engine, _, _ = _fused_engine(max_consecutive_skips=3, skip_check="caller")
    for _ in range(3):
        engine.critic_step(BAD())
    engine.one_stage_step(GOOD())  # recovered, but the limit was reached in between
    assert engine.skips.consecutive == 0
    with pytest.raises(NonFiniteError, match="3 consecutive steps"):
        engine.check_skips()
    engine.check_skips()  # the next check only looks at what came after


def test_skip_counters_survive_a_checkpoint() -> None:
    engine, _, _ = _fused_engine(max_consecutive_skips=4, skip_check="caller")
    engine.one_stage_step(BAD())
    engine.one_stage_step(BAD())
    other, _, _ = _fused_engine(max_consecutive_skips=4, skip_check="caller")
    other.load_state_dict(engine.state_dict())
    other.one_stage_step(BAD())
    other.one_stage_step(BAD())
    with pytest.raises(NonFiniteError, match="4 consecutive"):
        other.check_skips()


def test_non_fused_optimisers_fall_back_to_one_host_read() -> None:
    p = torch.nn.Parameter(torch.ones(2))
    opt = torch.optim.RMSprop([p], lr=0.1)
    p.grad = torch.ones(2)
    with count_host_syncs() as syncs:
        masked_step(opt, torch.tensor(True))
    assert syncs.total == 1 and torch.equal(p.detach(), torch.ones(2)) and not opt.state[p]
    masked_step(opt, torch.tensor(False))
    assert not torch.equal(p.detach(), torch.ones(2))


def test_statistics_of_a_round_stay_on_the_device() -> None:
    from dfkd.engine import summarize

    engine, _, _ = _fused_engine(name="hinge", skip_check="caller")
    with count_host_syncs() as syncs:
        scalars = summarize([engine.critic_step(GOOD()), engine.one_stage_step(GOOD())])
    assert syncs.total == 0
    expected = {"critic_loss", "generator_loss", "gamma_mean", "gamma_min", "gamma_max", "guarded", "skipped"}
    assert expected <= set(scalars)
    assert float(scalars["skipped"]) == 0.0 and float(scalars["gamma_max"]) == -1.0  # hinge, no dead samples here


def test_gamma_statistics_of_a_skipped_update_are_nan() -> None:
    engine, _, _ = _fused_engine(name="hinge")
    scalars = engine.one_stage_step(BAD()).scalars()
    assert float(scalars["skipped"]) == 1.0
    assert all(torch.isnan(scalars[k]) for k in ("gamma_mean", "gamma_min", "gamma_max"))

"""Structure of the updates: how many forwards and backwards each kind of step runs (no timing)."""

from __future__ import annotations

from collections import Counter

import pytest
import torch

from dfkd.engine import AdversarialBatch, AdversarialEngine, GradientRouter, one_stage_round, two_stage_round
from dfkd.losses import GAN_LOSSES
from tests.engine.helpers import make_pair

# register_full_backward_hook warns when a generator-only backward does not ask for input gradients.
pytestmark = pytest.mark.filterwarnings("ignore:Full backward hook is firing")


class PassCounter:
    """Counts generator/critic forwards, module backwards and calls of torch.autograd.backward."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, generator: torch.nn.Module, critic: torch.nn.Module):
        self.counts: Counter[str] = Counter()
        generator.register_forward_hook(lambda *a: self.counts.update(["G.forward"]))
        critic.register_forward_hook(lambda *a: self.counts.update(["D.forward"]))
        generator.register_full_backward_hook(lambda *a: self.counts.update(["G.backward"]))
        critic.register_full_backward_hook(lambda *a: self.counts.update(["D.backward"]))
        original = torch.autograd.backward

        def counting_backward(*args, **kwargs):
            self.counts.update(["autograd.backward"])
            return original(*args, **kwargs)

        monkeypatch.setattr(torch.autograd, "backward", counting_backward)


def _setup(monkeypatch: pytest.MonkeyPatch, loss: str = "nonsaturating"):
    generator, critic = make_pair("gn", dtype=torch.float32)
    counter = PassCounter(monkeypatch, generator, critic)
    steps: Counter[str] = Counter()
    opt_g = torch.optim.SGD(generator.parameters(), lr=0.01)
    opt_d = torch.optim.SGD(critic.parameters(), lr=0.01)
    opt_g.register_step_post_hook(lambda *a: steps.update(["G.step"]))
    opt_d.register_step_post_hook(lambda *a: steps.update(["D.step"]))
    engine = AdversarialEngine(generator, critic, GAN_LOSSES.get(loss).objective(), opt_g, opt_d)
    batch = AdversarialBatch(z=torch.randn(8, 4), real=torch.randn(8, 3, 8, 8))
    return engine, batch, counter.counts, steps


def test_one_stage_runs_one_generator_forward_and_one_backward(monkeypatch: pytest.MonkeyPatch) -> None:
    engine, batch, counts, steps = _setup(monkeypatch)
    engine.one_stage_step(batch)
    assert counts["autograd.backward"] == 1
    assert counts["G.forward"] == 1 and counts["G.backward"] == 1
    assert counts["D.forward"] == 2  # real batch and fake batch
    assert counts["D.backward"] == 2  # each forward's graph traversed once, in the same backward
    assert steps == Counter({"G.step": 1, "D.step": 1})


def test_two_stage_runs_the_expected_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    engine, batch, counts, steps = _setup(monkeypatch)
    engine.two_stage_step(batch)
    assert counts["autograd.backward"] == 2  # critic update, then generator update
    assert counts["G.forward"] == 1 and counts["G.backward"] == 1  # the generator forward is reused
    assert counts["D.forward"] == 3  # real + detached fake, then fake again for the generator
    assert counts["D.backward"] == 3
    assert steps == Counter({"G.step": 1, "D.step": 1})


def test_relativistic_generator_update_rescores_the_real_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    engine, batch, counts, _ = _setup(monkeypatch, loss="relativistic")
    engine.two_stage_step(batch)
    assert counts["D.forward"] == 4  # + real batch under no_grad against the updated critic
    assert counts["D.backward"] == 3


def test_k_critic_steps_per_generator_step(monkeypatch: pytest.MonkeyPatch) -> None:
    engine, batch, counts, steps = _setup(monkeypatch)
    stats = one_stage_round(engine, lambda: batch, critic_steps=3)
    assert [s.kind for s in stats] == ["critic", "critic", "one"]
    assert counts["autograd.backward"] == 3 and counts["G.forward"] == 3 and counts["G.backward"] == 1
    assert steps == Counter({"G.step": 1, "D.step": 3})


def test_two_stage_round_without_reuse_draws_a_fresh_generator_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    engine, batch, counts, steps = _setup(monkeypatch)
    stats = two_stage_round(engine, lambda: batch, critic_steps=5, reuse_fake=False)
    assert [s.kind for s in stats] == ["critic"] * 5 + ["generator"]
    assert counts["G.forward"] == 6 and counts["autograd.backward"] == 6
    assert steps == Counter({"G.step": 1, "D.step": 5})
    with pytest.raises(ValueError, match="critic_steps"):
        two_stage_round(engine, lambda: batch, critic_steps=0)


def test_generator_only_step_leaves_critic_gradients_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    engine, batch, _, _ = _setup(monkeypatch)
    engine.generator_step(batch)
    assert all(p.grad is None for p in engine.critic.parameters())
    assert any(p.grad is not None for p in engine.generator.parameters())


def test_router_refuses_backward_before_scale_is_set() -> None:
    x = torch.randn(2, 3, requires_grad=True)
    routed = GradientRouter().attach(x)
    with pytest.raises(RuntimeError, match="before the step set its scale"):
        routed.sum().backward()


def test_router_multiplies_half_precision_gradients_in_float32() -> None:
    x = torch.ones(2, 3, dtype=torch.float16, requires_grad=True)
    router = GradientRouter()
    y = router.attach(x)
    router.set_scale(torch.tensor([2.0**20, -1.0]))  # 2^20 overflows float16, the product does not
    (y * torch.tensor(2.0**-16, dtype=torch.float16)).sum().backward()
    assert x.grad is not None and x.grad.dtype == torch.float16
    assert x.grad[0].tolist() == [16.0] * 3 and x.grad[1].tolist() == [-(2.0**-16)] * 3


def test_critic_must_return_one_score_per_sample() -> None:
    generator, _ = make_pair("gn", dtype=torch.float32)
    critic = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(192, 2))
    engine = AdversarialEngine(
        generator,
        critic,
        GAN_LOSSES.get("wgan").objective(),
        torch.optim.SGD(generator.parameters(), lr=0.1),
        torch.optim.SGD(critic.parameters(), lr=0.1),
    )
    with pytest.raises(ValueError, match="one scalar per sample"):
        engine.one_stage_step(AdversarialBatch(z=torch.randn(4, 4), real=torch.randn(4, 3, 8, 8)))

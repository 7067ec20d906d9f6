"""Two-stage updates built from the same parts: the critic step matches the reference; the generator step
sees the updated critic."""

from __future__ import annotations

import copy

import torch

from dfkd.engine import AdversarialBatch, AdversarialEngine, GradientRecorder, reference_gradients, relative_error
from dfkd.losses import GAN_LOSSES, gradient_penalty
from tests.engine.helpers import make_pair

F64 = torch.float64


def test_first_critic_update_identical_in_both_stages() -> None:
    generator, critic = make_pair("gn")
    batch = AdversarialBatch(z=torch.randn(16, 4, dtype=F64), real=torch.randn(16, 3, 8, 8, dtype=F64))
    objective = GAN_LOSSES.get("hinge").objective()
    recorders = {}
    for stage in ("one", "two"):
        g, d = copy.deepcopy(generator), copy.deepcopy(critic)
        rec_g, rec_d = GradientRecorder(g.parameters()), GradientRecorder(d.parameters())
        engine = AdversarialEngine(g, d, objective, rec_g, rec_d)
        engine.one_stage_step(batch) if stage == "one" else engine.two_stage_step(batch)
        recorders[stage] = rec_d.grads
    assert relative_error(recorders["one"], recorders["two"]) <= 1e-12


def test_two_stage_generator_update_uses_the_updated_critic() -> None:
    generator, critic = make_pair("gn")
    batch = AdversarialBatch(z=torch.randn(16, 4, dtype=F64), real=torch.randn(16, 3, 8, 8, dtype=F64))
    objective = GAN_LOSSES.get("nonsaturating").objective()
    lr = 0.1
    g, d = copy.deepcopy(generator), copy.deepcopy(critic)
    rec_g = GradientRecorder(g.parameters())
    engine = AdversarialEngine(g, d, objective, rec_g, torch.optim.SGD(d.parameters(), lr=lr))
    engine.two_stage_step(batch)
    # reference: step the critic by hand, then take L_G's gradient against it
    updated = copy.deepcopy(critic)
    ref_before = reference_gradients(generator, critic, objective, batch)
    with torch.no_grad():
        for p, grad in zip(updated.parameters(), ref_before.critic, strict=True):
            p -= lr * grad
    ref_after = reference_gradients(copy.deepcopy(generator), updated, objective, batch)
    assert relative_error(rec_g.grads, ref_after.generator) <= 1e-10
    assert relative_error(rec_g.grads, ref_before.generator) > 1e-6  # differs from one-stage by design


def test_gradient_penalty_never_reaches_the_generator() -> None:
    generator, critic = make_pair("gn")
    batch = AdversarialBatch(z=torch.randn(8, 4, dtype=F64), real=torch.randn(8, 3, 8, 8, dtype=F64))
    objective = GAN_LOSSES.get("wgan").objective()
    torch.manual_seed(5)
    reference = reference_gradients(generator, critic, objective, batch, critic_penalty=gradient_penalty)
    rec_g, rec_d = GradientRecorder(generator.parameters()), GradientRecorder(critic.parameters())
    engine = AdversarialEngine(generator, critic, objective, rec_g, rec_d, critic_penalty=gradient_penalty)
    torch.manual_seed(5)
    engine.one_stage_step(batch)
    assert relative_error(rec_g.grads, reference.generator) <= 1e-10
    assert relative_error(rec_d.grads, reference.critic) <= 1e-10

"""Minimal hand-written training rounds on a game's own networks: the reference for the engine's overhead.

They do the arithmetic of the engine's rounds with nothing else: no finiteness checks, skip masks, buffer
snapshots, gradient norms, statistics, loss scaling or coupling checks. One-stage updates route the critic's
gradient into the generator with a tensor hook (-1 for symmetric objectives, the per-sample gamma of Eq. 7
otherwise, without the engine's guard). Each round plan of :mod:`dfkd.diagnostics.pass_costs` has its loop in
:data:`HAND_ROUNDS`. The benchmark times a game's rounds against these: ``engine_overhead = t_engine / t_hand - 1``.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from dfkd.diagnostics.pass_costs import BenchModules
from dfkd.engine import AdversarialBatch
from dfkd.registry import Registry


def _real_scores(m: BenchModules, batch: AdversarialBatch) -> Tensor | None:
    return None if batch.real is None else m.score(batch.real, batch.real_labels)[0]


def _critic_loss(m: BenchModules, batch: AdversarialBatch, fake: Tensor) -> Tensor:
    y_fake, _ = m.score(fake, batch.fake_labels)
    loss, _ = m.objective.losses(_real_scores(m, batch), y_fake)
    if m.critic_penalty is not None:
        loss = loss + m.critic_penalty(m.critic, batch, fake.detach())
    return loss


def critic_update(m: BenchModules, batch: AdversarialBatch, fake: Tensor | None = None) -> None:
    """Textbook critic step on detached fakes."""
    if fake is None:
        with torch.no_grad():
            fake = m.generate(batch)
    m.critic_optimizer.zero_grad(set_to_none=True)
    _critic_loss(m, batch, fake.detach()).backward()
    m.critic_optimizer.step()


def generator_update(m: BenchModules, batch: AdversarialBatch, fake: Tensor | None = None) -> None:
    """Textbook generator step against the current critic."""
    objective = m.objective
    fake = m.generate(batch) if fake is None else fake
    y_fake, aux = m.score(fake, batch.fake_labels)
    y_real = None
    if batch.real is not None:
        with torch.no_grad():
            y_real = _real_scores(m, batch) if objective.generator_uses_real else torch.zeros_like(y_fake)
    _, loss = objective.losses(y_real, y_fake)
    if objective.generator_aux_loss is not None:
        loss = loss + objective.generator_aux_loss(aux)
    if objective.generator_output_loss is not None:
        loss = loss + objective.generator_output_loss(fake)
    m.generator_optimizer.zero_grad(set_to_none=True)
    loss.backward(inputs=m.generator_params)
    m.generator_optimizer.step()


def joint_update(m: BenchModules, batch: AdversarialBatch) -> None:
    """One forward, one backward: the critic's gradient reaches the generator scaled by gamma (a tensor hook)."""
    objective = m.objective
    fake = m.generate(batch)
    routed = fake.view_as(fake)
    y_real = _real_scores(m, batch)
    y_fake, aux = m.score(routed, batch.fake_labels)
    critic_loss, generator_loss = objective.losses(y_real, y_fake)
    if objective.symmetric:
        routed.register_hook(torch.neg)
    else:
        (d_critic,) = torch.autograd.grad(critic_loss, y_fake, retain_graph=True)
        (d_generator,) = torch.autograd.grad(generator_loss, y_fake, retain_graph=True)
        gamma = (d_generator / d_critic).nan_to_num(0.0, 0.0, 0.0).reshape(-1, *[1] * (fake.dim() - 1))
        routed.register_hook(lambda grad: grad * gamma)
    total = critic_loss
    if m.critic_penalty is not None:
        total = total + m.critic_penalty(m.critic, batch, fake.detach())
    if objective.generator_aux_loss is not None:
        total = total - objective.generator_aux_loss(aux)  # reversed by the hook
    if objective.generator_output_loss is not None:
        total = total + objective.generator_output_loss(fake)
    m.critic_optimizer.zero_grad(set_to_none=True)
    m.generator_optimizer.zero_grad(set_to_none=True)
    total.backward()
    m.critic_optimizer.step()
    m.generator_optimizer.step()


def one_stage_round(m: BenchModules) -> None:
    for _ in range(m.critic_steps - 1):
        critic_update(m, m.draw())
    joint_update(m, m.draw())


def two_stage_round(m: BenchModules) -> None:
    for _ in range(m.critic_steps - 1):
        critic_update(m, m.draw())
    batch = m.draw()
    fake = m.generate(batch)
    critic_update(m, batch, fake)
    generator_update(m, batch, fake)


def fresh_two_stage_round(m: BenchModules) -> None:
    for _ in range(m.critic_steps):
        critic_update(m, m.draw())
    generator_update(m, m.draw())


HandRound = Callable[[BenchModules], None]
HAND_ROUNDS: Registry[HandRound] = Registry("hand-written round")
HAND_ROUNDS.add("one-stage", one_stage_round)
HAND_ROUNDS.add("two-stage", two_stage_round)
HAND_ROUNDS.add("fresh-two-stage", fresh_two_stage_round)

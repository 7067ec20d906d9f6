"""Minimal hand-written training rounds on a game's own networks: the reference for the engine's overhead.

They do the arithmetic of the engine's rounds with nothing else: no finiteness checks, skip masks, buffer
snapshots, gradient norms, statistics or coupling checks. One-stage updates route the critic's gradient into the
generator with a tensor hook (-1 for symmetric objectives, the per-sample gamma of Eq. 7 otherwise, without the
engine's guard). In half precision the network forwards run under the game's autocast and the losses in float32,
as in the engine; float16 gradients go through a textbook GradScaler (whose ``step`` reads its inf check on the
host, where the engine masks the step on the device). Each round plan of :mod:`dfkd.diagnostics.pass_costs` has
its loop in :data:`HAND_ROUNDS`. The benchmark times a game's rounds against these:
``engine_overhead = t_engine / t_hand - 1``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import overload

import torch
from torch import Tensor

from dfkd.diagnostics.pass_costs import BenchModules
from dfkd.engine import AdversarialBatch
from dfkd.registry import Registry

_HALF = (torch.float16, torch.bfloat16)


@overload
def _full(scores: Tensor) -> Tensor: ...


@overload
def _full(scores: None) -> None: ...


def _full(scores: Tensor | None) -> Tensor | None:
    """Half-precision scores in float32, for the losses (the engine computes them so too)."""
    return scores.float() if scores is not None and scores.dtype in _HALF else scores


def _real_scores(m: BenchModules, batch: AdversarialBatch) -> tuple[Tensor | None, object]:
    return (None, None) if batch.real is None else m.score(batch.real, batch.real_labels)


def _penalty(m: BenchModules, batch: AdversarialBatch, fake: Tensor) -> Tensor:
    """The critic's penalty outside autocast, in the critic's own precision (as in the engine)."""
    assert m.critic_penalty is not None
    dtype = m.critic_params[0].dtype if m.critic_params else fake.dtype
    with torch.autocast(m.device_type, enabled=False):
        return m.critic_penalty(m.critic, batch, fake.detach().to(dtype))


def _step(m: BenchModules, loss: Tensor, *optimizers: torch.optim.Optimizer, inputs: Sequence[Tensor] = ()) -> None:
    """Backward (to ``inputs`` only, when given) and a step of each optimiser, through the GradScaler."""
    for optimizer in optimizers:
        optimizer.zero_grad(set_to_none=True)
    m.scaler.scale(loss).backward(inputs=list(inputs) or None)
    for optimizer in optimizers:
        m.scaler.step(optimizer)
    m.scaler.update()


def critic_update(m: BenchModules, batch: AdversarialBatch, fake: Tensor | None = None) -> None:
    """Textbook critic step on detached fakes."""
    objective = m.objective
    with m.autocast():
        if fake is None:
            with torch.no_grad():
                fake = m.generate(batch)
        fake = fake.detach()
        y_real, aux_real = _real_scores(m, batch)
        y_fake, aux_fake = m.score(fake, batch.fake_labels)
        aux_loss = None if objective.critic_aux_loss is None else objective.critic_aux_loss(aux_fake, aux_real)
    loss, _ = objective.losses(_full(y_real), _full(y_fake))
    if m.critic_penalty is not None:
        loss = loss + _penalty(m, batch, fake)
    if aux_loss is not None:
        loss = loss + aux_loss
    _step(m, loss, m.critic_optimizer)


def generator_update(m: BenchModules, batch: AdversarialBatch, fake: Tensor | None = None) -> None:
    """Textbook generator step against the current critic (``fake``: a generator forward to reuse)."""
    objective = m.objective
    with m.autocast():
        fake = m.generate(batch) if fake is None else fake
        y_fake, aux = m.score(fake, batch.fake_labels)
        terms = []
        if objective.generator_aux_loss is not None:
            terms.append(objective.generator_aux_loss(aux))
        if objective.generator_output_loss is not None:
            terms.append(objective.generator_output_loss(fake))
        y_real = None
        if batch.real is not None:
            with torch.no_grad():
                y_real = _real_scores(m, batch)[0] if objective.generator_uses_real else torch.zeros_like(y_fake)
    _, loss = objective.losses(_full(y_real), _full(y_fake))
    for term in terms:
        loss = loss + term
    _step(m, loss, m.generator_optimizer, inputs=m.generator_params)


def joint_update(m: BenchModules, batch: AdversarialBatch) -> None:
    """One forward, one backward: the critic's gradient reaches the generator scaled by gamma (a tensor hook)."""
    objective = m.objective
    with m.autocast():
        fake = m.generate(batch)
        routed = fake.view_as(fake)
        y_real, _ = _real_scores(m, batch)
        y_fake, aux = m.score(routed, batch.fake_labels)
        aux_loss = None if objective.generator_aux_loss is None else objective.generator_aux_loss(aux)
        output_loss = None if objective.generator_output_loss is None else objective.generator_output_loss(fake)
    critic_loss, generator_loss = objective.losses(_full(y_real), _full(y_fake))
    if objective.symmetric:
        routed.register_hook(torch.neg)
    else:
        (d_critic,) = torch.autograd.grad(critic_loss, y_fake, retain_graph=True)
        (d_generator,) = torch.autograd.grad(generator_loss, y_fake, retain_graph=True)
        gamma = (d_generator / d_critic).nan_to_num(0.0, 0.0, 0.0).reshape(-1, *[1] * (fake.dim() - 1))
        routed.register_hook(lambda grad: grad * gamma)
    total = critic_loss
    if m.critic_penalty is not None:
        total = total + _penalty(m, batch, fake)
    if aux_loss is not None:
        total = total - aux_loss  # reversed by the hook: +aux_loss for the generator
    if output_loss is not None:
        total = total + output_loss  # taken before the hook: reaches the generator as is
    _step(m, total, m.critic_optimizer, m.generator_optimizer)


def one_stage_round(m: BenchModules) -> None:
    for _ in range(m.critic_steps - 1):
        critic_update(m, m.draw())
    joint_update(m, m.draw())


def two_stage_round(m: BenchModules) -> None:
    for _ in range(m.critic_steps - 1):
        critic_update(m, m.draw())
    batch = m.draw()
    with m.autocast():
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

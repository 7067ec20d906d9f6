"""Exact two-backward reference gradients, to check one-stage updates against.

At the same parameters, the critic's reference gradient is that of L_D with the fakes detached, and the
generator's is that of L_G through the critic with the critic held fixed. Both passes replay the forward
sequence of a one-stage step (generator, real batch, fake batch) from the same buffer state, so stateful
layers (spectral-norm power iteration, BatchNorm running statistics) see what the one-stage step saw.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from dfkd.engine.engine import CriticPenalty
from dfkd.engine.objective import AdversarialBatch, Objective
from dfkd.engine.safety import BufferSnapshot


@dataclass(frozen=True)
class ReferenceGradients:
    critic: list[Tensor]
    generator: list[Tensor]


def _call(module: nn.Module, x: Tensor, labels: Tensor | None) -> Tensor:
    out = module(x) if labels is None else module(x, labels)
    return (out[0] if isinstance(out, tuple) else out).reshape(-1)


def _grads(loss: Tensor, params: list[nn.Parameter]) -> list[Tensor]:
    grads = torch.autograd.grad(loss, params, allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads, strict=True)]


def reference_gradients(
    generator: nn.Module,
    critic: nn.Module,
    objective: Objective,
    batch: AdversarialBatch,
    critic_penalty: CriticPenalty | None = None,
) -> ReferenceGradients:
    """dL_D/dtheta_D and dL_G/dtheta_G from two separate exact backward passes (buffers left unchanged)."""
    critic_params = [p for p in critic.parameters() if p.requires_grad]
    generator_params = [p for p in generator.parameters() if p.requires_grad]
    snapshot = BufferSnapshot([generator, critic])
    snapshot.take()
    gen_args = (batch.z,) if batch.fake_labels is None else (batch.z, batch.fake_labels)

    with torch.no_grad():
        fake = generator(*gen_args)
    y_real = None if batch.real is None else _call(critic, batch.real, batch.real_labels)
    y_fake = _call(critic, fake, batch.fake_labels)
    critic_loss, _ = objective.losses(y_real, y_fake)
    if critic_penalty is not None:
        critic_loss = critic_loss + critic_penalty(critic, batch, fake)
    critic_grads = _grads(critic_loss, critic_params)
    snapshot.restore()

    fake = generator(*gen_args)
    with torch.no_grad():
        y_real = None if batch.real is None else _call(critic, batch.real, batch.real_labels)
    out = critic(fake) if batch.fake_labels is None else critic(fake, batch.fake_labels)
    y_fake = (out[0] if isinstance(out, tuple) else out).reshape(-1)
    _, generator_loss = objective.losses(y_real, y_fake)
    if objective.generator_aux_loss is not None:
        generator_loss = generator_loss + objective.generator_aux_loss(out[1] if isinstance(out, tuple) else None)
    if objective.generator_output_loss is not None:
        generator_loss = generator_loss + objective.generator_output_loss(fake)
    generator_grads = _grads(generator_loss, generator_params)
    snapshot.restore()
    return ReferenceGradients(critic=critic_grads, generator=generator_grads)


def _squared_norm(tensors: Iterable[Tensor]) -> Tensor:
    """Sum of squares over all the tensors, in float64."""
    return torch.stack([(t.double() ** 2).sum() for t in tensors]).sum()


def relative_error(values: list[Tensor], reference: list[Tensor]) -> float:
    """||values - reference|| / ||reference|| over all tensors (absolute error when the reference is 0)."""
    diff = torch.sqrt(_squared_norm(v - r for v, r in zip(values, reference, strict=True)))
    norm = torch.sqrt(_squared_norm(reference))
    return float(diff / norm) if norm > 0 else float(diff)


class GradientRecorder(torch.optim.Optimizer):
    """An "optimiser" whose step records the gradients instead of changing parameters.

    Handing two of these to an engine captures exactly the gradients its update would apply (an SGD step
    with learning rate 1 would subtract them), without the rounding of parameter differences.
    """

    def __init__(self, params: Iterable[nn.Parameter]) -> None:
        super().__init__(params, {})
        self.grads: list[Tensor] = []

    @torch.no_grad()
    def step(self, closure: object = None) -> None:  # type: ignore[override]  # records; never calls a closure
        self.grads = [
            torch.zeros_like(p) if p.grad is None else p.grad.clone()
            for group in self.param_groups
            for p in group["params"]
        ]

"""Loss values and their derivatives at the critic's scalar outputs.

The derivatives are taken by autograd on detached copies of the outputs, so any loss written as a pure
function of the outputs works, including losses that are not separable per sample (relativistic, FisherGAN).
They are computed in float32 (float64 when the model runs in float64) with autocast disabled, whatever
precision the networks use.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from dfkd.engine.objective import Objective


@dataclass(frozen=True)
class OutputDerivatives:
    """L_D, L_G and dL_D/dy_fake, dL_D/dy_real (None without a real batch), dL_G/dy_fake; all detached."""

    critic_loss: Tensor
    generator_loss: Tensor
    d_critic_fake: Tensor
    d_critic_real: Tensor | None
    d_generator_fake: Tensor

    def critic_finite(self) -> bool:
        return all_finite(self.critic_loss, self.d_critic_fake, self.d_critic_real)

    def generator_finite(self) -> bool:
        return all_finite(self.generator_loss, self.d_generator_fake)


def derivative_dtype(output: Tensor) -> torch.dtype:
    """float64 for float64 models, float32 otherwise (half-precision outputs are promoted)."""
    return torch.float64 if output.dtype == torch.float64 else torch.float32


def output_derivatives(objective: Objective, y_real: Tensor | None, y_fake: Tensor) -> OutputDerivatives:
    """Evaluate (L_D, L_G) at detached outputs and differentiate with respect to the outputs."""
    dtype = derivative_dtype(y_fake)
    yf = y_fake.detach().reshape(-1).to(dtype).requires_grad_(True)
    yr = None if y_real is None else y_real.detach().reshape(-1).to(dtype).requires_grad_(True)
    with torch.enable_grad(), torch.autocast(yf.device.type, enabled=False):
        critic_loss, generator_loss = objective.losses(yr, yf)
        wrt = [yf] if yr is None else [yf, yr]
        d_critic = torch.autograd.grad(
            critic_loss, wrt, allow_unused=True, materialize_grads=True, retain_graph=True
        )
        (d_generator,) = torch.autograd.grad(generator_loss, [yf], allow_unused=True, materialize_grads=True)
    return OutputDerivatives(
        critic_loss=critic_loss.detach(),
        generator_loss=generator_loss.detach(),
        d_critic_fake=d_critic[0],
        d_critic_real=d_critic[1] if yr is not None else None,
        d_generator_fake=d_generator,
    )


def all_finite(*tensors: Tensor | None) -> bool:
    """True when every given tensor is finite (one host synchronisation)."""
    parts = [t.isfinite().all() for t in tensors if t is not None]
    return bool(torch.stack(parts).all()) if parts else True

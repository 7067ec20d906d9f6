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

    def critic_nonfinite(self) -> Tensor:
        """0-dim bool on the device: L_D or one of its derivatives is not finite."""
        return any_nonfinite(self.critic_loss, self.d_critic_fake, self.d_critic_real)

    def generator_nonfinite(self) -> Tensor:
        """0-dim bool on the device: L_G or its derivative is not finite."""
        return any_nonfinite(self.generator_loss, self.d_generator_fake)


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
        d_critic = torch.autograd.grad(critic_loss, wrt, allow_unused=True, materialize_grads=True, retain_graph=True)
        (d_generator,) = torch.autograd.grad(generator_loss, [yf], allow_unused=True, materialize_grads=True)
    return OutputDerivatives(
        critic_loss=critic_loss.detach(),
        generator_loss=generator_loss.detach(),
        d_critic_fake=d_critic[0],
        d_critic_real=d_critic[1] if yr is not None else None,
        d_generator_fake=d_generator,
    )


def any_nonfinite(*tensors: Tensor | None) -> Tensor:
    """A 0-dim boolean tensor on the device, true when some given tensor holds a NaN or an infinity.

    Never read by the host (no synchronisation): the engine masks its updates with it. At least one tensor must
    be given (``None`` entries are ignored).
    """
    parts = [t.detach().isfinite().all() for t in tensors if t is not None]
    if not parts:
        raise ValueError("any_nonfinite: no tensor given")
    return ~parts[0] if len(parts) == 1 else ~torch.stack(parts).all()

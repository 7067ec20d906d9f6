"""Critic regularisers computed on detached fakes (so gradient routing can never hand them to the generator).

Each has the engine's penalty signature ``penalty(critic, batch, fake_detached) -> scalar``; bind the weight
with :func:`functools.partial`.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from dfkd.engine.objective import AdversarialBatch


def _scores(critic: nn.Module, x: Tensor, labels: Tensor | None) -> Tensor:
    out = critic(x) if labels is None else critic(x, labels)
    return (out[0] if isinstance(out, tuple) else out).reshape(-1)


def _input_gradient_norms(critic: nn.Module, x: Tensor, labels: Tensor | None) -> Tensor:
    x = x.detach().requires_grad_(True)
    scores = _scores(critic, x, labels)
    (grad,) = torch.autograd.grad(scores.sum(), x, create_graph=True)
    return grad.flatten(1).norm(2, dim=1)


def gradient_penalty(critic: nn.Module, batch: AdversarialBatch, fake: Tensor, weight: float = 10.0) -> Tensor:
    """WGAN-GP (Gulrajani et al. 2017): weight * E[(||grad_x D(x_hat)|| - 1)^2] on random interpolates
    x_hat = a*x_real + (1-a)*x_fake of the real batch and the detached fakes."""
    if batch.real is None:
        raise ValueError("the gradient penalty needs a real batch")
    real = batch.real.to(fake.dtype)
    alpha = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
    mixed = alpha * real + (1 - alpha) * fake.detach()
    norms = _input_gradient_norms(critic, mixed, batch.real_labels)
    return weight * ((norms - 1) ** 2).mean()


def r1_penalty(critic: nn.Module, batch: AdversarialBatch, fake: Tensor, weight: float = 10.0) -> Tensor:
    """R1 (Mescheder et al. 2018): weight/2 * E[||grad_x D(x_real)||^2]; ``fake`` is unused."""
    if batch.real is None:
        raise ValueError("the R1 penalty needs a real batch")
    norms = _input_gradient_norms(critic, batch.real.to(fake.dtype), batch.real_labels)
    return 0.5 * weight * (norms**2).mean()

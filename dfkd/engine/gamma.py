"""Per-sample gradient scales at the fake sample (the paper's gamma, Eq. 7).

For an objective with L_G != -L_D^f the gradient that one backward of L_D delivers at fake sample x_i is
(dL_D/dy_i) * dy_i/dx_i when y_i depends only on x_i. Multiplying it by

    gamma_i = (dL_G/dy_i) / (dL_D/dy_i)                                   (Eq. 7)

gives (dL_G/dy_i) * dy_i/dx_i = dL_G/dx_i, the generator's exact gradient. We scale the L_D gradient itself
rather than using the paper's 1/(1 - gamma) decomposition of Eq. 8-9, which has a pole at gamma = 1 (reached
by LSGAN, BGAN and FisherGAN).

Where dL_D/dy_i is zero (hinge dead zone) or tiny (saturated logits) gamma is undefined or overflows, and the
backward carries no usable gradient to x_i. For those samples -- "guarded" samples -- the cotangent sent into
the critic is replaced by a tiny power of two eps (far below the batch's largest |dL_D/dy|) and the scale by
(dL_G/dy_i) / eps. The generator's gradient stays exact; the critic's gradient changes by a relative O(eps).

That guard relies on the critic treating samples independently. When it does not (train-mode BatchNorm),
the gradient reaching x_i also carries other samples' terms, and a gamma of 1/eps would amplify that
leakage enormously. For such critics the engine uses the "drop" guard instead: samples whose |dL_D/dy_i| is
below 2^-8 of the batch's largest get gamma = 0 (no generator gradient), and the critic's gradient stays
exactly that of L_D.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

# eps / max|dL_D/dy| per compute dtype: far below the dtype's resolution, far above its underflow threshold
# once multiplied through the critic's backward (float16 gradients also carry the GradScaler's scale).
_EPS_RATIO_LOG2: dict[torch.dtype, int] = {
    torch.float64: -40,
    torch.float32: -24,
    torch.bfloat16: -12,
    torch.float16: -11,
}


# Below this fraction of the largest |dL_D/dy|, a coupled critic's samples are dropped from G's gradient.
DROP_RATIO_LOG2 = -8


def eps_ratio_log2(compute_dtype: torch.dtype) -> int:
    return _EPS_RATIO_LOG2.get(compute_dtype, -24)


@dataclass(frozen=True)
class RouteScales:
    """What one step sends through the critic and what it multiplies at the fake sample.

    ``cotangent``: dL/dy_fake fed into the single backward (dL_D/dy_fake, except eps for guarded samples).
    ``gamma``: per-sample scale applied to the gradient at the fake sample, shape (B,).
    ``guarded``: boolean mask of samples that received the eps cotangent.
    """

    cotangent: Tensor
    gamma: Tensor
    guarded: Tensor

    @property
    def guarded_count(self) -> Tensor:
        return self.guarded.sum()


def symmetric_scales(d_critic_fake: Tensor) -> RouteScales:
    """Symmetric objectives (L_G = -L_D^f): reverse the gradient, gamma = -1 (Section 3.1.2)."""
    return RouteScales(
        cotangent=d_critic_fake,
        gamma=torch.full_like(d_critic_fake, -1.0),
        guarded=torch.zeros_like(d_critic_fake, dtype=torch.bool),
    )


def _power_of_two_below(largest: Tensor, ratio_log2: int) -> Tensor:
    """2^(floor(log2 largest) + ratio_log2), a normal number; 2^ratio_log2 when largest == 0."""
    tiny = torch.finfo(largest.dtype).tiny
    exponent = torch.where(largest > 0, torch.floor(torch.log2(largest.clamp_min(tiny))), torch.zeros_like(largest))
    return torch.exp2(exponent + ratio_log2).clamp_min(tiny)


def asymmetric_scales(
    d_critic_fake: Tensor, d_generator_fake: Tensor, compute_dtype: torch.dtype, *, per_sample_critic: bool = True
) -> RouteScales:
    """gamma_i = (dL_G/dy_i) / (dL_D/dy_i) with a guard for weak samples (see module docstring).

    ``per_sample_critic=True``: the eps-cotangent guard (exact for the generator). ``False``: the drop guard
    for critics that couple samples. Inputs are detached float32/float64 vectors. The result is always
    finite: a gamma that would still overflow is replaced by 0 and counted as guarded.
    """
    largest = d_critic_fake.abs().max()
    if per_sample_critic:
        eps = _power_of_two_below(largest, eps_ratio_log2(compute_dtype))
        weak = d_critic_fake.abs() < eps
        cotangent = torch.where(weak, eps, d_critic_fake)
        gamma = d_generator_fake / cotangent
    else:
        weak = d_critic_fake.abs() < _power_of_two_below(largest, DROP_RATIO_LOG2)
        cotangent = d_critic_fake
        gamma = torch.where(
            weak, torch.zeros_like(d_generator_fake), d_generator_fake / torch.where(weak, 1, cotangent)
        )
    overflow = ~gamma.isfinite()
    gamma = torch.where(overflow, torch.zeros_like(gamma), gamma)
    return RouteScales(cotangent=cotangent, gamma=gamma, guarded=weak | overflow)

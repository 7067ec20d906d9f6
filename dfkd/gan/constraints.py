"""Constraints on the critic: gradient penalties (by name) and WGAN weight clipping.

Penalties are added to L_D by the engine, on detached fakes, in both stages (``critic_penalty``). Weight clipping
(Arjovsky et al. 2017) clamps every critic parameter to ``[-c, c]`` right after every critic optimiser step: it is
a post-step hook on the critic's optimiser, so it also runs between the two halves of a two-stage step (the
generator then sees the clipped critic, as in the original algorithm) and after each of k critic steps.
"""

from __future__ import annotations

import functools
from typing import Protocol

import torch
from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

from dfkd.engine import AdversarialBatch, CriticPenalty
from dfkd.losses import gradient_penalty, r1_penalty
from dfkd.registry import Registry

NO_PENALTY = "none"


class WeightedPenalty(Protocol):
    """A critic penalty with its weight as a keyword argument; bound, it is the engine's ``CriticPenalty``."""

    def __call__(self, critic: nn.Module, batch: AdversarialBatch, fake: Tensor, weight: float = ...) -> Tensor: ...


CRITIC_PENALTIES: Registry[WeightedPenalty] = Registry("critic penalty")
CRITIC_PENALTIES.add("gp", gradient_penalty)
CRITIC_PENALTIES.add("r1", r1_penalty)


def build_penalty(name: str, weight: float) -> CriticPenalty | None:
    """The engine's ``critic_penalty`` for ``name`` with ``weight`` bound; None for "none" or weight 0."""
    if name == NO_PENALTY or weight == 0:
        return None
    return functools.partial(CRITIC_PENALTIES.get(name), weight=weight)


def attach_weight_clipping(optimizer: torch.optim.Optimizer, clip: float) -> RemovableHandle:
    """After every ``optimizer.step()``, clamp all its parameters to ``[-clip, clip]`` (WGAN)."""
    if not clip > 0:
        raise ValueError(f"weight clipping needs a positive bound, got {clip}")

    def clamp(opt: torch.optim.Optimizer, args: object, kwargs: object) -> None:
        with torch.no_grad():
            for group in opt.param_groups:
                for p in group["params"]:
                    p.clamp_(-clip, clip)

    return optimizer.register_step_post_hook(clamp)

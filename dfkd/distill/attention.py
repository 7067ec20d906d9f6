"""Attention transfer (Zagoruyko & Komodakis, 2017) as used by ZSKT.

The attention map of a block-group output x (B, C, H, W) is the spatial map of mean squared activations,
flattened and L2-normalised per sample: a(x) = normalize(mean_c(x^2)). The student's loss adds
beta * sum_l mean((a_s^l - a_t^l)^2) over block groups l.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch.nn.functional as F
from torch import Tensor


def attention_map(features: Tensor) -> Tensor:
    return F.normalize(features.pow(2).mean(dim=1).flatten(1), dim=1)


def attention_transfer_loss(
    teacher_features: Sequence[Tensor], student_features: Sequence[Tensor], beta: float
) -> Tensor:
    if len(teacher_features) != len(student_features):
        raise ValueError(
            f"attention transfer pairs block groups: the teacher has {len(teacher_features)}, the student "
            f"{len(student_features)}"
        )
    total: Tensor | None = None
    for level, (t, s) in enumerate(zip(teacher_features, student_features, strict=True)):
        if t.shape[-2:] != s.shape[-2:]:
            raise ValueError(
                f"attention transfer: block group {level} has spatial size {tuple(t.shape[-2:])} in the teacher "
                f"and {tuple(s.shape[-2:])} in the student"
            )
        term = (attention_map(s) - attention_map(t.detach())).pow(2).mean()
        total = term if total is None else total + term
    if total is None:
        raise ValueError("attention transfer needs at least one block group (the networks returned no features)")
    return beta * total

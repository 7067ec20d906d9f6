"""Distillation: per-sample teacher/student discrepancies and the adversarial objectives over them.

In data-free KD the engine's "critic" is the frozen teacher together with the student; its scalar output for
sample i is a discrepancy d_i >= 0 between their predictions. The student (the critic's trainable part)
minimises f(d), the generator minimises h(d). With h = -f the objective is symmetric (gamma = -1) and the
one-stage update is exact even with the student's train-mode BatchNorm.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from dfkd.losses.registry import register_kd_objective
from dfkd.registry import Registry

Discrepancy = Callable[..., Tensor]
DISCREPANCIES: Registry[Discrepancy] = Registry("discrepancy")


@DISCREPANCIES.register("l1")
def l1(teacher_logits: Tensor, student_logits: Tensor) -> Tensor:
    """DFAD's discrepancy: mean absolute difference of the logits over classes, per sample. Averaged over
    the batch it is DFAD's L_S = mean |s - t| over B x C logits."""
    return (student_logits - teacher_logits).abs().mean(dim=1)


@DISCREPANCIES.register("kl")
def kl(teacher_logits: Tensor, student_logits: Tensor, temperature: float = 1.0, class_mean: bool = True) -> Tensor:
    """KL(teacher || student) of the temperature-softened distributions, per sample.

    ``class_mean=True`` divides by the number of classes, matching ZSKT's ``kl_div(..., reduction='mean')``
    (element-wise mean over B x C); no T^2 factor.
    """
    log_p_teacher = F.log_softmax(teacher_logits / temperature, dim=1)
    log_p_student = F.log_softmax(student_logits / temperature, dim=1)
    per_sample = (log_p_teacher.exp() * (log_p_teacher - log_p_student)).sum(dim=1)
    return per_sample / teacher_logits.shape[1] if class_mean else per_sample


@register_kd_objective("adversarial", symmetric=True)
def adversarial(y_real: Tensor | None, d: Tensor) -> tuple[Tensor, Tensor]:
    """Student minimises mean d, generator maximises it (DFAD, ZSKT): L_S = mean d, L_G = -mean d."""
    return d.mean(), -d.mean()


@register_kd_objective("log_adversarial", symmetric=False)
def log_adversarial(y_real: Tensor | None, d: Tensor, delta: float = 1e-3) -> tuple[Tensor, Tensor]:
    """Asymmetric pair: the student minimises mean d, the generator maximises mean log(d + delta).

    The generator's log makes it care about *relative* increases of the discrepancy: samples the student
    already matches (small d) get weight 1/(d + delta) instead of being ignored, which spreads the
    generator's effort over the batch (the KD analogue of the non-saturating GAN loss).
    gamma_i = -1 / (d_i + delta).
    """
    return d.mean(), -torch.log(d + delta).mean()

"""The distillation "critic": frozen teacher + student + per-sample discrepancy.

For the engine this is just a critic returning one scalar per sample, d_i = discrepancy(t(x_i), s(x_i)).
Its trainable parameters are the student's; the teacher is frozen (eval mode, no gradients to its weights)
but gradients flow through it to the generated images, as the generator's loss requires.

The teacher's side is a value, a :class:`~dfkd.distill.teacher_pass.TeacherPass`: the critic runs the
teacher on ``x`` itself, or receives a pass computed before (``forward(x, precomputed=...)``: ZSKT's student
steps reuse one pass on their batch, replay steps use the logits stored with their samples) and then runs
only the student.

When auxiliary terms need them (attention transfer, generator priors), the critic returns ``(d, KDAux)``
with the teacher's logits, block-group features of both networks, and the batch statistics of the inputs
of the teacher's BatchNorm layers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from torch import Tensor, nn

from dfkd.distill.teacher_pass import BatchNormStatistics, FrozenTeacher, TeacherPass, running_stat_batchnorms

if TYPE_CHECKING:
    from dfkd.models import SupportsFeatures

Discrepancy = Callable[[Tensor, Tensor], Tensor]

__all__ = ["BatchNormStatistics", "DiscrepancyCritic", "KDAux", "TeacherPass", "running_stat_batchnorms"]


@dataclass
class KDAux:
    teacher_logits: Tensor
    teacher_features: list[Tensor] | None = None
    student_features: list[Tensor] | None = None
    teacher_bn: list[BatchNormStatistics] | None = None


class DiscrepancyCritic(nn.Module):
    """x -> d(teacher(x), student(x)) per sample, or ``(d, KDAux)`` when ``aux`` outputs are requested.

    ``teacher``: a :class:`FrozenTeacher`, or a plain network that is frozen and wrapped here with
    ``features`` (also run ``forward_with_features`` on both networks: attention transfer) and
    ``bn_statistics`` (record the teacher's BatchNorm input statistics: BN-statistics prior).
    """

    def __init__(
        self,
        teacher: nn.Module,
        student: nn.Module,
        discrepancy: Discrepancy,
        *,
        features: bool = False,
        bn_statistics: bool = False,
        aux: bool = False,
    ) -> None:
        super().__init__()
        if isinstance(teacher, FrozenTeacher):
            if (features and not teacher.features) or (bn_statistics and not teacher.bn_statistics):
                raise ValueError("features / bn_statistics are set on the FrozenTeacher itself")
            self.teacher = teacher
        else:
            self.teacher = FrozenTeacher(teacher, features=features, bn_statistics=bn_statistics)
        self.student = student
        self.discrepancy = discrepancy
        self.features = self.teacher.features
        self.aux = aux or self.teacher.features or self.teacher.bn_statistics

    def forward(self, x: Tensor, precomputed: TeacherPass | None = None) -> Tensor | tuple[Tensor, KDAux]:
        """The discrepancy on ``x``; ``precomputed``: the teacher's pass on this very ``x`` (no teacher forward
        then, and no gradient through the teacher to ``x``)."""
        if precomputed is None:
            teacher = self.teacher(x)
        elif self.features and precomputed.features is None:
            raise ValueError("attention transfer needs the teacher's features, which the precomputed pass lacks")
        else:
            teacher = precomputed
        if self.features:
            # attention transfer is only configured with students that implement the protocol
            student = cast("SupportsFeatures", self.student)
            student_logits, student_features = student.forward_with_features(x)
        else:
            student_logits, student_features = self.student(x), None
        d = self.discrepancy(teacher.logits, student_logits)
        if not self.aux:
            return d
        return d, KDAux(teacher.logits, teacher.features, student_features, teacher.bn)

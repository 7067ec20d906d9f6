"""The distillation "critic": frozen teacher + student + per-sample discrepancy.

For the engine this is just a critic returning one scalar per sample, d_i = discrepancy(t(x_i), s(x_i)).
Its trainable parameters are the student's; the teacher is frozen (eval mode, no gradients to its weights)
but gradients flow through it to the generated images, as the generator's loss requires.

When auxiliary terms need them (attention transfer, generator priors), the critic returns ``(d, KDAux)``
with the teacher's logits, block-group features of both networks, and the batch statistics of the inputs
of the teacher's BatchNorm layers (collected by forward hooks during the teacher's forward).
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

Discrepancy = Callable[[Tensor, Tensor], Tensor]


def freeze(module: nn.Module) -> nn.Module:
    """Eval mode and no parameter gradients."""
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module


@dataclass
class BatchNormStatistics:
    """The input of one teacher BatchNorm layer on the batch, and the layer's running statistics.

    The batch mean/variance are computed on demand (only generator priors need them, and only in steps
    that update the generator)."""

    inputs: Tensor
    running_mean: Tensor
    running_var: Tensor

    def batch_moments(self) -> tuple[Tensor, Tensor]:
        x = self.inputs.float()
        dims = [0, *range(2, x.dim())]
        var, mean = torch.var_mean(x, dim=dims, unbiased=False)
        return mean, var


@dataclass
class KDAux:
    teacher_logits: Tensor
    teacher_features: list[Tensor] | None = None
    student_features: list[Tensor] | None = None
    teacher_bn: list[BatchNormStatistics] | None = None


def running_stat_batchnorms(module: nn.Module) -> list[_BatchNorm]:
    """The BatchNorm layers of ``module`` that keep running statistics (what the BN-statistics prior matches)."""
    return [m for m in module.modules() if isinstance(m, _BatchNorm) and m.track_running_stats]


class DiscrepancyCritic(nn.Module):
    """x -> d(teacher(x), student(x)) per sample, or ``(d, KDAux)`` when ``aux`` outputs are requested.

    ``features``: also run ``forward_with_features`` on both networks (attention transfer).
    ``bn_statistics``: record the teacher's BatchNorm input statistics (BN-statistics prior).
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
        self.teacher = freeze(teacher)
        self.student = student
        self.discrepancy = discrepancy
        self.features = features
        self.bn_statistics = bn_statistics
        self.aux = aux or features or bn_statistics
        self._cached: tuple[Tensor, Tensor, list[Tensor] | None, list[BatchNormStatistics] | None] | None = None
        self._bn_records: list[BatchNormStatistics] | None = None
        if bn_statistics:
            layers = running_stat_batchnorms(teacher)
            if not layers:
                raise ValueError("the BN-statistics prior needs a teacher with BatchNorm layers (with running statistics)")
            for layer in layers:
                layer.register_forward_hook(self._record_bn)

    def _record_bn(self, module: nn.Module, inputs: tuple[Tensor, ...], output: Tensor) -> None:
        if self._bn_records is not None:
            self._bn_records.append(
                BatchNormStatistics(inputs[0], module.running_mean, module.running_var)  # type: ignore[arg-type]
            )

    def train(self, mode: bool = True) -> DiscrepancyCritic:
        super().train(mode)
        self.teacher.eval()  # the teacher never leaves eval mode
        return self

    def _run_teacher(self, x: Tensor) -> tuple[Tensor, list[Tensor] | None, list[BatchNormStatistics] | None]:
        self._bn_records = [] if self.bn_statistics else None
        try:
            if self.features:
                logits, feats = self.teacher.forward_with_features(x)
            else:
                logits, feats = self.teacher(x), None
            return logits, feats, self._bn_records
        finally:
            self._bn_records = None

    @contextlib.contextmanager
    def reuse_teacher(self, x: Tensor, logits: Tensor | None = None) -> Iterator[None]:
        """Within the block, forwards on this very tensor ``x`` reuse one teacher pass (no gradient to x), or
        the given teacher ``logits`` (no teacher pass at all; without features or BN statistics)."""
        if logits is not None:
            self._cached = (x, logits, None, None)
        else:
            with torch.no_grad():
                self._cached = (x, *self._run_teacher(x))
        try:
            yield
        finally:
            self._cached = None

    def forward(self, x: Tensor) -> Tensor | tuple[Tensor, KDAux]:
        if self._cached is not None and self._cached[0] is x:
            teacher_logits, teacher_features, teacher_bn = self._cached[1:]
        else:
            teacher_logits, teacher_features, teacher_bn = self._run_teacher(x)
        if self.features:
            student_logits, student_features = self.student.forward_with_features(x)
        else:
            student_logits, student_features = self.student(x), None
        d = self.discrepancy(teacher_logits, student_logits)
        if not self.aux:
            return d
        return d, KDAux(teacher_logits, teacher_features, student_features, teacher_bn)

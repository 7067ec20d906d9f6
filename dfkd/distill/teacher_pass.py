"""The frozen teacher as a value: one forward returns a :class:`TeacherPass`.

A teacher pass holds everything distillation reads from the teacher on a batch: its logits, on request its
block-group features (attention transfer) and the inputs of its running-statistics BatchNorm layers (the
BN-statistics prior). It is an ordinary value: a method that wants to reuse the teacher's outputs over
several student steps (ZSKT), or a replay memory that stored the logits, hands it to the critic explicitly,
and the critic then runs no teacher forward. Nothing is cached by tensor identity and nothing on the module
is switched on or off from outside a forward.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm


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


@dataclass(frozen=True)
class TeacherPass:
    """The teacher's outputs on one batch: logits, block-group features (or None), BN statistics (or None)."""

    logits: Tensor
    features: list[Tensor] | None = None
    bn: list[BatchNormStatistics] | None = None


def running_stat_batchnorms(module: nn.Module) -> list[_BatchNorm]:
    """The BatchNorm layers of ``module`` that keep running statistics (what the BN-statistics prior matches)."""
    return [m for m in module.modules() if isinstance(m, _BatchNorm) and m.track_running_stats]


def _record(records: list[BatchNormStatistics], module: nn.Module, inputs: tuple[Tensor, ...], output: Tensor) -> None:
    records.append(BatchNormStatistics(inputs[0], module.running_mean, module.running_var))  # type: ignore[arg-type]


class FrozenTeacher(nn.Module):
    """A teacher network in eval mode without parameter gradients; ``forward(x)`` returns a :class:`TeacherPass`.

    Gradients still flow through it to ``x`` (the generator's loss needs them). ``features``: run the network's
    ``forward_with_features`` and keep the block-group outputs. ``bn_statistics``: keep the inputs of the
    running-statistics BatchNorm layers, recorded by hooks that exist only during that one forward and write
    to a list local to it.
    """

    def __init__(self, network: nn.Module, *, features: bool = False, bn_statistics: bool = False) -> None:
        super().__init__()
        network.eval()
        for p in network.parameters():
            p.requires_grad_(False)
        self.network = network
        self.features = features
        self.bn_statistics = bn_statistics
        self._bn_layers = tuple(running_stat_batchnorms(network)) if bn_statistics else ()
        if bn_statistics and not self._bn_layers:
            raise ValueError("the BN-statistics prior needs a teacher with BatchNorm layers (with running statistics)")

    def train(self, mode: bool = True) -> FrozenTeacher:
        return super().train(False)  # the teacher never leaves eval mode

    def forward(self, x: Tensor, *, bn_statistics: bool = True) -> TeacherPass:
        """The teacher pass on ``x``; ``bn_statistics=False`` skips the BN statistics even when configured (for
        passes whose statistics no one reads, e.g. those reused by student-only steps)."""
        records: list[BatchNormStatistics] | None = [] if self.bn_statistics and bn_statistics else None
        hooks = (
            []
            if records is None
            else [layer.register_forward_hook(functools.partial(_record, records)) for layer in self._bn_layers]
        )
        try:
            if self.features:
                logits, features = self.network.forward_with_features(x)  # type: ignore[operator]
                return TeacherPass(logits, list(features), records)
            return TeacherPass(self.network(x), None, records)
        finally:
            for hook in hooks:
                hook.remove()

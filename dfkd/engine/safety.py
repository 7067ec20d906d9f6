"""Keeping non-finite numbers out of the parameters.

A step whose losses, output derivatives or gradients are not finite is skipped: no optimiser steps, and the
modules' buffers (BatchNorm running statistics, spectral-norm vectors), which the forward pass already
changed, are restored. After ``max_consecutive`` skips in a row the run stops with :class:`NonFiniteError`.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import Tensor, nn


class NonFiniteError(RuntimeError):
    """Too many consecutive steps were skipped because of non-finite values."""


class BufferSnapshot:
    """Copies of the buffers of some modules, restorable after a skipped step.

    Only buffers of submodules in training mode are copied: eval-mode layers (a frozen teacher, eval-mode
    BatchNorm) do not change their buffers in a forward pass.
    """

    def __init__(self, modules: Iterable[nn.Module]) -> None:
        self._modules = list(modules)
        self._saved: list[tuple[Tensor, Tensor]] = []

    def _live_buffers(self) -> list[Tensor]:
        seen: set[int] = set()
        found = []
        for root in self._modules:
            for module in root.modules():
                if not module.training:
                    continue
                for buf in module.buffers(recurse=False):
                    if id(buf) not in seen:
                        seen.add(id(buf))
                        found.append(buf)
        return found

    def take(self) -> None:
        self._saved = [(buf, buf.detach().clone()) for buf in self._live_buffers()]

    def restore(self) -> None:
        with torch.no_grad():
            for buf, saved in self._saved:
                buf.copy_(saved)


class SkipCounter:
    """Counts skipped steps and enforces the limit on consecutive skips."""

    def __init__(self, max_consecutive: int) -> None:
        if max_consecutive < 1:
            raise ValueError(f"max_consecutive_skips must be >= 1, got {max_consecutive}")
        self.max_consecutive = max_consecutive
        self.total = 0
        self.consecutive = 0

    def ok(self) -> None:
        self.consecutive = 0

    def skip(self, reason: str) -> None:
        self.total += 1
        self.consecutive += 1
        if self.consecutive >= self.max_consecutive:
            raise NonFiniteError(
                f"{self.consecutive} consecutive steps were skipped because of non-finite values "
                f"(last: {reason}). Nothing was updated by those steps. Lower the learning rates, enable "
                f"gradient clipping, use float32, or check the inputs; the limit is engine.max_consecutive_skips."
            )

    def state_dict(self) -> dict[str, int]:
        return {"total": self.total, "consecutive": self.consecutive}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.total = int(state["total"])
        self.consecutive = int(state["consecutive"])


def grads_of(params: Sequence[nn.Parameter]) -> list[Tensor]:
    return [p.grad for p in params if p.grad is not None]


def total_grad_norm(params: Sequence[nn.Parameter]) -> Tensor:
    """L2 norm over all gradients (0 when there are none); inf/nan when any gradient is not finite."""
    grads = grads_of(params)
    if not grads:
        return torch.zeros(())
    return torch.nn.utils.get_total_norm(grads, norm_type=2.0)


def clip_to(params: Sequence[nn.Parameter], max_norm: float | None, norm: Tensor) -> None:
    """Clip gradients to ``max_norm`` given their already computed total ``norm``."""
    if max_norm is None:
        return
    with_grads = [p for p in params if p.grad is not None]
    if with_grads:
        torch.nn.utils.clip_grads_with_norm_(with_grads, max_norm, norm)

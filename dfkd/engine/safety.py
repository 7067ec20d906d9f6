"""Keeping non-finite numbers out of the parameters, without the host ever waiting for the device.

An update whose losses, output derivatives or gradients are not finite is skipped: no optimiser steps, and the
modules' buffers (BatchNorm running statistics, spectral-norm vectors), which the forward pass already changed,
are restored. The decision is a 0-dim boolean tensor on the device (the "skip flag"), never read by the host:

* the optimiser step is masked on the device: optimisers with ``found_inf`` support (PyTorch's fused Adam,
  AdamW, SGD, Adagrad; :func:`dfkd.runtime.build_optimizer` builds fused ones where it can) receive the flag as
  ``found_inf`` and leave parameters, moments and step counters untouched; any other optimiser costs one host
  synchronisation per update (``bool(flag)`` before stepping) -- see :func:`masked_step`;
* buffers are restored with ``torch.where`` (:class:`BufferSnapshot`);
* :class:`SkipCounter` counts skips on the device. After ``max_consecutive`` skips in a row it raises
  :class:`NonFiniteError` when it is checked: after every update (the default), or whenever its owner calls
  :meth:`SkipCounter.check` (a training session checks at every logged row and checkpoint). Skipped updates
  change nothing, so a late check loses nothing but the rounds in between.
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

    def restore(self, where: Tensor | None = None) -> None:
        """Put the saved values back: everywhere, or only if the 0-dim boolean ``where`` is true (on the device)."""
        with torch.no_grad():
            for buf, saved in self._saved:
                if where is None:
                    buf.copy_(saved)
                else:  # in place, elementwise: one kernel per buffer
                    torch.where(where, saved, buf, out=buf)


class SkipCounter:
    """Counts skipped updates on the device and enforces the limit on consecutive skips when checked.

    ``record(flag, cause)`` takes the update's skip flag and a nonzero cause code (an index into ``causes``,
    offset by one); it never synchronises. ``check()`` reads the counters (one synchronisation) and raises
    :class:`NonFiniteError` if ``max_consecutive`` skips in a row happened since the previous check.
    """

    def __init__(self, max_consecutive: int, causes: Sequence[str] = ("non-finite values",)) -> None:
        if max_consecutive < 1:
            raise ValueError(f"max_consecutive_skips must be >= 1, got {max_consecutive}")
        self.max_consecutive = max_consecutive
        self.causes = tuple(causes)
        self._plain = {"total": 0, "consecutive": 0, "peak": 0, "cause": 0}
        self._counts: Tensor | None = None  # int64 on the device: total, consecutive, peak since check, last cause

    def _device_counts(self, device: torch.device) -> Tensor:
        if self._counts is None:
            self._counts = torch.tensor(list(self._plain.values()), dtype=torch.int64, device=device)
        return self._counts

    def record(self, skipped: Tensor, cause: Tensor) -> None:
        counts = self._device_counts(skipped.device)
        flag = skipped.to(torch.int64)
        total = counts[0] + flag
        consecutive = (counts[1] + 1) * flag
        peak = torch.maximum(counts[2], consecutive)
        last_cause = torch.where(skipped, cause.to(torch.int64), counts[3])
        self._counts = torch.stack([total, consecutive, peak, last_cause])

    def _read(self) -> dict[str, int]:
        if self._counts is not None:
            self._plain = dict(zip(self._plain, self._counts.tolist(), strict=True))
        return dict(self._plain)

    @property
    def total(self) -> int:
        """Skipped updates so far (one host synchronisation)."""
        return self._read()["total"]

    @property
    def consecutive(self) -> int:
        """Skipped updates since the last completed one (one host synchronisation)."""
        return self._read()["consecutive"]

    def check(self) -> None:
        """Raise :class:`NonFiniteError` if the limit was reached since the previous check (one synchronisation)."""
        counts = self._read()
        peak, cause = counts["peak"], counts["cause"]
        if self._counts is not None:  # the next check looks at the skips after this one
            self._counts = torch.cat([self._counts[:2], self._counts[1:2], self._counts[3:]])
        self._plain["peak"] = counts["consecutive"]
        if peak >= self.max_consecutive:
            last = self.causes[cause - 1] if 0 < cause <= len(self.causes) else "non-finite values"
            raise NonFiniteError(
                f"{peak} consecutive steps were skipped because of non-finite values "
                f"(last: {last}). Nothing was updated by those steps. Lower the learning rates, enable "
                f"gradient clipping, use float32, or check the inputs; the limit is engine.max_consecutive_skips."
            )

    def state_dict(self) -> dict[str, int]:
        return self._read()

    def load_state_dict(self, state: dict[str, int]) -> None:
        consecutive = int(state["consecutive"])
        self._plain = {
            "total": int(state["total"]),
            "consecutive": consecutive,
            "peak": int(state.get("peak", consecutive)),
            "cause": int(state.get("cause", 0)),
        }
        self._counts = None


def masked_step(optimizer: torch.optim.Optimizer, skip: Tensor) -> None:
    """``optimizer.step()`` unless the 0-dim boolean ``skip`` is true, decided on the device where possible.

    Optimisers that support AMP's ``found_inf`` (fused implementations) get ``found_inf = skip``: the step
    leaves parameters, state and step counters as they were, with no host synchronisation. Before a fused SGD
    with momentum takes its first step, its momentum buffers are created as zeros (the same first update as
    PyTorch's copy of the gradient, without dampening), so a masked first step leaves no uninitialised buffer.
    Other optimisers cost one synchronisation: the host reads ``skip``.
    """
    if not getattr(optimizer, "_step_supports_amp_scaling", False):
        if not bool(skip):
            optimizer.step()
        return
    _zero_first_momentum(optimizer)
    optimizer.grad_scale = None  # type: ignore[attr-defined]
    optimizer.found_inf = skip.to(torch.float32)  # type: ignore[attr-defined]
    try:
        optimizer.step()
    finally:
        del optimizer.grad_scale, optimizer.found_inf  # type: ignore[attr-defined]


def _zero_first_momentum(optimizer: torch.optim.Optimizer) -> None:
    if not isinstance(optimizer, torch.optim.SGD):
        return
    for group in optimizer.param_groups:
        if group["momentum"] == 0:
            continue
        if group["dampening"] != 0:
            raise ValueError("a fused SGD with dampening cannot mask its first step on the device; use dampening=0")
        for p in group["params"]:
            if p.grad is not None and optimizer.state[p].get("momentum_buffer") is None:
                optimizer.state[p]["momentum_buffer"] = torch.zeros_like(p, memory_format=torch.preserve_format)


def grads_of(params: Sequence[nn.Parameter]) -> list[Tensor]:
    return [p.grad for p in params if p.grad is not None]


def total_grad_norm(params: Sequence[nn.Parameter]) -> Tensor:
    """L2 norm over all gradients (0 when there are none); inf/nan when any gradient is not finite."""
    grads = grads_of(params)
    if not grads:
        return torch.zeros((), device=params[0].device if params else None)
    return torch.nn.utils.get_total_norm(grads, norm_type=2.0)


def clip_to(params: Sequence[nn.Parameter], max_norm: float | None, norm: Tensor) -> None:
    """Clip gradients to ``max_norm`` given their already computed total ``norm`` (no synchronisation)."""
    if max_norm is None:
        return
    with_grads = [p for p in params if p.grad is not None]
    if with_grads:
        torch.nn.utils.clip_grads_with_norm_(with_grads, max_norm, norm)

"""Collectives the training loop needs beyond DDP's gradient averaging.

Every function here is a no-op (or the plain single-process computation) without a process group, and must
otherwise be called by every rank at the same point of the program.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import torch
import torch.distributed as dist
from torch import Tensor

from dfkd.distributed.context import active, control_group, is_main, world_size

T = TypeVar("T")


def any_rank(flag: bool) -> bool:
    """True on every rank when ``flag`` is true on at least one (e.g. "stop now"), over the Gloo group."""
    if not active():
        return flag
    value = torch.tensor([int(flag)])
    dist.all_reduce(value, op=dist.ReduceOp.MAX, group=control_group())
    return bool(value.item())


def _on_main(fn: Callable[[], T], share: bool) -> T | None:
    result: T | None = None
    failure: Exception | None = None
    if is_main():
        try:
            result = fn()
        except Exception as exc:  # noqa: BLE001 - handed to every rank, so that all stop with the same error
            failure = exc
    box: list[Any] = [(result if share else None, failure)]
    dist.broadcast_object_list(box, src=0, group=control_group())
    shared, failure = box[0]
    if failure is not None:
        raise failure
    return result if is_main() else shared


def from_main(fn: Callable[[], T]) -> T:
    """``fn()`` computed by rank 0 alone, its (picklable) result handed to every rank; an exception raised by
    ``fn`` is raised on every rank."""
    if not active():
        return fn()
    return _on_main(fn, share=True)  # type: ignore[return-value]


def run_on_main(fn: Callable[[], T]) -> T | None:
    """``fn()`` run by rank 0 alone while the others wait; its result on rank 0, None elsewhere (exceptions as
    in :func:`from_main`)."""
    if not active():
        return fn()
    return _on_main(fn, share=False)


def gather_objects(value: T) -> list[T]:
    """Every rank's ``value`` (picklable, CPU tensors), in rank order; ``[value]`` without a process group."""
    if not active():
        return [value]
    out: list[Any] = [None] * world_size()
    dist.all_gather_object(out, value, group=control_group())
    return out


def barrier() -> None:
    if active():
        dist.barrier(group=control_group())


class _SumOverRanks(torch.autograd.Function):
    """y = sum over ranks of x; the gradient of x is the sum over ranks of the gradient of y."""

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        y = x.clone()
        dist.all_reduce(y)
        return y

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        total = grad.contiguous().clone()
        dist.all_reduce(total)
        return total


def sum_over_ranks(x: Tensor) -> Tensor:
    """Differentiable all-reduce (sum) on the default group (NCCL for CUDA tensors, Gloo for CPU tensors).

    Why the gradient comes out right under DDP: every rank computes the same loss L from the sum S, so each
    receives the same dL/dS; the backward sums it over N ranks, which gives each rank N times its true share
    dL/dx_local, and DDP's average over ranks divides by N again -- the parameters get exactly the gradient of
    L computed by one process on the combined batch."""
    return _SumOverRanks.apply(x) if active() else x

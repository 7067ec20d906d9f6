"""Batch statistics over the combined batch of all ranks, for the generator priors.

A prior such as "the batch mean of the teacher's BN inputs matches its running mean" is a function of the
whole batch. With N ranks each holding B/N samples, computing it per rank would match the prior of a batch of
B/N, not of B. These functions all-reduce the (differentiable) sums instead, so N x B/N samples give the same
value -- and, with DDP's gradient average, the same gradient -- as one process with B samples. Every rank must
hold the same number of samples (the batch is split evenly; see :func:`dfkd.distributed.local_batch`).
Without a process group they are the plain single-process computations.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from dfkd.distributed.collectives import sum_over_ranks
from dfkd.distributed.context import active, world_size


def _channel_dims(x: Tensor) -> list[int]:
    return [0, *range(2, x.dim())]


def _per_channel(x: Tensor) -> Tensor:
    """(N, C, ...) -> (C, N * ...): one row per channel."""
    return x.transpose(0, 1).reshape(x.shape[1], -1)


def batch_moments(inputs: Sequence[Tensor]) -> list[tuple[Tensor, Tensor]]:
    """Per-channel mean and biased variance of each ``(N, C, ...)`` tensor over all dimensions but the channels,
    over the batches of all ranks (two all-reduces for all tensors together: sums, then squared deviations)."""
    xs = [x.float() for x in inputs]
    if not active():
        return [tuple(reversed(torch.var_mean(x, dim=_channel_dims(x), unbiased=False))) for x in xs]  # type: ignore[misc]
    counts = [_per_channel(x).shape[1] * world_size() for x in xs]
    sizes = [x.shape[1] for x in xs]
    sums = sum_over_ranks(torch.cat([x.sum(dim=_channel_dims(x)) for x in xs])).split(sizes)
    means = [s / n for s, n in zip(sums, counts, strict=True)]
    deviations = [(_per_channel(x) - mean[:, None]).square().sum(dim=1) for x, mean in zip(xs, means, strict=True)]
    squares = sum_over_ranks(torch.cat(deviations)).split(sizes)
    return [(mean, sq / n) for mean, sq, n in zip(means, squares, counts, strict=True)]


def batch_mean(x: Tensor) -> Tensor:
    """``x.mean(dim=0)`` over the batches of all ranks."""
    if not active():
        return x.mean(dim=0)
    return sum_over_ranks(x.sum(dim=0)) / (x.shape[0] * world_size())

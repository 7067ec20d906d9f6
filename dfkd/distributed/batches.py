"""Sharded real data: every rank serves its own part of each global batch (DistributedSampler semantics).

All ranks hold the same :class:`~dfkd.data.TensorBatches` stream (same seed, same permutation per epoch, the
GLOBAL batch size); each step rank r takes the r-th of N equal, contiguous slices of the global batch. So the
N ranks together see exactly the batches a single process sees, without overlap. Augmentation (crop, flip)
is drawn from a per-rank generator, which keeps the shared permutation stream identical on every rank.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from dfkd.data.batches import TensorBatches
from dfkd.distributed.context import active, rank, world_size
from dfkd.distributed.modules import local_batch
from dfkd.distributed.rng import load_rank_state, rank_seed, rank_states


class ShardedBatches(TensorBatches):
    """This rank's share of each global batch of a :class:`TensorBatches` stream."""

    def __init__(
        self, images: Tensor, labels: Tensor, batch_size: int, *, key: str = "batch_size", **kwargs: Any
    ) -> None:
        super().__init__(images, labels, batch_size, **kwargs)
        self.local_size = local_batch(batch_size, key)
        self.shard = slice(rank() * self.local_size, (rank() + 1) * self.local_size)
        self.seed = int(kwargs.get("seed", 0))
        self.augment_generator = torch.Generator(device=self.device).manual_seed(rank_seed(self.seed))

    def next_batch(self) -> tuple[Tensor, Tensor]:
        """This rank's ``batch_size / world`` images and labels of the next global batch."""
        if self.position + self.batch_size > self.num_items:
            self.epoch += 1
            self.position = 0
            self._order = self._new_order()
        index = self._order[self.position : self.position + self.batch_size][self.shard]
        self.position += self.batch_size
        return self._assemble(index, self.augment_generator)  # augmentation draws of this rank's own stream

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "augment_generators": rank_states(self.augment_generator)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        if "augment_generators" in state:
            load_rank_state(self.augment_generator, state["augment_generators"], self.seed)


def sharded_batches(images: Tensor, labels: Tensor, batch_size: int, *, key: str, **kwargs: Any) -> TensorBatches:
    """A :class:`TensorBatches` over ``images``/``labels`` with the global ``batch_size`` (recipe key ``key``):
    the plain stream in a single process, this rank's :class:`ShardedBatches` under torchrun."""
    if not active() or world_size() == 1:
        return TensorBatches(images, labels, batch_size, **kwargs)
    return ShardedBatches(images, labels, batch_size, key=key, **kwargs)

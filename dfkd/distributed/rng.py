"""Per-rank random streams: each process draws its own latent codes, and resumes its own stream.

Under torchrun the game's generator (latent codes, labels, replay sampling) is reseeded after the fixed image
grid is drawn, with a seed derived from ``(seed, rank)``: the grid is the single-process one, and no two
ranks draw the same codes. Checkpoints (written by rank 0) keep every rank's generator state, gathered at
save time. Without a process group nothing changes: same stream, same checkpoint format.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from dfkd.distributed.collectives import gather_objects
from dfkd.distributed.context import active, rank


def rank_seed(seed: int) -> int:
    """A seed for this rank's stream, independent of the other ranks' (``seed`` itself without a group)."""
    if not active():
        return seed
    return int(np.random.SeedSequence([seed % 2**63, rank()]).generate_state(1, np.uint64)[0] >> np.uint64(1))


def reseed_for_rank(generator: torch.Generator, seed: int) -> None:
    """Give ``generator`` this rank's own stream (nothing to do without a process group)."""
    if active():
        generator.manual_seed(rank_seed(seed))


def rank_states(generator: torch.Generator) -> Tensor | list[Tensor]:
    """What a checkpoint keeps of ``generator``: its state, or under torchrun every rank's, in rank order."""
    state = generator.get_state()
    return gather_objects(state) if active() else state


def load_rank_state(generator: torch.Generator, saved: Tensor | list[Tensor], seed: int) -> None:
    """Restore this rank's stream from :func:`rank_states`. A checkpoint written with fewer ranks (e.g. by a
    single process) restores the ranks it has and starts the others' streams afresh from ``seed``."""
    if isinstance(saved, Tensor):
        saved = [saved]
    own = rank()
    if own < len(saved):
        generator.set_state(saved[own].cpu())
    else:
        generator.manual_seed(rank_seed(seed))

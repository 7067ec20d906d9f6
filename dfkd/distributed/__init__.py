"""Several processes, one run: ``torchrun`` + DistributedDataParallel for ``distill``, ``gan`` and
``train-teacher``.

* :mod:`.context` -- the process group from the environment (NCCL for CUDA, Gloo for CPU), rank helpers, the
  device chosen by ``LOCAL_RANK``.
* :mod:`.collectives` -- stop flags, rank-0 results shared with all, gathers, a differentiable sum.
* :mod:`.moments` -- batch statistics over the combined batch (generator priors).
* :mod:`.modules` -- DDP wrapping (optionally SyncBatchNorm) and the global batch split evenly.
* :mod:`.batches` -- sharded real data; :mod:`.rng` -- per-rank random streams; :mod:`.run_dir` -- the
  write-nothing run directory of the ranks other than 0.

Without ``WORLD_SIZE`` > 1 every helper is the single-process identity.
"""

from dfkd.distributed.collectives import any_rank, barrier, from_main, gather_objects, run_on_main, sum_over_ranks
from dfkd.distributed.context import (
    active,
    is_main,
    local_device,
    local_rank,
    process_group_from_env,
    rank,
    world_size,
)
from dfkd.distributed.modules import data_parallel, local_batch, sync_batchnorm
from dfkd.distributed.rng import load_rank_state, rank_seed, rank_states, reseed_for_rank

__all__ = [
    "active",
    "any_rank",
    "barrier",
    "data_parallel",
    "from_main",
    "gather_objects",
    "is_main",
    "load_rank_state",
    "local_batch",
    "local_device",
    "local_rank",
    "process_group_from_env",
    "rank",
    "rank_seed",
    "rank_states",
    "reseed_for_rank",
    "run_on_main",
    "sum_over_ranks",
    "sync_batchnorm",
    "world_size",
]

"""Networks and batch sizes under data parallelism.

The recipe's batch size is the GLOBAL batch: with N processes each one trains on ``batch_size / N`` samples
per step, and DDP averages the gradients, so the update is the one a single process makes on the combined
batch (for losses that are means over samples, and up to BatchNorm in training mode, which normalises each
process's share on its own unless ``run.sync_batchnorm``).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from dfkd.config.load import RecipeError
from dfkd.distributed.context import active, world_size


def local_batch(global_batch: int, key: str) -> int:
    """This process's share of ``global_batch`` (the recipe key ``key``); it must split evenly."""
    world = world_size()
    if global_batch % world:
        raise RecipeError(
            f"{key}={global_batch}: expected a multiple of the number of processes ({world}); the batch size is "
            f"the global batch, split evenly across processes"
        )
    return global_batch // world


def sync_batchnorm(module: nn.Module, device: torch.device) -> nn.Module:
    """``module`` with its BatchNorm layers turned into SyncBatchNorm, in place (it keeps its parameters and
    buffers, so optimisers built on it stay valid); unchanged without a process group. CUDA only."""
    if not active():
        return module
    if device.type != "cuda":
        raise RecipeError("run.sync_batchnorm=true: SyncBatchNorm needs CUDA devices; set run.sync_batchnorm=false")
    if nn.SyncBatchNorm.convert_sync_batchnorm(module) is not module:
        raise RecipeError(
            "run.sync_batchnorm=true: the network itself is a BatchNorm layer, which cannot be converted in place"
        )
    return module


def data_parallel(module: nn.Module, device: torch.device) -> nn.Module:
    """``module`` wrapped in DistributedDataParallel (unchanged without a process group or trainable weights).

    The wrapper is for training forwards; keep using ``module`` itself for evaluation, sampling and state dicts.
    """
    if not active() or not any(p.requires_grad for p in module.parameters()):
        return module
    return DistributedDataParallel(module, device_ids=[device.index] if device.type == "cuda" else None)

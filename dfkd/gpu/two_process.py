"""The engine under DistributedDataParallel in two processes (NCCL on two GPUs, gloo on a CPU): each rank
trains on half of the batch, and after two steps both ranks must hold identical parameters equal to those of
one process training on the whole batch (computed here in float64 on the CPU).

The networks are small and batch-independent (no BatchNorm: per-rank batch statistics would differ from the
full batch's by design), float32, with TF32 off so that the comparison is tight.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from dfkd.engine import AdversarialBatch, AdversarialEngine
from dfkd.losses import GAN_LOSSES
from dfkd.runtime import _set_tf32

WORLD = 2
BATCH = 16
CASES = (("hinge", "one"), ("minimax", "one"), ("hinge", "two"))
TOLERANCE = 1e-4  # relative, float32 ranks against the float64 reference


class _Generator(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(8, 16 * 4 * 4), nn.Unflatten(1, (16, 4, 4)), nn.Upsample(scale_factor=2),
                                 nn.Conv2d(16, 3, 3, padding=1), nn.Tanh())  # fmt: skip

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)


class _Critic(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1), nn.GroupNorm(4, 16), nn.LeakyReLU(0.2), nn.Flatten(),
                                 nn.Linear(16 * 4 * 4, 1))  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).reshape(-1)


def _setup(dtype: torch.dtype) -> tuple[nn.Module, nn.Module, AdversarialBatch]:
    torch.manual_seed(0)
    generator, critic = _Generator().to(dtype), _Critic().to(dtype)
    z, real = torch.randn(BATCH, 8), torch.rand(BATCH, 3, 8, 8) * 2 - 1  # drawn in float32 for both precisions
    batch = AdversarialBatch(z=z.to(dtype), real=real.to(dtype))
    return generator, critic, batch


def _train(generator: nn.Module, critic: nn.Module, batch: AdversarialBatch, loss: str, stage: str) -> None:
    engine = AdversarialEngine(
        generator, critic, GAN_LOSSES.get(loss).objective(),
        torch.optim.SGD(generator.parameters(), lr=0.1), torch.optim.SGD(critic.parameters(), lr=0.1),
    )  # fmt: skip
    for _ in range(2):  # the reducer must be ready again after each backward
        engine.one_stage_step(batch) if stage == "one" else engine.two_stage_step(batch)


def _worker(rank: int, backend: str, device_type: str, init_file: str, out_dir: str) -> None:
    device = torch.device(device_type, rank) if device_type == "cuda" else torch.device("cpu")
    if device_type == "cuda":
        torch.cuda.set_device(device)
        _set_tf32(False)
    dist.init_process_group(backend, init_method=f"file://{init_file}", rank=rank, world_size=WORLD)
    try:
        for loss, stage in CASES:
            generator, critic, batch = _setup(torch.float32)
            part = slice(rank * BATCH // WORLD, (rank + 1) * BATCH // WORLD)
            assert batch.real is not None
            local = AdversarialBatch(z=batch.z[part].to(device), real=batch.real[part].to(device))
            ids = [rank] if device_type == "cuda" else None
            wrapped_generator, wrapped_critic = (
                DistributedDataParallel(m.to(device), device_ids=ids) for m in (generator, critic)
            )
            _train(wrapped_generator, wrapped_critic, local, loss, stage)
            state = {name: value.cpu() for model in (generator, critic) for name, value in model.state_dict().items()}
            torch.save(state, Path(out_dir) / f"{loss}-{stage}-rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def _reference(loss: str, stage: str) -> dict[str, Tensor]:
    generator, critic, batch = _setup(torch.float64)
    _train(generator, critic, batch, loss, stage)
    return {**copy.deepcopy(generator.state_dict()), **copy.deepcopy(critic.state_dict())}


def two_process_check(device_type: str) -> dict[str, Any]:
    """Run the check on two GPUs (``device_type="cuda"``, skipped with a reason when fewer are present) or
    two CPU processes; returns per case the largest relative deviation from the reference and whether the
    ranks agree exactly, and ``passed``."""
    if device_type == "cuda" and torch.cuda.device_count() < WORLD:
        return {"ran": False, "reason": f"{torch.cuda.device_count()} GPU(s) on this machine; the check needs {WORLD}"}
    backend = "nccl" if device_type == "cuda" else "gloo"
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        mp.spawn(_worker, args=(backend, device_type, str(Path(tmp) / "init"), tmp), nprocs=WORLD, join=True)
        for loss, stage in CASES:
            reference = _reference(loss, stage)
            ranks = [torch.load(Path(tmp) / f"{loss}-{stage}-rank{r}.pt", weights_only=True) for r in range(WORLD)]
            deviation = max(
                float((state[name].double() - value).abs().max() / value.abs().max().clamp_min(1e-12))
                for state in ranks
                for name, value in reference.items()
            )
            identical = all(torch.equal(ranks[0][name], other[name]) for other in ranks[1:] for name in reference)
            results[f"{loss}-{stage}"] = {"relative_deviation": deviation, "ranks_identical": identical}
    passed = all(r["relative_deviation"] < TOLERANCE and r["ranks_identical"] for r in results.values())
    return {"ran": True, "backend": backend, "cases": results, "passed": passed}

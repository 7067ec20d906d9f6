"""The one-stage step under DistributedDataParallel (2 CPU processes, gloo) equals the full-batch step."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel as DDP

from dfkd.engine import AdversarialBatch, AdversarialEngine
from dfkd.losses import GAN_LOSSES
from tests.engine.helpers import TinyCritic, TinyGenerator

F64 = torch.float64
WORLD = 2


def _models_and_batch():
    torch.manual_seed(0)
    generator = TinyGenerator(batchnorm=False).to(F64)  # per-rank BatchNorm statistics would differ
    critic = TinyCritic("gn").to(F64)
    batch = AdversarialBatch(z=torch.randn(16, 4, dtype=F64), real=torch.randn(16, 3, 8, 8, dtype=F64))
    return generator, critic, batch


def _engine(generator, critic, loss):
    return AdversarialEngine(
        generator,
        critic,
        GAN_LOSSES.get(loss).objective(),
        torch.optim.SGD(generator.parameters(), lr=0.1),
        torch.optim.SGD(critic.parameters(), lr=0.1),
    )


CASES = [("hinge", "one"), ("minimax", "one"), ("hinge", "two")]


def _run(engine: AdversarialEngine, batch: AdversarialBatch, stage: str) -> None:
    for _ in range(2):  # two steps: the reducer must be ready again after each backward
        engine.one_stage_step(batch) if stage == "one" else engine.two_stage_step(batch)


def _worker(rank: int, init_file: str, out_dir: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=WORLD)
    try:
        for loss, stage in CASES:
            generator, critic, batch = _models_and_batch()
            half = batch.size // WORLD
            part = slice(rank * half, (rank + 1) * half)
            local = AdversarialBatch(z=batch.z[part], real=batch.real[part])
            _run(_engine(DDP(generator), DDP(critic), loss), local, stage)
            state = {"g": generator.state_dict(), "d": critic.state_dict()}
            torch.save(state, Path(out_dir) / f"{loss}-{stage}-rank{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_ddp_matches_single_process_full_batch(tmp_path: Path) -> None:
    mp.spawn(_worker, args=(str(tmp_path / "init"), str(tmp_path)), nprocs=WORLD, join=True)
    for loss, stage in CASES:
        generator, critic, batch = _models_and_batch()
        engine = _engine(copy.deepcopy(generator), copy.deepcopy(critic), loss)
        _run(engine, batch, stage)
        for rank in range(WORLD):
            state = torch.load(tmp_path / f"{loss}-{stage}-rank{rank}.pt", weights_only=True)
            for name, value in engine.generator.state_dict().items():
                torch.testing.assert_close(state["g"][name], value, rtol=1e-10, atol=1e-12)
            for name, value in engine.critic.state_dict().items():
                torch.testing.assert_close(state["d"][name], value, rtol=1e-10, atol=1e-12)

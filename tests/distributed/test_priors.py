"""Two CPU processes (Gloo) against one: the distillation one-stage update with every generator prior, and
sharded real data. The BN-statistics and class-balance priors all-reduce their batch moments, so 2 ranks x B/2
samples give the update of 1 process x B; the per-sample critic (no BatchNorm in the student) needs only DDP.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from dfkd.data.batches import TensorBatches
from dfkd.distill.critic import DiscrepancyCritic
from dfkd.distill.priors import image_prior, teacher_prior
from dfkd.distill.teacher_pass import FrozenTeacher
from dfkd.distributed import data_parallel
from dfkd.distributed.batches import sharded_batches
from dfkd.distributed.moments import batch_moments
from dfkd.engine import AdversarialBatch, AdversarialEngine
from dfkd.losses import DISCREPANCIES, KD_OBJECTIVES
from tests.engine.helpers import TinyGenerator

F64 = torch.float64
WORLD = 2
BATCH = 16
PRIORS = {"bn": 1.0, "balance": 2.0, "confidence": 0.5, "tv": 0.3}


def _networks() -> tuple[nn.Module, DiscrepancyCritic]:
    torch.manual_seed(0)
    generator = TinyGenerator(batchnorm=False).to(F64)
    teacher = nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(), nn.Conv2d(6, 6, 3, 2, 1), nn.BatchNorm2d(6),
        nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 5),
    ).to(F64)  # fmt: skip
    for layer in teacher.modules():
        if isinstance(layer, nn.BatchNorm2d):
            layer.running_mean.uniform_(-0.5, 0.5)
            layer.running_var.uniform_(0.5, 2.0)
    student = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                            nn.Linear(4, 5)).to(F64)  # fmt: skip
    frozen = FrozenTeacher(teacher, bn_statistics=True)
    return generator, DiscrepancyCritic(frozen, student, DISCREPANCIES.get("l1"), aux=True)


def _engine(generator: nn.Module, critic: nn.Module) -> AdversarialEngine:
    objective = replace(
        KD_OBJECTIVES.get("adversarial").objective(),
        generator_aux_loss=teacher_prior(PRIORS),
        generator_output_loss=image_prior(PRIORS),
    )
    return AdversarialEngine(
        generator,
        critic,
        objective,
        torch.optim.SGD(generator.parameters(), lr=0.1),
        torch.optim.SGD([p for p in critic.parameters() if p.requires_grad], lr=0.1),
    )


def _latents() -> torch.Tensor:
    return torch.randn(BATCH, 4, dtype=F64, generator=torch.Generator().manual_seed(1))


def _data() -> tuple[torch.Tensor, torch.Tensor]:
    images = torch.randint(0, 256, (40, 3, 8, 8), dtype=torch.uint8, generator=torch.Generator().manual_seed(2))
    return images, torch.arange(40) % 3


def _worker(rank: int, init_file: str, out_dir: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=WORLD)
    try:
        generator, critic = _networks()
        engine = _engine(data_parallel(generator, torch.device("cpu")), data_parallel(critic, torch.device("cpu")))
        z = _latents()[rank * BATCH // WORLD : (rank + 1) * BATCH // WORLD]
        for _ in range(2):
            engine.one_stage_step(AdversarialBatch(z=z))
        with torch.no_grad():
            fake = generator(_latents()).chunk(WORLD)[rank]
            inputs = [s.inputs for s in critic.teacher(fake).bn]  # type: ignore[union-attr]
        moments = batch_moments(inputs)
        batches = sharded_batches(*_data(), 8, key="batch_size", seed=3)
        served = [batches.next_batch() for _ in range(7)]  # crosses an epoch boundary (40 // 8 = 5 per epoch)
        torch.save(
            {"g": generator.state_dict(), "student": critic.student.state_dict(), "moments": moments,
             "images": torch.cat([b[0] for b in served]), "labels": torch.cat([b[1] for b in served])},
            Path(out_dir) / f"rank{rank}.pt",
        )  # fmt: skip
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_two_ranks_match_one_process_on_the_combined_batch(tmp_path: Path) -> None:
    mp.spawn(_worker, args=(str(tmp_path / "init"), str(tmp_path)), nprocs=WORLD, join=True)
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(WORLD)]

    generator, critic = _networks()
    initial = copy.deepcopy(generator.state_dict())
    engine = _engine(generator, critic)
    for _ in range(2):
        engine.one_stage_step(AdversarialBatch(z=_latents()))
    assert any(not torch.equal(initial[k], v) for k, v in generator.state_dict().items())  # it did train
    with torch.no_grad():
        stats = critic.teacher(generator(_latents())).bn
    for saved in ranks:
        for name, value in generator.state_dict().items():
            torch.testing.assert_close(saved["g"][name], value, rtol=1e-8, atol=1e-10)
        for name, value in critic.student.state_dict().items():
            torch.testing.assert_close(saved["student"][name], value, rtol=1e-8, atol=1e-10)
        for (mean, var), s in zip(saved["moments"], stats, strict=True):  # type: ignore[arg-type]
            expected_mean, expected_var = s.batch_moments()  # priors take moments in float32
            torch.testing.assert_close(mean, expected_mean, rtol=1e-5, atol=1e-6)
            torch.testing.assert_close(var, expected_var, rtol=1e-5, atol=1e-6)

    single = TensorBatches(*_data(), 8, seed=3)
    served = [single.next_batch() for _ in range(7)]
    for step, (images, labels) in enumerate(served):  # rank r serves the r-th half of every global batch
        for r, saved in enumerate(ranks):
            part = slice(step * 4, (step + 1) * 4)
            torch.testing.assert_close(saved["images"][part], images[r * 4 : (r + 1) * 4])
            torch.testing.assert_close(saved["labels"][part], labels[r * 4 : (r + 1) * 4])

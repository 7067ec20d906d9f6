"""Recipe sections shared by every job (distillation, GAN, teacher training)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from dfkd.config.base import Section


class RunSection(Section):
    """Where the run lives and how it computes."""

    name: str = "run"  # runs/<name>/
    root: str = "runs"
    seed: int = 0
    device: str = "auto"  # auto (cuda when available), cpu, cuda, cuda:1, ...
    precision: Literal["fp32", "fp16", "bf16"] = "fp32"  # fp16/bf16 = autocast (fp16 with a GradScaler)
    threads: int = 0  # torch CPU threads (0: leave PyTorch's default)
    sync_batchnorm: bool = False  # under torchrun: SyncBatchNorm in the trained networks (CUDA only)


class OptimizerSection(Section):
    name: Literal["sgd", "adam", "rmsprop"] = "adam"
    lr: float = Field(1e-3, gt=0)
    momentum: float = 0.9  # sgd only
    nesterov: bool = False  # sgd
    betas: tuple[float, float] = (0.9, 0.999)  # adam
    weight_decay: float = 0.0


class LrScheduleSection(Section):
    """Learning-rate schedule over the run's steps."""

    name: Literal["constant", "multistep", "cosine"] = "constant"
    milestones: list[int] = []  # multistep: steps at which lr *= gamma
    gamma: float = 0.1


class LoggingSection(Section):
    log_every: int = Field(50, ge=0)
    eval_every: int = Field(500, ge=0)
    checkpoint_every: int = Field(500, ge=0)
    image_every: int = Field(0, ge=0)  # 0: only at the end
    max_wall_s: float | None = None  # stop (and checkpoint) after this much training time


class EngineSection(Section):
    """Numerical policy of the adversarial engine (see dfkd.engine.EngineConfig)."""

    coupling: Literal["warn", "error", "ignore"] = "warn"
    max_consecutive_skips: int = Field(20, ge=1)

"""Recipe sections shared by every job (distillation, GAN, teacher training).

Numbers use the constrained types of :mod:`dfkd.config.types` (finite floats, integers that are not bools),
so NaN/inf, negative learning rates and the like are refused when the recipe is validated.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ValidationInfo, field_validator

from dfkd.config.base import Section
from dfkd.config.names import DeviceName
from dfkd.config.types import NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt, Seed, UnitInterval


class RunSection(Section):
    """Where the run lives and how it computes."""

    name: str = "run"  # runs/<name>/
    root: str = "runs"
    seed: Seed = 0
    device: DeviceName = "auto"  # auto (cuda when available), cpu, cuda, cuda:1, ...
    # fp16/bf16 = autocast (fp16 with a GradScaler); auto = bf16 where the device computes it natively, else fp32
    precision: Literal["fp32", "fp16", "bf16", "auto"] = "fp32"
    threads: NonNegativeInt = 0  # torch CPU threads (0: leave PyTorch's default)

    @field_validator("name")
    @classmethod
    def _plain_directory_name(cls, value: str) -> str:
        if not value or "/" in value or "\\" in value or value in (".", ".."):
            raise ValueError("a plain directory name (no '/', not '.' or '..')")
        return value

    @field_validator("root")
    @classmethod
    def _non_empty(cls, value: str) -> str:
        if not value:
            raise ValueError("a directory (e.g. runs)")
        return value

    # Speed (dfkd.runtime; what was applied goes into summary.json under "runtime"). tf32, cudnn_benchmark and
    # sync_batchnorm act on CUDA only.
    channels_last: bool = True  # conv nets (CPU too) and CUDA real-image batches in channels-last memory format
    tf32: bool = True  # CUDA: TF32 tensor cores for float32 matmuls and convolutions
    cudnn_benchmark: bool = True  # CUDA: cuDNN times and picks the fastest convolution algorithms
    compile: bool = False  # torch.compile the networks (falls back to eager, with a warning, where it cannot)
    sync_batchnorm: bool = False  # under torchrun: SyncBatchNorm in the trained networks (CUDA only)


class OptimizerSection(Section):
    name: Literal["sgd", "adam", "rmsprop"] = "adam"
    lr: PositiveFloat = 1e-3
    momentum: UnitInterval = 0.9  # sgd only
    nesterov: bool = False  # sgd
    betas: tuple[UnitInterval, UnitInterval] = (0.9, 0.999)  # adam
    weight_decay: NonNegativeFloat = 0.0

    @field_validator("nesterov")
    @classmethod
    def _nesterov_needs_momentum(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("name") == "sgd" and info.data.get("momentum") == 0:
            raise ValueError("false when momentum is 0 (Nesterov momentum needs a momentum)")
        return value


class LrScheduleSection(Section):
    """Learning-rate schedule over the run's steps."""

    name: Literal["constant", "multistep", "cosine"] = "constant"
    milestones: list[PositiveInt] = []  # multistep: steps at which lr *= gamma
    gamma: PositiveFloat = 0.1


class LoggingSection(Section):
    log_every: NonNegativeInt = 50
    eval_every: NonNegativeInt = 500
    checkpoint_every: NonNegativeInt = 500
    image_every: NonNegativeInt = 0  # 0: only at the end
    max_wall_s: PositiveFloat | None = None  # stop (and checkpoint) after this much training time


class EngineSection(Section):
    """Numerical policy of the adversarial engine (see dfkd.engine.EngineConfig)."""

    coupling: Literal["warn", "error", "ignore"] = "warn"
    max_consecutive_skips: PositiveInt = 20

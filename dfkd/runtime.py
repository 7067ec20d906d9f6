"""Turning recipe sections into torch objects: device, precision, seeds, optimisers, schedules."""
from __future__ import annotations

import random
from collections.abc import Iterable

import numpy as np
import torch
from torch import nn

from dfkd.config.sections import LrScheduleSection, OptimizerSection, RunSection
from dfkd.distributed import local_device

AUTOCAST_DTYPES: dict[str, torch.dtype | None] = {"fp32": None, "fp16": torch.float16, "bf16": torch.bfloat16}


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"run.device={name!r} but CUDA is not available on this machine; use run.device=cpu")
    return device


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def apply_run_settings(run: RunSection) -> torch.device:
    """Seed, set CPU threads, and return the device (under torchrun: CUDA device ``LOCAL_RANK``)."""
    if run.threads > 0:
        torch.set_num_threads(run.threads)
    seed_everything(run.seed)
    return local_device(resolve_device(run.device))


def build_optimizer(params: Iterable[nn.Parameter], cfg: OptimizerSection) -> torch.optim.Optimizer:
    trainable = [p for p in params if p.requires_grad]
    if cfg.name == "sgd":
        return torch.optim.SGD(
            trainable, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov, weight_decay=cfg.weight_decay
        )
    if cfg.name == "rmsprop":
        return torch.optim.RMSprop(trainable, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.Adam(trainable, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay)


def build_scheduler(
    optimizer: torch.optim.Optimizer, cfg: LrScheduleSection, total_steps: int
) -> torch.optim.lr_scheduler.LRScheduler:
    """A schedule stepped once per training step (round)."""
    if cfg.name == "multistep":
        return torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=cfg.milestones, gamma=cfg.gamma)
    if cfg.name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, total_steps))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)

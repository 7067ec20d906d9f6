"""Turning recipe sections into torch objects: device, precision, seeds, optimisers, schedules."""
from __future__ import annotations

import random
from collections.abc import Iterable

import numpy as np
import torch
from torch import nn

from dfkd.config.sections import LrScheduleSection, OptimizerSection, RunSection

AUTOCAST_DTYPES: dict[str, torch.dtype | None] = {"fp32": None, "fp16": torch.float16, "bf16": torch.bfloat16}


class DeviceError(ValueError):
    """The requested device is not a device, or does not exist on this machine; the message names the option."""


def _available(device: torch.device) -> str | None:
    """None if ``device`` can be used here, else why not."""
    if device.type == "cuda":
        if not torch.cuda.is_available():
            return "CUDA is not available on this machine"
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            return f"this machine has {count} CUDA device(s) (cuda:0 to cuda:{count - 1})"
    if device.type == "mps" and not torch.backends.mps.is_available():
        return "MPS is not available on this machine"
    return None


def resolve_device(name: str, option: str = "run.device") -> torch.device:
    """``auto`` (cuda when available, else cpu) or the named device, checked to exist on this machine.

    Raises :class:`DeviceError` naming ``option`` (the recipe key or command-line option that gave ``name``).
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise DeviceError(f"{option}={name!r} is not a device; expected auto, cpu, cuda, cuda:<index> or mps") from None
    problem = _available(device)
    if problem is not None:
        raise DeviceError(f"{option}={name!r} but {problem}; use {option}=cpu (or auto)")
    return device


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def apply_run_settings(run: RunSection) -> torch.device:
    """Seed, set CPU threads, and return the device."""
    if run.threads > 0:
        torch.set_num_threads(run.threads)
    seed_everything(run.seed)
    return resolve_device(run.device)


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

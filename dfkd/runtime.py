"""Turning recipe sections into torch objects: device, precision, seeds, optimisers, schedules."""
from __future__ import annotations

import math
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


def _fusable(params: list[nn.Parameter]) -> bool | None:
    """Fused optimiser kernels where PyTorch has them: they mask a skipped update on the device (``found_inf``),
    so the engine never waits for the accelerator (see dfkd.engine.safety.masked_step)."""
    try:
        from torch.utils._foreach_utils import _get_fused_kernels_supported_devices

        supported = _get_fused_kernels_supported_devices()
    except ImportError:  # a PyTorch without that helper: the devices every fused kernel supports
        supported = ["cpu", "cuda"]
    return True if params and all(p.is_floating_point() and p.device.type in supported for p in params) else None


def build_optimizer(params: Iterable[nn.Parameter], cfg: OptimizerSection) -> torch.optim.Optimizer:
    trainable = [p for p in params if p.requires_grad]
    fused = _fusable(trainable)
    if cfg.name == "sgd":
        return torch.optim.SGD(
            trainable, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov, weight_decay=cfg.weight_decay,
            fused=fused,
        )
    if cfg.name == "rmsprop":  # no fused kernel: a skipped update costs the engine one host synchronisation
        return torch.optim.RMSprop(trainable, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.Adam(trainable, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay, fused=fused)


class CosineToZero:
    """Learning-rate factor of a cosine decay that reaches 0 at step ``total``; replannable, never rising.

    Initially ``0.5 * (1 + cos(pi * step / total))``. :meth:`replan` (a run resumed with another number of
    steps) continues from the factor reached at ``step`` with a new cosine that reaches 0 at the new total, so
    the learning rate keeps decreasing instead of climbing back (as a cosine with a longer period would).
    Its attributes are plain numbers: the state is saved in checkpoints by :class:`ResumableLambdaLR`.
    """

    def __init__(self, total: int) -> None:
        self.start, self.start_factor, self.total = 0, 1.0, max(1, int(total))

    def __call__(self, step: int) -> float:
        if step >= self.total:
            return 0.0
        progress = (step - self.start) / (self.total - self.start)
        return self.start_factor * 0.5 * (1.0 + math.cos(math.pi * progress))

    def replan(self, step: int, total: int) -> None:
        """From ``step`` on, decay from the current factor to 0 at ``total`` (> ``step``)."""
        if total <= step:
            raise ValueError(f"cannot replan a cosine schedule at step {step} to end at step {total}")
        self.start_factor, self.start, self.total = self(step), step, int(total)


class ResumableLambdaLR(torch.optim.lr_scheduler.LambdaLR):
    """A LambdaLR whose :class:`CosineToZero` factors adapt to the run's (possibly changed) number of steps when
    a checkpoint is loaded, instead of restoring the length the run was started with."""

    def load_state_dict(self, state_dict: dict) -> None:  # type: ignore[type-arg]
        if "lr_lambdas" not in state_dict and "T_max" in state_dict:  # saved by CosineAnnealingLR (earlier dfkd)
            plan = {"start": 0, "start_factor": 1.0, "total": int(state_dict["T_max"])}
            state_dict = {**state_dict, "lr_lambdas": [dict(plan) for _ in self.lr_lambdas]}
        planned = [fn.total if isinstance(fn, CosineToZero) else None for fn in self.lr_lambdas]
        super().load_state_dict(state_dict)
        for fn, total in zip(self.lr_lambdas, planned, strict=True):
            if isinstance(fn, CosineToZero) and total is not None and fn.total != total:
                if fn(self.last_epoch) == 0.0:
                    from dfkd.runs.session import SessionError

                    raise SessionError(
                        f"the cosine learning-rate schedule of this run ended at step {fn.total} (learning rate 0); "
                        f"continuing it to {total} steps would train at learning rate 0 (a restarted schedule would "
                        "raise it again). Start a new run instead"
                    )
                fn.replan(self.last_epoch, total)


def build_scheduler(
    optimizer: torch.optim.Optimizer, cfg: LrScheduleSection, total_steps: int
) -> torch.optim.lr_scheduler.LRScheduler:
    """A schedule stepped once per training step (round).

    ``cosine`` decays to 0 at ``total_steps`` (:class:`CosineToZero`). Resuming with another ``total_steps`` (a
    run extended with ``steps=<more>``) continues the decay from the learning rate reached, to 0 at the new end:
    the learning rate never rises. ``multistep`` milestones are steps and do not move.
    """
    if cfg.name == "multistep":
        return torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=cfg.milestones, gamma=cfg.gamma)
    if cfg.name == "cosine":
        return ResumableLambdaLR(optimizer, CosineToZero(total_steps))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)

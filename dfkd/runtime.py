"""Turning recipe sections into torch objects: device, precision, seeds, optimisers, schedules, and the speed
settings of a GPU run.

On a CUDA device a run is fast by default (each switch is a ``run.*`` recipe key, see
:class:`~dfkd.config.sections.RunSection`): TF32 tensor cores for float32 matmuls and convolutions, cuDNN
autotuning, conv nets and real-image batches in channels-last memory format, fused Adam/SGD kernels, batches
drawn on the device; ``run.precision=bf16`` adds bfloat16 autocast and ``run.compile=true`` compiles the
networks. On a CPU none of this changes anything. What was applied is recorded in summary.json (``runtime``):
see :func:`prepare_models`.
"""
from __future__ import annotations

import inspect
import random
import shutil
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch
from torch import nn

from dfkd.config.sections import LrScheduleSection, OptimizerSection, RunSection

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
    """Seed, set CPU threads, apply the GPU speed settings (:func:`apply_gpu_settings`) and return the device."""
    if run.threads > 0:
        torch.set_num_threads(run.threads)
    seed_everything(run.seed)
    device = resolve_device(run.device)
    apply_gpu_settings(run, device)
    return device


# ------------------------------------------------------------------------------------------------ GPU speed
def _set_tf32(enabled: bool) -> None:
    matmul, conv = torch.backends.cuda.matmul, torch.backends.cudnn
    if hasattr(matmul, "fp32_precision") and hasattr(conv, "conv"):  # torch >= 2.9; never mix with the old flags
        matmul.fp32_precision = "tf32" if enabled else "ieee"
        conv.conv.fp32_precision = "tf32" if enabled else "ieee"
    else:
        matmul.allow_tf32 = enabled
        conv.allow_tf32 = enabled


def gpu_settings(run: RunSection, device: torch.device) -> dict[str, Any]:
    """What the run's speed settings amount to on ``device`` (JSON-ready; every switch is False on a CPU)."""
    cuda = device.type == "cuda"
    return {
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if cuda else "cpu",
        "torch": torch.__version__,
        "precision": run.precision,
        "tf32": cuda and run.tf32,
        "cudnn_benchmark": cuda and run.cudnn_benchmark,
        "channels_last": cuda and run.channels_last,
        "fused_optimizers": cuda,  # Adam and SGD
        "device_batches": run.device_batches,
        "compile": run.compile,
    }


def apply_gpu_settings(run: RunSection, device: torch.device) -> dict[str, Any]:
    """Set the process-wide backend flags a CUDA run asks for (TF32, cuDNN autotuning); returns
    :func:`gpu_settings`. On a CPU nothing is changed. :func:`apply_run_settings` calls it."""
    if device.type == "cuda":
        _set_tf32(run.tf32)
        torch.backends.cudnn.benchmark = run.cudnn_benchmark
    return gpu_settings(run, device)


def compile_unavailable(device: torch.device) -> str | None:
    """Why ``torch.compile`` (TorchInductor) cannot work here, or None when it can."""
    import torch._dynamo

    if not torch._dynamo.is_dynamo_supported():
        return "torch.compile is not supported with this Python or platform"
    if device.type == "cuda":
        from torch.utils._triton import has_triton

        return None if has_triton() else "Triton, which torch.compile needs on a GPU, is not installed"
    if not any(shutil.which(name) for name in ("c++", "g++", "clang++")):
        return "no C++ compiler found, which torch.compile needs on a CPU"
    return None


def _has_convolutions(model: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.conv._ConvNd) for m in model.modules())


def prepare_model(model: nn.Module, run: RunSection, device: torch.device) -> dict[str, Any]:
    """Apply the run's per-network speed settings to ``model`` (already on ``device``) IN PLACE; returns what
    was applied. Parameters keep their identity, so optimisers built before stay valid.

    * channels-last memory format: CUDA conv nets, with ``run.channels_last``;
    * ``torch.compile`` with ``run.compile`` (``nn.Module.compile``: state-dict keys do not change). Where it
      cannot compile (:func:`compile_unavailable`) it warns and leaves the model eager; errors while compiling
      later fall back to eager too (``torch._dynamo.config.suppress_errors``).
    """
    applied: dict[str, Any] = {"channels_last": False, "compiled": False}
    if device.type == "cuda" and run.channels_last and _has_convolutions(model):
        model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        applied["channels_last"] = True
    if run.compile:
        reason = compile_unavailable(device)
        if reason is None:
            torch._dynamo.config.suppress_errors = True  # imported by compile_unavailable
            model.compile()
            applied["compiled"] = True
        else:
            warnings.warn(f"run.compile=true: {reason}; running without compilation", RuntimeWarning, stacklevel=2)
            applied["compile_fallback"] = reason
    return applied


def prepare_models(run: RunSection, device: torch.device, **models: nn.Module) -> dict[str, Any]:
    """:func:`prepare_model` for each named network; returns the ``runtime`` record for summary.json: the
    settings (:func:`gpu_settings`) and, under ``models``, what was applied to each network."""
    record = gpu_settings(run, device)
    record["models"] = {name: prepare_model(model, run, device) for name, model in models.items()}
    return record


# ------------------------------------------------------------------------------------------------ optimisers
def _fused(optimizer: type[torch.optim.Optimizer], params: list[nn.Parameter]) -> dict[str, bool]:
    """``{"fused": True}`` when every parameter is a floating-point CUDA tensor and the optimiser has a fused
    kernel (one launch for all parameters; with a GradScaler it also skips the step without a host sync)."""
    supported = "fused" in inspect.signature(optimizer.__init__).parameters
    on_gpu = bool(params) and all(p.is_cuda and p.is_floating_point() for p in params)
    return {"fused": True} if supported and on_gpu else {}


def build_optimizer(params: Iterable[nn.Parameter], cfg: OptimizerSection) -> torch.optim.Optimizer:
    """The recipe's optimiser; fused on CUDA (Adam, SGD)."""
    trainable = [p for p in params if p.requires_grad]
    if cfg.name == "sgd":
        return torch.optim.SGD(
            trainable, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov, weight_decay=cfg.weight_decay,
            **_fused(torch.optim.SGD, trainable),
        )  # fmt: skip
    if cfg.name == "rmsprop":
        return torch.optim.RMSprop(trainable, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.Adam(
        trainable, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay, **_fused(torch.optim.Adam, trainable)
    )


def build_scheduler(
    optimizer: torch.optim.Optimizer, cfg: LrScheduleSection, total_steps: int
) -> torch.optim.lr_scheduler.LRScheduler:
    """A schedule stepped once per training step (round)."""
    if cfg.name == "multistep":
        return torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=cfg.milestones, gamma=cfg.gamma)
    if cfg.name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, total_steps))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)

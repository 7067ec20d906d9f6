"""Turning recipe sections into torch objects: device, precision, seeds, optimisers, schedules, and the speed
settings of a GPU run.

On a CUDA device a run is fast by default (each switch is a ``run.*`` recipe key, see
:class:`~dfkd.config.sections.RunSection`): TF32 tensor cores for float32 matmuls and convolutions, cuDNN
autotuning, conv nets and real-image batches in channels-last memory format, fused Adam/SGD kernels, batches
drawn on the device; ``run.precision=bf16`` adds bfloat16 autocast (``auto``: where the device computes bf16
natively, :func:`native_bf16`, a CPU included) and ``run.compile=true`` compiles the networks. On a CPU
channels-last applies too (see :data:`CPU_NARROW_BATCHNORM` for what it measured).
What was applied is recorded in summary.json (``runtime``): see :func:`prepare_models`.
"""

from __future__ import annotations

import math
import random
import shutil
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from dfkd.config.sections import LrScheduleSection, OptimizerSection, RunSection
from dfkd.distributed import local_device

AUTOCAST_DTYPES: dict[str, torch.dtype | None] = {"fp32": None, "fp16": torch.float16, "bf16": torch.bfloat16}
CPU_BF16_FEATURES = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")  # torch.cpu probes of native bf16


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes bfloat16 natively: a CUDA GPU that supports it, or a CPU with AMX or
    AVX512-BF16 (elsewhere bf16 autocast on a CPU is emulated and slower than float32)."""
    if device.type == "cuda":
        with torch.cuda.device(device):
            return torch.cuda.is_bf16_supported(including_emulation=False)
    if device.type == "cpu":
        return any(getattr(torch.cpu, probe, lambda: False)() for probe in CPU_BF16_FEATURES)
    return False


def resolve_precision(precision: str, device: torch.device) -> str:
    """``run.precision`` on ``device``: ``auto`` becomes bf16 where :func:`native_bf16`, else fp32."""
    if precision != "auto":
        return precision
    return "bf16" if native_bf16(device) else "fp32"


def autocast_dtype(run: RunSection, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of the run's precision on ``device`` (None: full precision)."""
    return AUTOCAST_DTYPES[resolve_precision(run.precision, device)]


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
    """Seed, set CPU threads, apply the GPU speed settings (:func:`apply_gpu_settings`) and return the device."""
    if run.threads > 0:
        torch.set_num_threads(run.threads)
    seed_everything(run.seed)
    device = local_device(resolve_device(run.device))  # under torchrun: CUDA device LOCAL_RANK
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
    """What the run's speed settings amount to on ``device`` (JSON-ready): the CUDA-only switches are False on a
    CPU; ``channels_last`` is the request (per network, :func:`prepare_models` records what was applied)."""
    cuda = device.type == "cuda"
    return {
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if cuda else "cpu",
        "torch": torch.__version__,
        "precision": resolve_precision(run.precision, device),
        "precision_requested": run.precision,
        "tf32": cuda and run.tf32,
        "cudnn_benchmark": cuda and run.cudnn_benchmark,
        "channels_last": run.channels_last,  # requested; per network, see prepare_models' "models"
        "fused_optimizers": device.type in fused_kernel_devices(),  # Adam and SGD
        "compile": run.compile,
    }


def apply_gpu_settings(run: RunSection, device: torch.device) -> dict[str, Any]:
    """Set the process-wide backend flags a CUDA run asks for (TF32, cuDNN autotuning); returns
    :func:`gpu_settings`. On a CPU no backend flag is changed. :func:`apply_run_settings` calls it."""
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


def _has_2d_convolutions(model: nn.Module) -> bool:
    """Channels-last is a 4-D layout: nets with 1-D or 3-D convolutions keep theirs."""
    convolutions = [m for m in model.modules() if isinstance(m, nn.modules.conv._ConvNd)]
    return bool(convolutions) and all(m.weight.dim() == 4 for m in convolutions)


CPU_NARROW_BATCHNORM = 16
"""On a CPU, BatchNorm2d layers with fewer channels than this compute in contiguous format inside a channels-last
network (:func:`keep_narrow_batchnorm_contiguous`). Measured on 2 cores (PyTorch 2.14, oneDNN convolutions):
channels-last made a training forward+backward 0.82x as long for the quick-start student (simple_cnn, BatchNorm
widths 16-64), 0.86x for a CIFAR ResNet-18 and for DCGAN's generator and critic, and a frozen teacher's forward
0.4x; but PyTorch's channels-last CPU BatchNorm is slow on few channels (10x on 3 channels, 13x backward on 8),
which made DFAD's generator (BatchNorm of 8 and 3 channels at full resolution) 1.28x as long in channels-last,
and 0.5x as long (forward and backward) with those two layers in contiguous format."""


def channels_last_pays(model: nn.Module, device: torch.device) -> bool:
    """Whether channels-last memory format speeds ``model`` up on ``device``: conv nets on CUDA and on a CPU
    (there with :func:`keep_narrow_batchnorm_contiguous`)."""
    return device.type in ("cuda", "cpu") and _has_2d_convolutions(model)


def _to_contiguous(module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...]:
    return (args[0].contiguous(), *args[1:])


def _to_channels_last(module: nn.Module, args: tuple[Any, ...], output: torch.Tensor) -> torch.Tensor:
    return output.contiguous(memory_format=torch.channels_last)


def keep_narrow_batchnorm_contiguous(model: nn.Module) -> int:
    """Make the BatchNorm2d layers of ``model`` with fewer than :data:`CPU_NARROW_BATCHNORM` channels compute in
    contiguous format (their input converted, their output converted back to channels-last) by forward hooks:
    state-dict keys and parameters do not change (a model prepared twice is hooked once). Returns how many
    layers compute in contiguous format."""
    narrow = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d) and m.num_features < CPU_NARROW_BATCHNORM]
    for layer in narrow:
        if _to_contiguous in layer._forward_pre_hooks.values():  # prepared before
            continue
        layer.register_forward_pre_hook(_to_contiguous)
        layer.register_forward_hook(_to_channels_last)
    return len(narrow)


def match_parameter_layouts(optimizer: torch.optim.Optimizer) -> None:
    """Give each per-parameter state tensor (momentum, moments) its parameter's memory layout, in place.

    A checkpoint keeps the layout its tensors had when saved, and fused optimiser kernels walk parameter and state
    in memory order: a run saved with contiguous weights and resumed in channels-last (or the reverse) would pair
    the wrong elements. Values are unchanged; state already laid out like its parameter is left alone."""
    for group in optimizer.param_groups:
        for param in group["params"]:
            state = optimizer.state.get(param, {})
            for key, value in state.items():
                if isinstance(value, torch.Tensor) and value.shape == param.shape and value.stride() != param.stride():
                    state[key] = torch.empty_like(param, dtype=value.dtype).copy_(value)


def prepare_model(model: nn.Module, run: RunSection, device: torch.device) -> dict[str, Any]:
    """Apply the run's per-network speed settings to ``model`` (already on ``device``) IN PLACE; returns what
    was applied. Parameters keep their identity, so optimisers built before stay valid.

    * channels-last memory format for conv nets, with ``run.channels_last`` (on a CPU, BatchNorm layers of few
      channels keep computing in contiguous format: :func:`keep_narrow_batchnorm_contiguous`);
    * ``torch.compile`` with ``run.compile`` (``nn.Module.compile``: state-dict keys do not change). Where it
      cannot compile (:func:`compile_unavailable`) it warns and leaves the model eager; errors while compiling
      later fall back to eager too (``torch._dynamo.config.suppress_errors``).
    """
    applied: dict[str, Any] = {"channels_last": False, "compiled": False}
    if run.channels_last and channels_last_pays(model, device):
        model.to(memory_format=torch.channels_last)
        applied["channels_last"] = True
        if device.type == "cpu":
            applied["contiguous_batchnorms"] = keep_narrow_batchnorm_contiguous(model)
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
def fused_kernel_devices() -> list[str]:
    """Device types with fused Adam/SGD kernels in this PyTorch (CUDA, and the CPU in recent releases)."""
    try:
        from torch.utils._foreach_utils import _get_fused_kernels_supported_devices

        return list(_get_fused_kernels_supported_devices())
    except ImportError:  # a PyTorch without that helper: the devices every fused kernel supports
        return ["cpu", "cuda"]


def _fusable(params: Sequence[torch.Tensor]) -> bool | None:
    """Fused optimiser kernels where PyTorch has them: they mask a skipped update on the device (``found_inf``),
    so the engine never waits for the accelerator (see dfkd.engine.safety.masked_step)."""
    supported = fused_kernel_devices()
    return True if params and all(p.is_floating_point() and p.device.type in supported for p in params) else None


def build_optimizer(params: Iterable[nn.Parameter], cfg: OptimizerSection) -> torch.optim.Optimizer:
    """The recipe's optimiser; fused Adam/SGD wherever PyTorch has the kernels (CUDA, and CPU in recent PyTorch)."""
    trainable = [p for p in params if p.requires_grad]
    fused = _fusable(trainable)
    if cfg.name == "sgd":
        return torch.optim.SGD(
            trainable,
            lr=cfg.lr,
            momentum=cfg.momentum,
            nesterov=cfg.nesterov,
            weight_decay=cfg.weight_decay,
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

    def load_state_dict(self, state_dict: dict) -> None:
        if "lr_lambdas" not in state_dict and "T_max" in state_dict:  # saved by CosineAnnealingLR (earlier dfkd)
            plan = {"start": 0, "start_factor": 1.0, "total": int(state_dict["T_max"])}
            state_dict = {**state_dict, "lr_lambdas": [dict(plan) for _ in self.lr_lambdas]}
        planned = [fn.total if isinstance(fn, CosineToZero) else None for fn in self.lr_lambdas]
        super().load_state_dict(state_dict)
        for fn, total in zip(self.lr_lambdas, planned, strict=True):
            if isinstance(fn, CosineToZero) and total is not None and fn.total != total and total > self.last_epoch:
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

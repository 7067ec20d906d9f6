"""Loading teachers from what users actually have.

Accepted: a dfkd teacher file (:mod:`dfkd.teachers.record`); a bare ``state_dict``; a dict wrapping one under
``state_dict`` / ``model`` / ``model_state_dict`` / ``net``; keys prefixed by ``module.`` (DataParallel) or
``_orig_mod.`` (torch.compile). The architecture comes from the file or from the caller: any dfkd or timm
model name, or ``package.module:callable`` naming an importable function that returns an ``nn.Module``.
Files are always read with ``weights_only=True``.
"""
from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from torch import Tensor, nn

from dfkd.models import create_model
from dfkd.runs.checkpoint import load_checkpoint
from dfkd.teachers.record import FORMAT, TeacherInfo, weights_sha256

WRAPPER_KEYS = ("state_dict", "model_state_dict", "model", "net", "teacher")
PREFIXES = ("module.", "_orig_mod.")
CLASSIFIER_HINTS = ("fc", "linear", "classifier", "head", "logits")


class TeacherLoadError(ValueError):
    """A teacher could not be loaded; the message names the file and what was expected vs found."""


@dataclass(frozen=True)
class TeacherRequest:
    """What the caller knows about the teacher (from the recipe); None means "take it from the file"."""

    checkpoint: str
    arch: str | None = None
    arch_kwargs: Mapping[str, object] | None = None
    num_classes: int | None = None
    input_size: tuple[int, int, int] | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None


def _is_state_dict(obj: object) -> bool:
    return isinstance(obj, Mapping) and bool(obj) and all(isinstance(v, Tensor) for v in obj.values())


def extract_state_dict(checkpoint: Mapping[str, object], file: str) -> dict[str, Tensor]:
    """Find the weights in a loaded checkpoint and strip DataParallel / compile prefixes."""
    if _is_state_dict(checkpoint):
        found: Mapping[str, Tensor] = checkpoint  # type: ignore[assignment]
    else:
        candidates = [checkpoint[k] for k in WRAPPER_KEYS if k in checkpoint and _is_state_dict(checkpoint[k])]
        if not candidates:
            keys = ", ".join(sorted(map(str, checkpoint))[:8])
            raise TeacherLoadError(
                f"{file}: no weights found: expected a state_dict (name -> tensor) or a dict holding one under "
                f"one of {WRAPPER_KEYS}; found keys: {keys}"
            )
        found = candidates[0]  # type: ignore[assignment]
    weights = {}
    for name, tensor in found.items():
        stripped = True
        while stripped:
            stripped = False
            for prefix in PREFIXES:
                if name.startswith(prefix):
                    name, stripped = name[len(prefix) :], True
        weights[name] = tensor
    return weights


def infer_num_classes(weights: Mapping[str, Tensor]) -> tuple[int, str] | None:
    """Output classes from the last 2-D classifier weight (name hints: fc, linear, classifier, head)."""
    matrices = [(k, v) for k, v in weights.items() if k.endswith("weight") and v.dim() == 2]
    hinted = [(k, v) for k, v in matrices if any(h in k.split(".")[-2] for h in CLASSIFIER_HINTS)] if matrices else []
    chosen = (hinted or matrices)[-1:] if matrices else []
    return (int(chosen[0][1].shape[0]), chosen[0][0]) if chosen else None


def resolve_builder(arch: str) -> Callable[..., nn.Module]:
    """A model name (dfkd or timm), or ``package.module:callable`` (imported, never evaluated as code)."""
    if ":" not in arch:
        return lambda **kwargs: create_model(arch, **kwargs)
    module_name, _, attr_path = arch.partition(":")
    try:
        target: object = importlib.import_module(module_name)
        for attr in attr_path.split("."):
            target = getattr(target, attr)
    except (ImportError, AttributeError) as err:
        raise TeacherLoadError(f"cannot import teacher architecture {arch!r}: {err}") from err
    if not callable(target):
        raise TeacherLoadError(f"teacher architecture {arch!r} is not callable")
    return target  # type: ignore[return-value]


def _build(arch: str, kwargs: Mapping[str, object], num_classes: int, file: str) -> nn.Module:
    builder = resolve_builder(arch)
    call_kwargs = dict(kwargs)
    try:
        accepts = inspect.signature(builder).parameters
        takes_classes = "num_classes" in accepts or any(p.kind is p.VAR_KEYWORD for p in accepts.values())
    except (TypeError, ValueError):
        takes_classes = True
    if takes_classes:
        call_kwargs.setdefault("num_classes", num_classes)
    try:
        model = builder(**call_kwargs)
    except (TypeError, ValueError) as err:
        raise TeacherLoadError(f"{file}: cannot build teacher architecture {arch!r} with {call_kwargs}: {err}") from err
    if not isinstance(model, nn.Module):
        raise TeacherLoadError(f"teacher architecture {arch!r} returned {type(model).__name__}, not an nn.Module")
    return model


def _fit(model: nn.Module, weights: Mapping[str, Tensor], arch: str, file: str) -> None:
    own = model.state_dict()
    missing = [k for k in own if k not in weights]
    unexpected = [k for k in weights if k not in own]
    shapes = [
        f"{k}: checkpoint {tuple(weights[k].shape)} vs model {tuple(own[k].shape)}"
        for k in own
        if k in weights and weights[k].shape != own[k].shape
    ]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing key(s), e.g. {missing[:3]}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected key(s), e.g. {unexpected[:3]}")
        if shapes:
            parts.append(f"{len(shapes)} shape mismatch(es), e.g. {shapes[:2]}")
        raise TeacherLoadError(
            f"{file}: the weights do not fit architecture {arch!r}: " + "; ".join(parts)
            + ". Set teacher.arch (and teacher.arch_kwargs) to the architecture the weights were saved from."
        )
    model.load_state_dict(weights, strict=True)


def load_teacher(request: TeacherRequest) -> tuple[nn.Module, TeacherInfo]:
    """Build the teacher, load its weights, check classes/architecture; returns it in eval mode with its info."""
    file = request.checkpoint
    if not Path(file).is_file():
        raise TeacherLoadError(f"{file}: teacher checkpoint not found")
    checkpoint = load_checkpoint(file)
    recorded = None
    if checkpoint.get("format") == FORMAT:
        recorded = TeacherInfo.from_dict(checkpoint["info"])  # type: ignore[arg-type]
        weights = dict(checkpoint["state_dict"])  # type: ignore[call-overload]
        if recorded.sha256 and weights_sha256(weights) != recorded.sha256:
            raise TeacherLoadError(f"{file}: the weights' sha256 does not match the one recorded: file corrupted?")
    else:
        weights = extract_state_dict(checkpoint, file)

    arch = request.arch or (recorded.arch if recorded else None)
    if arch is None:
        raise TeacherLoadError(
            f"{file}: the file holds bare weights without an architecture; set teacher.arch to a model name "
            "(e.g. cifar_resnet34, any timm model) or to package.module:callable"
        )
    if recorded and request.arch and request.arch != recorded.arch:
        raise TeacherLoadError(f"{file}: architecture mismatch: the recipe expects {request.arch!r}, the file "
                               f"records {recorded.arch!r}")
    inferred = infer_num_classes(weights)
    file_classes = recorded.num_classes if recorded else (inferred[0] if inferred else None)
    if request.num_classes is not None and file_classes is not None and request.num_classes != file_classes:
        where = f" ({inferred[1]} has {inferred[0]} rows)" if inferred and not recorded else ""
        raise TeacherLoadError(
            f"{file}: number of classes mismatch: the recipe expects {request.num_classes} (teacher.num_classes), "
            f"the checkpoint has {file_classes}{where}"
        )
    num_classes = request.num_classes or file_classes
    if num_classes is None:
        raise TeacherLoadError(f"{file}: cannot tell the number of classes; set teacher.num_classes")
    kwargs = dict(request.arch_kwargs or (recorded.arch_kwargs if recorded else {}))
    model = _build(arch, kwargs, num_classes, file)
    _fit(model, weights, arch, file)
    model.eval()

    base = recorded or TeacherInfo(arch=arch, num_classes=num_classes, input_size=(3, 32, 32), mean=None, std=None)
    for key, given, stored in (("mean", request.mean, base.mean), ("std", request.std, base.std)):
        if given is not None and stored is not None and tuple(given) != tuple(stored):
            raise TeacherLoadError(
                f"{file}: input normalisation mismatch: the recipe sets teacher.{key}={list(given)}, the file records "
                f"{list(stored)}; the file's value is what the teacher was trained with: remove teacher.{key}"
            )
    info = replace(
        base,
        arch=arch,
        arch_kwargs=kwargs,
        num_classes=num_classes,
        input_size=request.input_size or base.input_size,
        mean=request.mean or base.mean,
        std=request.std or base.std,
        sha256=weights_sha256(weights),
    )
    return model, info

"""Loading teachers from what users actually have.

Accepted: a dfkd teacher file (:mod:`dfkd.teachers.record`); a bare ``state_dict``; a dict wrapping one under
``state_dict`` / ``model`` / ``model_state_dict`` / ``net``; keys prefixed by ``module.`` (DataParallel) or
``_orig_mod.`` (torch.compile). Files are always read with ``weights_only=True``.

Nothing read from a file is ever imported or called. The architecture is a dfkd or timm model name, or
``package.module:callable`` naming an importable function that returns an ``nn.Module``; but an architecture
*recorded in a file* must be a registered model name, and a file's ``arch_kwargs`` only ever reach a registered
model's builder (never timm's weight-fetching arguments). ``package.module:callable`` is imported only when the
user writes it (a recipe key or a command's flag), with the keyword arguments the user gives.
"""

from __future__ import annotations

import importlib
import inspect
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeGuard

import timm
from torch import Tensor, nn

from dfkd.models import create_model, list_dfkd_models
from dfkd.runs.checkpoint import load_checkpoint
from dfkd.teachers.record import FORMAT, TeacherInfo, weights_sha256

WRAPPER_KEYS = ("state_dict", "model_state_dict", "model", "net", "teacher")
PREFIXES = ("module.", "_orig_mod.")
CLASSIFIER_HINTS = ("fc", "linear", "classifier", "head", "logits")

# timm.create_model's own arguments fetch or read weights (pretrained, checkpoint_path, ...): never from a file.
LOADER_KWARGS = tuple(
    name for name in inspect.signature(timm.create_model).parameters if name not in ("model_name", "kwargs")
)


class TeacherLoadError(ValueError):
    """A teacher could not be loaded; the message names the file and what was expected vs found."""


@dataclass(frozen=True)
class OptionNames:
    """Where the user sets each teacher property, as error messages name it: recipe keys by default, a command's
    own flags for ``dfkd eval``."""

    arch: str = "teacher.arch"
    arch_kwargs: str = "teacher.arch_kwargs"
    num_classes: str = "teacher.num_classes"
    mean: str = "teacher.mean"
    std: str = "teacher.std"
    data: str = "data.name"


RECIPE_OPTIONS = OptionNames()


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
    options: OptionNames = field(default=RECIPE_OPTIONS)


def _is_state_dict(obj: object) -> TypeGuard[Mapping[str, Tensor]]:
    return isinstance(obj, Mapping) and bool(obj) and all(isinstance(v, Tensor) for v in obj.values())


def _strip(name: str) -> str:
    stripped = True
    while stripped:
        stripped = False
        for prefix in PREFIXES:
            if name.startswith(prefix):
                name, stripped = name[len(prefix) :], True
    return name


def extract_state_dict(checkpoint: Mapping[str, object], file: str) -> dict[str, Tensor]:
    """Find the weights in a loaded checkpoint and strip DataParallel / compile prefixes.

    The module versions PyTorch stores with a ``state_dict`` (its ``_metadata``) are kept, with the same prefixes
    stripped, so that loading treats old files exactly as ``nn.Module.load_state_dict`` does.
    """
    if _is_state_dict(checkpoint):
        found: Mapping[str, Tensor] = checkpoint
    else:
        candidates = [c for c in (checkpoint.get(k) for k in WRAPPER_KEYS) if _is_state_dict(c)]
        if not candidates:
            keys = ", ".join(sorted(map(str, checkpoint))[:8])
            raise TeacherLoadError(
                f"{file}: no weights found: expected a state_dict (name -> tensor) or a dict holding one under "
                f"one of {WRAPPER_KEYS}; found keys: {keys}"
            )
        found = candidates[0]
    weights: dict[str, Tensor] = OrderedDict((_strip(name), tensor) for name, tensor in found.items())
    metadata = getattr(found, "_metadata", None)
    if isinstance(metadata, Mapping):
        weights._metadata = OrderedDict(  # type: ignore[attr-defined]
            (_strip(f"{prefix}.")[:-1] if prefix else prefix, value) for prefix, value in metadata.items()
        )
    return weights


def infer_num_classes(weights: Mapping[str, Tensor]) -> tuple[int, str] | None:
    """Output classes from the last 2-D classifier weight (name hints: fc, linear, classifier, head)."""
    matrices = [(k, v) for k, v in weights.items() if k.endswith("weight") and v.dim() == 2]
    hinted = [(k, v) for k, v in matrices if any(h in k.split(".")[-2] for h in CLASSIFIER_HINTS)] if matrices else []
    chosen = (hinted or matrices)[-1:] if matrices else []
    return (int(chosen[0][1].shape[0]), chosen[0][0]) if chosen else None


def is_registered_model(arch: str) -> bool:
    """Whether ``arch`` is a model name dfkd or timm registers (the only architectures a file may name)."""
    return ":" not in arch and (arch in list_dfkd_models() or timm.is_model(arch))


def resolve_builder(arch: str) -> Callable[..., object]:
    """A model name (dfkd or timm), or ``package.module:callable`` (imported, never evaluated as code).

    Callers pass only architectures the user wrote or registered names (see the module docstring), and check that
    what the builder returns is an ``nn.Module``.
    """
    if ":" not in arch:
        return lambda **kwargs: create_model(arch, **kwargs)
    module_name, _, attr_path = arch.partition(":")
    try:
        target: object = importlib.import_module(module_name)
    except ImportError as err:
        raise TeacherLoadError(
            f"cannot import the module {module_name!r} of the architecture {arch!r} ({err}): the module must be "
            "installed or on PYTHONPATH"
        ) from err
    try:
        for attr in attr_path.split("."):
            target = getattr(target, attr)
    except AttributeError as err:
        raise TeacherLoadError(f"cannot import the architecture {arch!r}: {err}") from err
    if not callable(target):
        raise TeacherLoadError(f"teacher architecture {arch!r} is not callable")
    return target


def _build(arch: str, kwargs: Mapping[str, object], num_classes: int, file: str, options: OptionNames) -> nn.Module:
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
    except (TypeError, ValueError, KeyError, AssertionError) as err:  # what builders raise for unfit arguments
        raise TeacherLoadError(
            f"{file}: cannot build teacher architecture {arch!r} with {call_kwargs}: {err} ({options.arch}, "
            f"{options.arch_kwargs})"
        ) from err
    if not isinstance(model, nn.Module):
        raise TeacherLoadError(f"teacher architecture {arch!r} returned {type(model).__name__}, not an nn.Module")
    return model


def _architecture(request: TeacherRequest, recorded: TeacherInfo | None, file: str) -> tuple[str, dict[str, object]]:
    """The architecture and its keyword arguments, enforcing that nothing named by the file is imported."""
    names = request.options
    if request.arch is not None:
        arch = request.arch
    elif recorded is not None:
        arch = recorded.arch
    else:
        raise TeacherLoadError(
            f"{file}: the file holds bare weights without an architecture; give it with {names.arch}: a model name "
            "(e.g. cifar_resnet34, any timm model) or package.module:callable"
        )
    if recorded is not None and arch != recorded.arch:
        raise TeacherLoadError(
            f"{file}: architecture mismatch: {names.arch} is {arch!r}, the file records {recorded.arch!r}"
        )
    if request.arch is None and not is_registered_model(arch):
        raise TeacherLoadError(
            f"{file}: refused: the file records the architecture {arch!r}, which is not a registered dfkd or timm "
            f"model name, and code named by a file is never imported; if you trust it, name it yourself with "
            f"{names.arch} (and its keyword arguments with {names.arch_kwargs})"
        )
    if request.arch_kwargs is not None:
        return arch, dict(request.arch_kwargs)
    from_file = dict(recorded.arch_kwargs) if recorded is not None else {}
    if from_file and not is_registered_model(arch):
        raise TeacherLoadError(
            f"{file}: the file records keyword arguments {from_file} for {arch!r}; keyword arguments read from a "
            f"file are passed only to registered models: give them yourself with {names.arch_kwargs}"
        )
    loaders = sorted(set(from_file) & set(LOADER_KWARGS))
    if loaders:
        raise TeacherLoadError(
            f"{file}: refused: the file's arch_kwargs set {loaders}, which make timm fetch or read weights; give "
            f"the keyword arguments yourself with {names.arch_kwargs}"
        )
    return arch, from_file


def _check_finite(weights: Mapping[str, Tensor], file: str) -> None:
    bad = [k for k, v in weights.items() if (v.is_floating_point() or v.is_complex()) and not bool(v.isfinite().all())]
    if bad:
        raise TeacherLoadError(
            f"{file}: refused: {len(bad)} weight tensor(s) hold NaN or infinite values, e.g. {bad[:3]}; the training "
            "that wrote them diverged or the file is damaged"
        )


def _fit(model: nn.Module, weights: Mapping[str, Tensor], arch: str, file: str, options: OptionNames) -> None:
    """Load ``weights`` into ``model``, accepting exactly what ``load_state_dict(strict=True)`` accepts (e.g.
    BatchNorm layers of files from PyTorch < 0.4.1 without ``num_batches_tracked``, which PyTorch fills in)."""
    own = model.state_dict()
    shapes = [
        f"{k}: checkpoint {tuple(weights[k].shape)} vs model {tuple(own[k].shape)}"
        for k in own
        if k in weights and weights[k].shape != own[k].shape
    ]
    fitting: dict[str, Tensor] = OrderedDict(
        (k, v) for k, v in weights.items() if k not in own or own[k].shape == v.shape
    )
    if hasattr(weights, "_metadata"):
        fitting._metadata = weights._metadata  # type: ignore[attr-defined]
    try:
        result = model.load_state_dict(fitting, strict=False)  # the missing keys PyTorch itself cannot fill
    except RuntimeError as err:
        detail = str(err).splitlines()[-1].strip()
        raise TeacherLoadError(f"{file}: the weights do not load into {arch!r}: {detail}") from err
    missing = [k for k in result.missing_keys if k not in weights]  # not those already listed as shape mismatches
    unexpected = list(result.unexpected_keys)
    if not (missing or unexpected or shapes):
        return
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing key(s), e.g. {missing[:3]}")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected key(s), e.g. {unexpected[:3]}")
    if shapes:
        parts.append(f"{len(shapes)} shape mismatch(es), e.g. {shapes[:2]}")
    if missing or unexpected:
        hint = (
            f"the weights were saved from another architecture: give the one they come from with {options.arch} "
            f"(and {options.arch_kwargs})"
        )
    else:
        hint = (
            f"the layers are those of {arch!r} with other sizes: give the keyword arguments (e.g. width, depth) "
            f"the weights were saved with in {options.arch_kwargs}"
        )
    raise TeacherLoadError(f"{file}: the weights do not fit architecture {arch!r}: " + "; ".join(parts) + f". {hint}")


def _read(file: str) -> tuple[dict[str, Tensor], TeacherInfo | None]:
    """The weights and, for a dfkd teacher file, its recorded info (sha256 verified)."""
    checkpoint = load_checkpoint(file)
    if checkpoint.get("format") != FORMAT:
        return extract_state_dict(checkpoint, file), None
    if "info" not in checkpoint:
        raise TeacherLoadError(
            f"{file}: a {FORMAT} file without its 'info' entry (architecture, classes, input size): the file is "
            "damaged or was edited; re-export it, or save only its weights and give the architecture yourself"
        )
    try:
        recorded = TeacherInfo.from_dict(checkpoint["info"])
    except ValueError as err:
        raise TeacherLoadError(f"{file}: {err}") from err
    if not _is_state_dict(checkpoint.get("state_dict")):
        raise TeacherLoadError(f"{file}: a {FORMAT} file without its weights ('state_dict'): the file is damaged")
    weights = dict(checkpoint["state_dict"])
    if recorded.sha256 and weights_sha256(weights) != recorded.sha256:
        raise TeacherLoadError(f"{file}: the weights' sha256 does not match the one recorded: file corrupted?")
    return weights, recorded


def load_teacher(request: TeacherRequest) -> tuple[nn.Module, TeacherInfo]:
    """Build the teacher, load its weights, check classes/architecture; returns it in eval mode with its info.

    The info's ``input_size`` is None for bare weights (unless the request gives it): the data decides it.
    """
    file = request.checkpoint
    names = request.options
    if Path(file).is_dir():
        raise TeacherLoadError(f"{file}: is a directory; expected a teacher file (e.g. runs/<name>/student_best.pt)")
    if not Path(file).is_file():
        raise TeacherLoadError(f"{file}: teacher checkpoint not found")
    weights, recorded = _read(file)
    _check_finite(weights, file)
    arch, kwargs = _architecture(request, recorded, file)

    inferred = infer_num_classes(weights)
    file_classes = recorded.num_classes if recorded else (inferred[0] if inferred else None)
    if request.num_classes is not None and file_classes is not None and request.num_classes != file_classes:
        where = f" ({inferred[1]} has {inferred[0]} rows)" if inferred and not recorded else ""
        raise TeacherLoadError(
            f"{file}: number of classes mismatch: {request.num_classes} expected ({names.num_classes}), "
            f"the checkpoint has {file_classes}{where}"
        )
    num_classes = request.num_classes or file_classes
    if num_classes is None:
        raise TeacherLoadError(f"{file}: cannot tell the number of classes; give it with {names.num_classes}")
    model = _build(arch, kwargs, num_classes, file, names)
    _fit(model, weights, arch, file, names)
    model.eval()

    base = recorded or TeacherInfo(arch=arch, num_classes=num_classes, input_size=None, mean=None, std=None)
    for key, given, stored in (("mean", request.mean, base.mean), ("std", request.std, base.std)):
        if given is not None and stored is not None and tuple(given) != tuple(stored):
            option = getattr(names, key)
            raise TeacherLoadError(
                f"{file}: input normalisation mismatch: {option}={list(given)} but the file records {list(stored)}; "
                f"the file's value is what the teacher was trained with: remove {option}"
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

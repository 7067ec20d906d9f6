"""Building dfkd models by name through timm's registry.

Every network in :mod:`dfkd.models` is registered with timm's ``@register_model`` (through
:func:`register_dfkd_model`, which also records the name), so ``timm.create_model(name, num_classes=...)`` builds
it once :mod:`dfkd.models` has been imported, and a recipe can name a dfkd network and a timm network the same
way. timm passes its own keyword arguments (``pretrained``, ``pretrained_cfg``, ...) to every entrypoint:
:func:`build_model` strips them, refuses ``pretrained=True`` (dfkd ships no weights) and builds the class.

:func:`create_model` is the entry point the rest of dfkd uses: it guarantees registration and turns timm's
"Unknown model" error into an :class:`UnknownModelError` that lists dfkd's names. Keyword arguments a dfkd model
does not take, of the wrong type (checked against its constructor's annotations, ``true`` is not an ``int``), or
that its constructor refuses raise a :class:`ModelArgumentError` naming the model and the argument;
:func:`check_model_kwargs` runs the same checks without building anything (recipe validation uses it).
"""

from __future__ import annotations

import difflib
import inspect
import math
import typing
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar, runtime_checkable

import timm
from pydantic import PydanticUserError, TypeAdapter, ValidationError
from timm.models import model_entrypoint, register_model
from torch import Tensor, nn

__all__ = [
    "ModelArgumentError",
    "SupportsFeatures",
    "UnknownModelError",
    "build_model",
    "check_model_kwargs",
    "check_model_name",
    "create_model",
    "latent_size",
    "list_dfkd_models",
    "register_dfkd_model",
]

# Keyword arguments timm.create_model adds for every entrypoint; none of them means anything to a dfkd class.
_TIMM_KWARGS = ("pretrained_cfg", "pretrained_cfg_overlay", "cache_dir", "pretrained_model_args")

_NO_WEIGHTS = "dfkd models have no pretrained weights; train a teacher with `dfkd train-teacher` or load a checkpoint"

_DFKD_MODELS: set[str] = set()

F = TypeVar("F", bound=Callable[..., nn.Module])
M = TypeVar("M", bound=nn.Module)


class UnknownModelError(ValueError):
    """A model name that neither dfkd nor timm registers; the message lists dfkd's models.

    ``close`` holds the registered names closest to the unknown one (possibly none).
    """

    def __init__(self, message: str, close: list[str]) -> None:
        super().__init__(message)
        self.close = close


class ModelArgumentError(TypeError, ValueError):
    """Keyword arguments a model does not take, of the wrong type, or refused by its constructor.

    For one bad argument, ``argument``, ``expected`` (in words) and ``value`` say which and why; ``unknown`` is
    true when the model does not take that argument at all.
    """

    def __init__(
        self, message: str, argument: str | None = None, expected: str = "", value: Any = None, *, unknown: bool = False
    ) -> None:
        super().__init__(message)
        self.argument, self.expected, self.value, self.unknown = argument, expected, value, unknown


@runtime_checkable
class SupportsFeatures(Protocol):
    """A classifier that also returns intermediate feature maps (used by attention transfer).

    ``forward_with_features(x)`` returns ``(logits, features)`` where ``features`` are the outputs of the
    network's block groups, shallow to deep, and ``logits`` equal ``forward(x)``.
    """

    num_classes: int

    def forward_with_features(self, x: Tensor) -> tuple[Tensor, list[Tensor]]: ...


def latent_size(generator: nn.Module) -> int:
    """The length of the latent code ``z`` a generator takes: its ``nz`` attribute, which every generator sets.

    Raises :class:`TypeError` for a module without a positive integer ``nz``.
    """
    nz = getattr(generator, "nz", None)
    if isinstance(nz, bool) or not isinstance(nz, int) or nz < 1:
        raise TypeError(f"{type(generator).__name__} is not a generator: it has no positive integer attribute 'nz'")
    return nz


def register_dfkd_model(fn: F) -> F:
    """Register ``fn`` with timm under ``fn.__name__`` and remember it as a dfkd model."""
    _DFKD_MODELS.add(fn.__name__)
    register_model(fn)  # returns fn itself, typed as a plain callable
    return fn


def list_dfkd_models() -> list[str]:
    """Sorted names of the models dfkd registers with timm (any timm model name is also accepted)."""
    import dfkd.models  # noqa: F401  (registration happens on import)

    return sorted(_DFKD_MODELS)


def _constructor_hints(cls: type[nn.Module]) -> dict[str, Any]:
    """The annotations of ``cls.__init__`` resolved to types ({} where they cannot be resolved)."""
    try:
        return typing.get_type_hints(cls.__init__)
    except (NameError, TypeError):
        return {}


def _accepted(cls: type[nn.Module], fixed: Mapping[str, Any]) -> list[str]:
    return [
        p.name
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.name != "self" and p.name not in fixed and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]


def _typed_kwargs(cls: type[nn.Module], name: str, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """``kwargs`` checked against the constructor's annotations (and converted, e.g. a list to a tuple).

    Validation is pydantic's lax mode except that a bool is taken only where the annotation accepts a bool
    strictly (``width: true`` is refused, not read as 1), and a float must be finite.
    """
    hints = _constructor_hints(cls)
    out = dict(kwargs)
    for key, value in kwargs.items():
        hint = hints.get(key)
        if hint is None or hint is Any:
            continue
        try:
            adapter = TypeAdapter(hint)
        except PydanticUserError:  # an annotation pydantic cannot validate (e.g. a module): the model's business
            continue
        try:
            checked = adapter.validate_python(value, strict=isinstance(value, bool))
        except ValidationError as err:
            expected = err.errors()[0]["msg"].removeprefix("Input should be ").split(", ")[0]
            expected = expected.replace("a valid integer", "an integer").replace("a valid ", "a ")
            raise ModelArgumentError(
                f"{name}: keyword argument '{key}': expected {expected}, got {value!r}", key, expected, value
            ) from None
        if isinstance(checked, float) and not math.isfinite(checked):
            raise ModelArgumentError(
                f"{name}: keyword argument '{key}': expected a finite number, got {value!r}",
                key,
                "a finite number",
                value,
            )
        out[key] = checked
    return out


def build_model(cls: type[M], name: str, kwargs: dict[str, Any], /, **fixed: Any) -> M:
    """Build ``cls(**fixed, **kwargs)`` for the timm entrypoint ``name``.

    ``kwargs`` are what the caller passed to ``create_model``; ``fixed`` are the architecture arguments the
    entrypoint pins (e.g. a ResNet's block counts). Strips the keyword arguments timm adds (``pretrained_cfg``,
    ``pretrained_cfg_overlay``, ``cache_dir``), raises if ``pretrained=True``, rejects unknown or pinned keyword
    arguments with a message that lists the accepted ones and arguments of the wrong type (against the
    constructor's annotations), turns a ``ValueError``/``RuntimeError`` of the constructor (e.g. ``width=0``)
    into a :class:`ModelArgumentError`, and attaches minimal timm-style ``pretrained_cfg`` / ``default_cfg``
    dicts (architecture name, number of classes and input size where the model defines them; no weights, no
    normalisation -- the normalisation of a trained teacher is recorded with its checkpoint).
    """
    kwargs = dict(kwargs)
    if kwargs.pop("pretrained", False):
        raise ModelArgumentError(f"{name}: {_NO_WEIGHTS}")
    for key in _TIMM_KWARGS:
        kwargs.pop(key, None)
    accepted = _accepted(cls, fixed)
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise ModelArgumentError(f"{name}: unexpected keyword argument(s) {unknown}; accepted: {accepted}")
    kwargs = _typed_kwargs(cls, name, kwargs)
    try:
        model = cls(**fixed, **kwargs)
    except (ValueError, RuntimeError) as err:
        raise ModelArgumentError(f"{name}: cannot build it with {kwargs}: {err}") from err
    cfg: dict[str, Any] = {"architecture": name, "has_weights": False}
    for attr in ("num_classes", "input_size"):
        if hasattr(model, attr):
            cfg[attr] = getattr(model, attr)
    # plain attributes, as timm sets them (Module.__setattr__ is typed for tensors and submodules only)
    vars(model).update(pretrained_cfg=cfg, default_cfg=cfg)
    return model


def check_model_name(name: str) -> None:
    """Raise :class:`UnknownModelError` (listing dfkd's models and close names) unless dfkd or timm knows ``name``."""
    import dfkd.models  # noqa: F401  (registration happens on import)

    if timm.is_model(name):
        return
    names = list_dfkd_models()
    close = difflib.get_close_matches(name, sorted(set(names) | set(timm.list_models())), n=3)
    hint = f" Did you mean {close}?" if close else ""
    raise UnknownModelError(
        f"unknown model {name!r}.{hint} dfkd models: {', '.join(names)}; "
        "any timm model name (timm.list_models()) is also accepted.",
        close,
    )


def _dfkd_class(name: str) -> type[nn.Module] | None:
    """The class a dfkd entrypoint builds, read from its return annotation (None for timm's own models)."""
    if name not in _DFKD_MODELS:
        return None
    try:
        cls = typing.get_type_hints(model_entrypoint(name)).get("return")
    except (NameError, TypeError):
        return None
    return cls if isinstance(cls, type) and issubclass(cls, nn.Module) else None


def check_model_kwargs(name: str, kwargs: Mapping[str, Any]) -> None:
    """Check the types of ``kwargs`` for the dfkd model ``name`` without building it.

    Raises :class:`ModelArgumentError` for an argument the model's constructor does not take or of the wrong
    type. What the annotations cannot judge (ranges, arguments an entrypoint pins, timm's own models) is left to
    :func:`create_model`.
    """
    check_model_name(name)
    cls = _dfkd_class(name)
    if cls is not None:
        accepted = _accepted(cls, {})
        for key, value in kwargs.items():
            if key not in accepted:
                close = difflib.get_close_matches(key, accepted, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                expected = f"{name} takes {', '.join(accepted)}{hint}"
                raise ModelArgumentError(
                    f"{name}: unexpected keyword argument '{key}' ({expected})", key, expected, value, unknown=True
                )
        _typed_kwargs(cls, name, kwargs)


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """Build a dfkd or timm model by name: ``timm.create_model(name, **kwargs)`` after registration.

    Raises :class:`UnknownModelError` for a name neither dfkd nor timm knows (listing dfkd's models) and
    :class:`ModelArgumentError` for keyword arguments the model does not take or refuses.
    """
    check_model_name(name)
    try:
        return timm.create_model(name, **kwargs)
    except ModelArgumentError:
        raise
    except TypeError as err:  # a timm model's own constructor refusing a keyword argument
        raise ModelArgumentError(f"{name}: {err}") from err

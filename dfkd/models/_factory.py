"""Building dfkd models by name through timm's registry.

Every network in :mod:`dfkd.models` is registered with timm's ``@register_model`` (through
:func:`register_dfkd_model`, which also records the name), so ``timm.create_model(name, num_classes=...)`` builds
it once :mod:`dfkd.models` has been imported, and a recipe can name a dfkd network and a timm network the same
way. timm passes its own keyword arguments (``pretrained``, ``pretrained_cfg``, ...) to every entrypoint:
:func:`build_model` strips them, refuses ``pretrained=True`` (dfkd ships no weights) and builds the class.

:func:`create_model` is the entry point the rest of dfkd uses: it guarantees registration and turns timm's
"Unknown model" error into a :class:`ValueError` that lists dfkd's names.
"""
from __future__ import annotations

import difflib
import inspect
from typing import Any, Callable, Protocol, TypeVar, runtime_checkable

import timm
from timm.models import register_model
from torch import Tensor, nn

__all__ = [
    "SupportsFeatures",
    "build_model",
    "create_model",
    "list_dfkd_models",
    "register_dfkd_model",
]

# Keyword arguments timm.create_model adds for every entrypoint; none of them means anything to a dfkd class.
_TIMM_KWARGS = ("pretrained_cfg", "pretrained_cfg_overlay", "cache_dir", "pretrained_model_args")

_NO_WEIGHTS = (
    "dfkd models have no pretrained weights; train a teacher with `dfkd train-teacher` or load a checkpoint"
)

_DFKD_MODELS: set[str] = set()

F = TypeVar("F", bound=Callable[..., nn.Module])
M = TypeVar("M", bound=nn.Module)


@runtime_checkable
class SupportsFeatures(Protocol):
    """A classifier that also returns intermediate feature maps (used by attention transfer).

    ``forward_with_features(x)`` returns ``(logits, features)`` where ``features`` are the outputs of the
    network's block groups, shallow to deep, and ``logits`` equal ``forward(x)``.
    """

    num_classes: int

    def forward_with_features(self, x: Tensor) -> tuple[Tensor, list[Tensor]]: ...


def register_dfkd_model(fn: F) -> F:
    """Register ``fn`` with timm under ``fn.__name__`` and remember it as a dfkd model."""
    _DFKD_MODELS.add(fn.__name__)
    return register_model(fn)


def list_dfkd_models() -> list[str]:
    """Sorted names of the models dfkd registers with timm (any timm model name is also accepted)."""
    import dfkd.models  # noqa: F401  (registration happens on import)

    return sorted(_DFKD_MODELS)


def build_model(cls: type[M], name: str, kwargs: dict[str, Any], /, **fixed: Any) -> M:
    """Build ``cls(**fixed, **kwargs)`` for the timm entrypoint ``name``.

    ``kwargs`` are what the caller passed to ``create_model``; ``fixed`` are the architecture arguments the
    entrypoint pins (e.g. a ResNet's block counts). Strips the keyword arguments timm adds (``pretrained_cfg``,
    ``pretrained_cfg_overlay``, ``cache_dir``), raises if ``pretrained=True``, rejects unknown or pinned keyword
    arguments with a message that lists the accepted ones, and attaches minimal timm-style ``pretrained_cfg`` /
    ``default_cfg`` dicts (architecture name, number of classes and input size where the model defines them; no
    weights, no normalisation -- the normalisation of a trained teacher is recorded with its checkpoint).
    """
    kwargs = dict(kwargs)
    if kwargs.pop("pretrained", False):
        raise ValueError(f"{name}: {_NO_WEIGHTS}")
    for key in _TIMM_KWARGS:
        kwargs.pop(key, None)
    accepted = [
        p.name
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.name != "self" and p.name not in fixed and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise TypeError(f"{name}: unexpected keyword argument(s) {unknown}; accepted: {accepted}")
    model = cls(**fixed, **kwargs)
    cfg: dict[str, Any] = {"architecture": name, "has_weights": False}
    for attr in ("num_classes", "input_size"):
        if hasattr(model, attr):
            cfg[attr] = getattr(model, attr)
    model.pretrained_cfg = cfg
    model.default_cfg = cfg
    return model


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """Build a dfkd or timm model by name: ``timm.create_model(name, **kwargs)`` after registration.

    Raises :class:`ValueError` for a name neither dfkd nor timm knows, listing dfkd's models.
    """
    import dfkd.models  # noqa: F401  (registration happens on import)

    try:
        return timm.create_model(name, **kwargs)
    except RuntimeError as err:
        if "Unknown model" not in str(err):
            raise
        names = list_dfkd_models()
        close = difflib.get_close_matches(name, sorted(set(names) | set(timm.list_models())), n=3)
        hint = f" Did you mean {close}?" if close else ""
        raise ValueError(
            f"unknown model {name!r}.{hint} dfkd models: {', '.join(names)}; "
            "any timm model name (timm.list_models()) is also accepted."
        ) from err

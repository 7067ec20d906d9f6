"""The teacher checkpoint format: weights plus everything needed to use them.

A dfkd teacher file is a ``weights_only``-loadable dict::

    {"format": "dfkd.teacher/1", "info": {...TeacherInfo...}, "state_dict": {...}}

``info`` records architecture (a dfkd/timm model name; a ``package.module:callable`` is recorded as well, but
loading such a file needs the user to name it, see :mod:`dfkd.teachers.load`), its keyword arguments,
number of classes, input size, input normalisation (mean/std), test accuracy, the dataset it was trained on
and a sha256 of the weights, verified on load.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import SupportsFloat, SupportsInt, TypeVar

import torch
from torch import Tensor, nn

from dfkd.runs.checkpoint import save_checkpoint

FORMAT = "dfkd.teacher/1"

T = TypeVar("T")


@dataclass(frozen=True)
class TeacherInfo:
    """What a teacher file records. ``input_size`` is ``(C, H, W)``; None only for bare weights, whose input size
    comes from the data they meet (:func:`dfkd.teachers.ensure.match_input_size`)."""

    arch: str
    num_classes: int
    input_size: tuple[int, int, int] | None
    mean: tuple[float, ...] | None
    std: tuple[float, ...] | None
    accuracy: float | None = None
    dataset: str | None = None
    arch_kwargs: dict[str, object] = field(default_factory=dict)
    sha256: str | None = None

    def to_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["input_size"] = None if self.input_size is None else list(self.input_size)
        out["mean"] = None if self.mean is None else list(self.mean)
        out["std"] = None if self.std is None else list(self.std)
        return out

    @classmethod
    def from_dict(cls, data: object) -> TeacherInfo:
        """Parse a file's ``info``; :class:`ValueError` naming the key for anything missing or malformed."""
        if not isinstance(data, Mapping):
            raise ValueError(f"'info' must be a mapping of the teacher's properties, got {type(data).__name__}")

        def optional(key: str, parse: Callable[[object], T], expected: str) -> T | None:
            if data.get(key) is None:
                return None
            try:
                return parse(data[key])
            except (TypeError, ValueError) as err:
                raise ValueError(f"info.{key}: expected {expected}, got {data[key]!r}") from err

        def required(key: str, parse: Callable[[object], T], expected: str) -> T:
            value = optional(key, parse, expected)
            if value is None:
                raise ValueError(f"info.{key} is missing (expected {expected})")
            return value

        return cls(
            arch=required("arch", _text, "a model name"),
            num_classes=required("num_classes", _integer, "a number of classes"),
            input_size=required("input_size", _size, "[channels, height, width]"),
            mean=optional("mean", _floats, "a list of per-channel means"),
            std=optional("std", _floats, "a list of per-channel standard deviations"),
            accuracy=optional("accuracy", _number, "a number"),
            dataset=optional("dataset", _text, "a dataset name"),
            arch_kwargs=optional("arch_kwargs", _kwargs, "a mapping of keyword arguments") or {},
            sha256=optional("sha256", _text, "a hex digest"),
        )


# Parsers of the values of a file's ``info``: TypeError or ValueError for a value of the wrong kind.
def _integer(value: object) -> int:
    if not isinstance(value, (str, SupportsInt)):
        raise TypeError(value)
    return int(value)


def _number(value: object) -> float:
    if not isinstance(value, (str, SupportsFloat)):
        raise TypeError(value)
    return float(value)


def _items(value: object) -> Iterable[object]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError(value)
    return value


def _floats(value: object) -> tuple[float, ...]:
    return tuple(_number(v) for v in _items(value))


def _size(value: object) -> tuple[int, int, int]:
    dims = tuple(_integer(v) for v in _items(value))
    if len(dims) != 3 or min(dims) < 1:
        raise ValueError(value)
    channels, height, width = dims
    return channels, height, width


def _kwargs(value: object) -> dict[str, object]:
    if not isinstance(value, Mapping):
        raise TypeError(value)
    return {str(k): v for k, v in value.items()}


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(value)
    return value


def weights_sha256(state_dict: Mapping[str, Tensor]) -> str:
    """sha256 over parameter names, dtypes, shapes and bytes, in sorted name order."""
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().cpu().contiguous().reshape(-1)
        digest.update(f"{name}|{tensor.dtype}|{tuple(state_dict[name].shape)}|".encode())
        digest.update(tensor.view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()


def save_teacher(path: str | Path, model: nn.Module, info: TeacherInfo) -> TeacherInfo:
    """Write a dfkd teacher file atomically; returns ``info`` with the weights' sha256 filled in."""
    state_dict = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}  # whatever its layout
    info = TeacherInfo(**{**asdict(info), "sha256": weights_sha256(state_dict)})
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(path, {"format": FORMAT, "info": info.to_dict(), "state_dict": state_dict})
    return info

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
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from dfkd.runs.checkpoint import save_checkpoint

FORMAT = "dfkd.teacher/1"


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

        def field_value(key: str, parse: Callable[[object], object], expected: str, required: bool = False) -> Any:
            if data.get(key) is None:
                if required:
                    raise ValueError(f"info.{key} is missing (expected {expected})")
                return None
            try:
                return parse(data[key])
            except (TypeError, ValueError) as err:
                raise ValueError(f"info.{key}: expected {expected}, got {data[key]!r}") from err

        def floats(value: object) -> tuple[float, ...]:
            return tuple(float(v) for v in value)  # type: ignore[attr-defined]

        def size(value: object) -> tuple[int, int, int]:
            dims = tuple(int(v) for v in value)  # type: ignore[attr-defined]
            if len(dims) != 3 or min(dims) < 1:
                raise ValueError(value)
            return dims  # type: ignore[return-value]

        def kwargs(value: object) -> dict[str, object]:
            if not isinstance(value, Mapping):
                raise TypeError(value)
            return {str(k): v for k, v in value.items()}

        return cls(
            arch=field_value("arch", _text, "a model name", required=True),
            num_classes=field_value("num_classes", int, "a number of classes", required=True),
            input_size=field_value("input_size", size, "[channels, height, width]", required=True),
            mean=field_value("mean", floats, "a list of per-channel means"),
            std=field_value("std", floats, "a list of per-channel standard deviations"),
            accuracy=field_value("accuracy", float, "a number"),
            dataset=field_value("dataset", _text, "a dataset name"),
            arch_kwargs=field_value("arch_kwargs", kwargs, "a mapping of keyword arguments") or {},
            sha256=field_value("sha256", _text, "a hex digest"),
        )


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
    state_dict = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    info = TeacherInfo(**{**asdict(info), "sha256": weights_sha256(state_dict)})
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(path, {"format": FORMAT, "info": info.to_dict(), "state_dict": state_dict})
    return info

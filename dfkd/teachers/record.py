"""The teacher checkpoint format: weights plus everything needed to use them.

A dfkd teacher file is a ``weights_only``-loadable dict::

    {"format": "dfkd.teacher/1", "info": {...TeacherInfo...}, "state_dict": {...}}

``info`` records architecture (a dfkd/timm model name or ``package.module:callable``), its keyword arguments,
number of classes, input size, input normalisation (mean/std), test accuracy, the dataset it was trained on
and a sha256 of the weights, verified on load.
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import Tensor, nn

from dfkd.runs.checkpoint import save_checkpoint

FORMAT = "dfkd.teacher/1"


@dataclass(frozen=True)
class TeacherInfo:
    arch: str
    num_classes: int
    input_size: tuple[int, int, int]
    mean: tuple[float, ...] | None
    std: tuple[float, ...] | None
    accuracy: float | None = None
    dataset: str | None = None
    arch_kwargs: dict[str, object] = field(default_factory=dict)
    sha256: str | None = None

    def to_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["input_size"] = list(self.input_size)
        out["mean"] = None if self.mean is None else list(self.mean)
        out["std"] = None if self.std is None else list(self.std)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> TeacherInfo:
        def floats(key: str) -> tuple[float, ...] | None:
            value = data.get(key)
            return None if value is None else tuple(float(v) for v in value)  # type: ignore[union-attr]

        return cls(
            arch=str(data["arch"]),
            num_classes=int(data["num_classes"]),  # type: ignore[arg-type]
            input_size=tuple(int(v) for v in data["input_size"]),  # type: ignore[union-attr,arg-type]
            mean=floats("mean"),
            std=floats("std"),
            accuracy=None if data.get("accuracy") is None else float(data["accuracy"]),  # type: ignore[arg-type]
            dataset=None if data.get("dataset") is None else str(data["dataset"]),
            arch_kwargs=dict(data.get("arch_kwargs") or {}),  # type: ignore[call-overload]
            sha256=None if data.get("sha256") is None else str(data["sha256"]),
        )


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

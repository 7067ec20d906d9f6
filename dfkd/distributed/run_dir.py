"""The run directory as the ranks other than 0 see it: the same paths, but nothing is ever written.

Rank 0 alone writes ``recipe.yaml``, metrics, TensorBoard events, images, checkpoints and the summary; the
others hold a :class:`FollowerRunDir` so that the shared training loop needs no "am I rank 0?" test at each
write. Reading (e.g. ``checkpoints/last.pt`` when resuming) uses the real files, so the run directory must be
visible to every process (one machine, or a shared file system across machines).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import Any

import torch

from dfkd.runs.run_dir import RunDir


class FollowerRunDir(RunDir):
    """A :class:`RunDir` whose writers do nothing (it does not even create the directory)."""

    def __init__(self, name: str, root: str | PurePath = "runs", *, tensorboard: bool = True) -> None:
        self.name = name
        self.path = Path(root) / name
        self.tensorboard = False
        self._writer = None
        self._purge_step = None

    def log_metrics(self, step: int, metrics: Mapping[str, object]) -> None:
        return None

    def truncate_metrics(self, after_step: int) -> int:
        return 0

    def log_images(self, tag: str, step: int, images: torch.Tensor, **kwargs: Any) -> Path:
        return self.images_dir / f"{tag}_{int(step):08d}.png"

    def write_summary(self, summary: Mapping[str, Any]) -> None:
        return None

    def __repr__(self) -> str:
        return f"FollowerRunDir({str(self.path)!r})"

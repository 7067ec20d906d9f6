"""One run's directory: recipe, metrics, summary, checkpoints, TensorBoard events and image grids.

Layout of ``<root>/<name>/``::

    recipe.yaml             the resolved recipe (written by the caller with dfkd.config.dump_recipe)
    metrics.jsonl           one JSON object per logged step: {"step": 100, "train/loss": 0.3, ...}
    summary.json            final / latest numbers of the run (written atomically)
    checkpoints/last.pt     latest state, for resuming
    checkpoints/best.pt     state at the best evaluation
    tb/                     TensorBoard event files
    images/                 PNG grids, ``<tag>_<step>.png``
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Mapping
from pathlib import Path, PurePath
from types import TracebackType
from typing import TYPE_CHECKING, Any

import torch

from dfkd.runs.atomic import atomic_write_bytes, atomic_write_text, remove_stale_temporaries

if TYPE_CHECKING:
    from torch.utils.tensorboard import SummaryWriter


def check_scalar(key: str, value: object) -> torch.Tensor | float:
    """``value`` checked as :func:`to_float` checks it, but not read: a detached one-element tensor stays on its
    device (no host synchronisation), anything else becomes a float. Convert many with :func:`to_floats`."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise TypeError(f"metric '{key}': expected a scalar, got a tensor of shape {tuple(value.shape)}")
        return value.detach().reshape(())
    return to_float(key, value)


def to_floats(values: list[torch.Tensor]) -> list[float]:
    """One-element tensors as Python floats, in order, with one host synchronisation per device (the values of
    one device are gathered into one tensor first; float64 when any is float64, else float32, exact for float32,
    float16 and bfloat16 values and for counts below 2**24)."""
    groups: dict[torch.device, dict[torch.dtype, list[int]]] = {}
    for index, value in enumerate(values):
        groups.setdefault(value.device, {}).setdefault(value.dtype, []).append(index)
    out: list[float] = [0.0] * len(values)
    for by_dtype in groups.values():
        wide = torch.float64 if torch.float64 in by_dtype else torch.float32
        order = [i for indices in by_dtype.values() for i in indices]
        gathered = torch.cat(
            [torch.stack([values[i].reshape(()) for i in indices]).to(wide) for indices in by_dtype.values()]
        )
        for i, number in zip(order, gathered.tolist(), strict=True):
            out[i] = float(number)
    return out


def to_float(key: str, value: object) -> float:
    """``value`` (a number, numpy scalar or one-element tensor) as a Python float; TypeError naming ``key``."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise TypeError(f"metric '{key}': expected a scalar, got a tensor of shape {tuple(value.shape)}")
        return float(value.detach().item())
    if isinstance(value, (bool, int, float)) or hasattr(value, "__float__"):
        return float(value)
    raise TypeError(f"metric '{key}': expected a number or a one-element tensor, got {type(value).__name__}")


class RunDir:
    """Paths and writers of ``<root>/<name>/``; a context manager that closes the TensorBoard writer.

    ``tensorboard=False`` skips the event files (metrics.jsonl and PNGs are still written).
    """

    def __init__(self, name: str, root: str | PurePath = "runs", *, tensorboard: bool = True) -> None:
        if not name or "/" in name or "\\" in name or name in (".", ".."):
            raise ValueError(f"run name {name!r}: expected a plain directory name")
        self.name = name
        self.path = Path(root) / name
        self.tensorboard = tensorboard
        self.path.mkdir(parents=True, exist_ok=True)
        self._writer: SummaryWriter | None = None
        self._purge_step: int | None = None

    # ------------------------------------------------------------------------------------------------ paths
    @property
    def recipe_path(self) -> Path:
        return self.path / "recipe.yaml"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def summary_path(self) -> Path:
        return self.path / "summary.json"

    @property
    def checkpoint_dir(self) -> Path:
        return self.path / "checkpoints"

    @property
    def last_checkpoint(self) -> Path:
        return self.checkpoint_dir / "last.pt"

    @property
    def best_checkpoint(self) -> Path:
        return self.checkpoint_dir / "best.pt"

    @property
    def tb_dir(self) -> Path:
        return self.path / "tb"

    @property
    def images_dir(self) -> Path:
        return self.path / "images"

    def remove_stale_temporaries(self) -> list[Path]:
        """Delete temporary files left by atomic writes that were killed mid-write (``checkpoints/.last.pt.*.tmp``
        can be as large as a checkpoint). Call when the run starts, before anything writes. Returns them."""
        removed: list[Path] = []
        for folder in (self.path, self.checkpoint_dir, self.images_dir):
            removed += remove_stale_temporaries(folder)
        return removed

    # ---------------------------------------------------------------------------------------------- metrics
    def log_metrics(self, step: int, metrics: Mapping[str, object]) -> None:
        """Append ``{"step": step, **metrics}`` (values as floats) to metrics.jsonl and to TensorBoard."""
        row: dict[str, Any] = {"step": int(step)}
        for key, value in metrics.items():
            row[key] = to_float(key, value)
        with self.metrics_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")
        writer = self._tb()
        if writer is not None:
            for key, value in row.items():
                if key != "step" and math.isfinite(value):
                    writer.add_scalar(key, value, int(step))

    def read_metrics(self) -> list[dict[str, Any]]:
        """All complete rows of metrics.jsonl (a torn last line from a crash is ignored)."""
        if not self.metrics_path.exists():
            return []
        rows = []
        for line in self.metrics_path.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict) and isinstance(row.get("step"), int):
                rows.append(row)
        return rows

    def truncate_metrics(self, after_step: int) -> int:
        """Drop metrics rows with ``step > after_step`` (logged after the checkpoint being resumed from).

        TensorBoard events from those steps are discarded too (via the writer's ``purge_step``). Returns the
        number of rows dropped.
        """
        self._purge_step = int(after_step) + 1
        if self._writer is not None:  # re-open so that the purge takes effect
            self._writer.close()
            self._writer = None
        if not self.metrics_path.exists():
            return 0
        lines = self.metrics_path.read_text(encoding="utf-8").splitlines()
        kept = [json.dumps(row) for row in self.read_metrics() if row["step"] <= after_step]
        if len(kept) != len(lines):
            atomic_write_text(self.metrics_path, "".join(line + "\n" for line in kept))
        return len(lines) - len(kept)

    # ----------------------------------------------------------------------------------------------- images
    def log_images(
        self,
        tag: str,
        step: int,
        images: torch.Tensor,
        *,
        value_range: tuple[float, float] = (-1.0, 1.0),
        nrow: int | None = None,
    ) -> Path:
        """Save a grid of ``images`` (N, C, H, W) as ``images/<tag>_<step>.png`` and to TensorBoard.

        Pixel values are mapped from the FIXED ``value_range`` (default [-1, 1], a tanh generator's output;
        pass (0, 1) for images already in [0, 1]) to [0, 1] and clipped, never by per-image min/max, so
        grids of different steps are comparable. Returns the PNG path.
        """
        from torchvision.utils import make_grid, save_image

        if images.dim() != 4:
            raise ValueError(f"log_images('{tag}'): expected a (N, C, H, W) tensor, got shape {tuple(images.shape)}")
        low, high = value_range
        batch = images.detach().to("cpu", torch.float32).clamp(low, high)
        if nrow is None:
            nrow = max(1, math.ceil(math.sqrt(batch.shape[0])))
        grid = make_grid(batch, nrow=nrow, normalize=True, value_range=(low, high), padding=2)
        buffer = io.BytesIO()
        save_image(grid, buffer, format="png")
        safe_tag = re.sub(r"[^A-Za-z0-9_.-]+", "_", tag)
        png = self.images_dir / f"{safe_tag}_{int(step):08d}.png"
        atomic_write_bytes(png, buffer.getvalue())
        writer = self._tb()
        if writer is not None:
            writer.add_image(tag, grid, int(step))
        return png

    # ---------------------------------------------------------------------------------------------- summary
    def write_summary(self, summary: Mapping[str, Any]) -> None:
        """Atomically write summary.json."""
        atomic_write_text(self.summary_path, json.dumps(dict(summary), indent=2) + "\n")

    def read_summary(self) -> dict[str, Any] | None:
        """summary.json as a dict, or None if it does not exist yet."""
        if not self.summary_path.exists():
            return None
        return json.loads(self.summary_path.read_text(encoding="utf-8"))

    # ---------------------------------------------------------------------------------------------- writers
    def _tb(self) -> SummaryWriter | None:
        if not self.tensorboard:
            return None
        if self._writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(log_dir=str(self.tb_dir), purge_step=self._purge_step)
            self._purge_step = None
        return self._writer

    def flush(self) -> None:
        """Push buffered TensorBoard events to disk."""
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        """Close the TensorBoard writer (a later log call opens a new one)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self) -> RunDir:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

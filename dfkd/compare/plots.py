"""accuracy_vs_time.png and accuracy_vs_images.png: one line per contender (mean over seeds, step-wise between
evaluations) with a band from the lowest to the highest seed, and the teacher's accuracy dashed."""

from __future__ import annotations

import io
from pathlib import Path

from dfkd.compare.curves import Axis, Curve, mean_band
from dfkd.runs.atomic import atomic_write_bytes

AXIS_LABELS: dict[Axis, str] = {
    "seconds": "training time (s, without evaluation)",
    "images": "generated images the student trained on",
}


def plot_accuracy(path: Path, axis: Axis, curves: dict[str, list[Curve]], teacher_acc: float, title: str) -> None:
    """Write one figure; ``curves`` maps each contender to its seeds' curves (in legend order)."""
    from matplotlib.figure import Figure  # no pyplot: no global state, no display backend

    figure = Figure(figsize=(7.0, 4.5), dpi=120, layout="constrained")
    ax = figure.add_subplot()
    for label, seeds in curves.items():
        band = mean_band(seeds, axis)
        if band is None:
            continue
        (line,) = ax.plot(
            band.grid,
            band.mean,
            drawstyle="steps-post",
            marker="o" if band.grid.size == 1 else None,
            label=f"{label} (n={len(seeds)})",
        )
        if len(seeds) > 1:
            ax.fill_between(band.grid, band.low, band.high, step="post", alpha=0.2, color=line.get_color(), lw=0)
    ax.axhline(teacher_acc, linestyle="--", color="black", linewidth=1.0, label=f"teacher ({teacher_acc:.2%})")
    ax.set_xlabel(AXIS_LABELS[axis])
    ax.set_ylabel("student test accuracy")
    ax.set_ylim(0.0, 1.0)
    ax.set_xlim(left=0.0)
    ax.grid(alpha=0.3)
    ax.set_title(title + "\nmean over seeds; band: lowest to highest seed", fontsize=10)
    ax.legend(loc="best", fontsize=9)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    atomic_write_bytes(path, buffer.getvalue())

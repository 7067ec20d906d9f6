"""One progress bar over the whole comparison, with an ETA.

The bar counts the budget spent: rounds (``--budget-rounds``) or training seconds (``--budget-seconds``),
summed over members. While a member trains, a background thread follows the last row of its metrics.jsonl
(written every ``logging.log_every`` rounds), so the bar moves within a member without touching its loop.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tqdm import tqdm

from dfkd.compare.spec import Budget

_TAIL_BYTES = 8192


def last_metrics_row(path: Path) -> dict | None:
    """The last complete row of a metrics.jsonl (None if there is none yet)."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - _TAIL_BYTES))
            lines = fh.read().decode("utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return None
    for line in reversed(lines):
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict):
            return row
    return None


class OverallProgress:
    """``members`` x the budget in total; :meth:`follow` one member's run directory while it trains."""

    def __init__(self, members: int, budget: Budget, *, poll_s: float = 1.0) -> None:
        self.budget = budget
        self.per_member = float(budget.value)
        self.poll_s = poll_s
        self.done = 0.0  # budget spent by members already finished
        self.position = 0.0  # budget spent in all: finished members plus the running one's progress
        disable = os.environ.get("DFKD_NO_PROGRESS") == "1" or not sys.stderr.isatty()
        unit = "round" if budget.kind == "rounds" else "s"
        layout = "{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} {unit} [{elapsed}<{remaining}]"
        self.bar = tqdm(
            total=members * self.per_member,
            unit=unit,
            desc="compare",
            position=0,
            leave=True,
            dynamic_ncols=True,
            disable=disable,
            bar_format=layout,
        )
        self._lock = threading.Lock()

    def _spent(self, row: dict | None) -> float:
        if row is None:
            return 0.0
        value = row.get("step") if self.budget.kind == "rounds" else row.get("train_wall_s")
        return min(float(value or 0.0), self.per_member)

    def _show(self, current: float) -> None:
        with self._lock:
            target = self.done + current
            if target > self.position:
                self.bar.update(target - self.position)
                self.position = target

    @contextmanager
    def follow(self, run_path: Path) -> Iterator[None]:
        """Move the bar with ``run_path``'s metrics while the block runs; count the member as spent after."""
        stop = threading.Event()

        def poll() -> None:
            while not stop.wait(self.poll_s):
                self._show(self._spent(last_metrics_row(run_path / "metrics.jsonl")))

        thread = threading.Thread(target=poll, name="dfkd-compare-progress", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
        self.done += self.per_member  # a member may finish its rounds under a seconds budget: it is done
        self._show(0.0)

    def skip(self) -> None:
        """Count a member that had already finished (a resumed comparison)."""
        self.done += self.per_member
        self._show(0.0)

    def write(self, text: str) -> None:
        """Print a line without breaking the bar."""
        tqdm.write(text)

    def close(self) -> None:
        self.bar.close()

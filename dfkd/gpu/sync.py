"""One steady-state training round under ``torch.cuda.set_sync_debug_mode("warn")``: how often, and where, the
host waits for the GPU.

A round that never synchronises lets the host queue the next kernels while the GPU works; every ``.item()``,
``bool(tensor)`` or data-dependent shape costs a full pipeline drain. The first ``warmup`` rounds (cuDNN
autotuning, allocator growth, lazy state) are not counted. Each synchronising call is attributed to the
innermost dfkd source line on the stack (or the innermost line at all, when dfkd is not on it).
"""

from __future__ import annotations

import time
import traceback
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from dfkd.diagnostics.host_syncs import explicit_synchronize

_PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # .../dfkd


def _site(stack: list[traceback.FrameSummary]) -> str:
    ours = [f for f in stack if Path(f.filename).resolve().is_relative_to(_PACKAGE_ROOT)]
    frame = (ours or stack)[-1]
    path = Path(frame.filename).resolve()
    shown = path.relative_to(_PACKAGE_ROOT.parent) if path.is_relative_to(_PACKAGE_ROOT.parent) else path
    return f"{shown}:{frame.lineno}"


def count_syncs(round_fn: Callable[[int], object], device: torch.device, *, warmup: int) -> dict[str, Any]:
    """Run ``warmup`` rounds, then one with sync debugging on; returns ``syncs`` (None on a CPU, where nothing
    can be counted), ``sites`` (source line -> count, most frequent first), ``round_s`` and ``warnings`` (the
    other warnings of all these rounds: message -> count)."""
    sites: Counter[str] = Counter()
    others: Counter[str] = Counter()

    def record(message: Warning | str, category: type[Warning], *args: object, **kwargs: object) -> None:
        if "synchroniz" in str(message):
            sites[_site(traceback.extract_stack()[:-1])] += 1
        else:
            others[f"{category.__name__}: {str(message)[:200]}"] += 1

    cuda = device.type == "cuda"
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = record  # restored when the block ends
        for step in range(1, warmup + 1):
            round_fn(step)
        explicit_synchronize(device)
        started = time.perf_counter()
        if cuda:
            torch.cuda.set_sync_debug_mode("warn")
        try:
            round_fn(warmup + 1)
        finally:
            if cuda:
                torch.cuda.set_sync_debug_mode(0)
        explicit_synchronize(device)
        seconds = time.perf_counter() - started
    return {
        "syncs": sum(sites.values()) if cuda else None,
        "sites": dict(sites.most_common()),
        "round_s": seconds,
        "warnings": dict(others.most_common()),
    }

"""Measured speed of distillation rounds: ``dfkd bench distill`` on DFAD's CIFAR-10 recipe, one-stage against DFAD.

The rounds are timed by :func:`dfkd.benchmark.run_benchmark`, the code behind ``dfkd bench``: images/s of both
methods measured side by side in interleaved blocks, their ratio and the one predicted from the cost of each
network pass, and each method's engine overhead against the minimal hand-written loop doing the same passes on
the same networks in the same precision (:mod:`dfkd.diagnostics.hand_loop`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dfkd.benchmark import HAND, BenchReport, distill_contenders, run_benchmark
from dfkd.gpu.profiles import RECIPES, CheckProfile

METHODS = ("onestage", "dfad")


def _method_row(report: BenchReport, name: str) -> dict[str, Any]:
    timing, hand = report.timings[name], report.timings.get(name + HAND)
    return {
        "s_per_round": timing.median,
        "images_per_s": timing.images_per_s,
        "images_per_round": timing.images_per_round,
        "spread": timing.spread,
        "syncs_per_round": timing.syncs_per_round,
        "hand_s_per_round": None if hand is None else hand.median,
        "engine_overhead": report.engine_overhead(name),
    }


def method_throughput(profile: CheckProfile, precision: str, extra: Sequence[str] = ()) -> dict[str, Any]:
    """images/s and engine overhead of ``onestage`` and ``dfad`` on DFAD's CIFAR-10 recipe with
    ``profile.benchmark_overrides``, in ``precision``; their measured and predicted ratio."""
    overrides = [*profile.benchmark_overrides, f"run.precision={precision}", *extra]
    contenders, device = distill_contenders(str(RECIPES / "cifar10" / "dfad.yaml"), overrides, list(METHODS))
    plan = profile.timing
    report = run_benchmark(contenders, rounds=plan.rounds, repeats=plan.repeats, warmup=plan.warmup, device=device,
                           baseline="dfad")  # fmt: skip
    (pair,) = report.pairs()
    timings = report.timings
    return {
        "precision": precision,
        "overrides": overrides,
        "methods": {name: _method_row(report, name) for name in METHODS},
        "onestage_over_dfad": timings["onestage"].images_per_s / timings["dfad"].images_per_s,
        "predicted_onestage_over_dfad": pair["predicted_ratio"],
        "pass_seconds": report.pass_costs,
    }

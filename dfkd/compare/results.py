"""Aggregating member runs into results.json: one entry per contender, means and spreads over seeds.

``time_to_fraction[f]`` is the mean over seeds of the training seconds at the first evaluation where the
student reached ``f`` x the teacher's accuracy; it is null unless EVERY seed reached it (a mean over the seeds
that happened to get there would flatter a contender); ``seeds_reaching`` says how many did.
``images_to_fraction`` is the same in generated images, which the machine's load cannot change.
``speedup_vs`` divides the first contender's time by this one's, where both are known.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from dfkd.compare.curves import Curve, first_reach
from dfkd.compare.plan import Contender
from dfkd.compare.spec import FRACTIONS


@dataclass(frozen=True)
class MemberResult:
    seed: int
    run_dir: str
    summary: dict
    curve: Curve

    @property
    def teacher_acc(self) -> float:
        return float(self.summary["teacher_acc"])

    def reach(self, fraction: float, axis: str) -> float | None:
        return first_reach(self.curve, fraction * self.teacher_acc, axis)  # type: ignore[arg-type]


def mean_std(values: Sequence[float]) -> dict[str, float | None]:
    """Mean and sample standard deviation (None for a single value)."""
    values = [float(v) for v in values]
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else None}


def fraction_key(fraction: float) -> str:
    return f"{fraction:g}"


def _mean_reach(members: Sequence[MemberResult], fraction: float, axis: str) -> float | None:
    reached = [m.reach(fraction, axis) for m in members]
    return None if any(r is None for r in reached) else statistics.fmean(reached)  # type: ignore[arg-type]


def contender_entry(contender: Contender, members: Sequence[MemberResult]) -> dict:
    summaries = [m.summary for m in members]
    return {
        "contender": contender.label,
        "method": summaries[0]["method"],
        "recipe": contender.recipe,
        "seeds": [m.seed for m in members],
        "teacher_acc": statistics.fmean(m.teacher_acc for m in members),
        "student_acc_last": mean_std([s["student_acc_last"] for s in summaries]),
        "student_acc_best": mean_std([s["student_acc_best"] for s in summaries]),
        "train_wall_s": mean_std([s["wall_s"] for s in summaries]),
        "images_seen": mean_std([s["images_seen"] for s in summaries]),
        "rounds": mean_std([s["steps"] for s in summaries]),
        "time_to_fraction": {fraction_key(f): _mean_reach(members, f, "seconds") for f in FRACTIONS},
        "images_to_fraction": {fraction_key(f): _mean_reach(members, f, "images") for f in FRACTIONS},
        "seeds_reaching": {fraction_key(f): sum(m.reach(f, "seconds") is not None for m in members) for f in FRACTIONS},
        "members": [
            {
                "seed": m.seed,
                "run_dir": m.run_dir,
                "student_acc_last": m.summary["student_acc_last"],
                "student_acc_best": m.summary["student_acc_best"],
                "train_wall_s": m.summary["wall_s"],
                "rounds": m.summary["steps"],
                "stopped": m.summary["stopped"],
                "time_to_fraction": {fraction_key(f): m.reach(f, "seconds") for f in FRACTIONS},
            }
            for m in members
        ],
    }


def add_speedups(entries: list[dict]) -> None:
    """``speedup_vs`` on every entry: the first contender's time to each fraction over this one's."""
    first = entries[0]
    for entry in entries:
        ratios = {}
        for key, mine in entry["time_to_fraction"].items():
            theirs = first["time_to_fraction"][key]
            ratios[key] = theirs / mine if mine and theirs else None
        entry["speedup_vs"] = {"contender": first["contender"], **ratios}


def build_results(header: dict, contenders: Sequence[Contender], results: dict[str, list[MemberResult]]) -> dict:
    """results.json: ``header`` (budget, seeds, teacher, ...) and one entry per contender, in order."""
    entries = [contender_entry(c, results[c.label]) for c in contenders]
    add_speedups(entries)
    return {**header, "fractions": list(FRACTIONS), "contenders": entries}

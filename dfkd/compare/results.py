"""Aggregating member runs into results.json: one entry per contender, means and spreads over seeds.

``time_to_fraction[f]`` is the mean over seeds of the training seconds at the first evaluation where the
student reached ``f`` x the teacher's accuracy; it is null unless EVERY seed reached it (a mean over the seeds
that happened to get there would flatter a contender); ``seeds_reaching`` says how many did.
``images_to_fraction`` is the same in generated images, which the machine's load cannot change.
``speedup_vs`` divides the first contender's time by this one's, where both are known.

``reference`` is one contender (``--reference``; by default the one with the highest mean last accuracy) and
``accuracy`` its mean last accuracy over seeds. ``time_to_reference`` says when another contender got there:
its seeds' evaluation curves are averaged over seeds round by round, each seed holding its last evaluation
between its evaluations and after it stopped (the seed-mean curve, :func:`dfkd.compare.curves.seed_mean_curve`),
and the first round where that mean is >= the reference accuracy (less a tolerance of 1e-9, so that the
reference, whose seed-mean at the last round is its mean last accuracy, reaches its own accuracy) gives
``round``, ``seconds`` (the mean over seeds of ``train_wall_s`` at that round) and ``images`` (the mean images
seen at that round); null if the seed-mean never gets there. A per-seed first time to a MEAN accuracy would be
undefined for the seeds that end below the mean; the seed-mean curve is not. ``speedup_to_reference`` is the reference's
seconds over this contender's (null where either is null).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dfkd.compare.curves import Curve, first_reach, seed_mean_curve
from dfkd.compare.plan import Contender
from dfkd.compare.spec import FRACTIONS, CompareError

#: How far below the reference accuracy a seed-mean may be and still count as reaching it (float rounding).
REACH_TOLERANCE = 1e-9


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


def check_reference(reference: str | None, labels: Sequence[str]) -> None:
    """CompareError naming --reference unless ``reference`` is None (the default) or one of the contenders."""
    if reference is not None and reference not in labels:
        raise CompareError(f"--reference: unknown contender {reference!r}; expected one of {', '.join(labels)}")


def time_to_accuracy(curves: Sequence[Curve], accuracy: float) -> dict | None:
    """``{"seconds", "images", "round"}`` where the seed-mean curve first reaches ``accuracy``; None if never."""
    mean = seed_mean_curve(curves)
    if mean is None:
        return None
    hits = np.flatnonzero(mean.accuracy >= accuracy - REACH_TOLERANCE)
    if not hits.size:
        return None
    first = hits[0]
    return {"seconds": float(mean.seconds[first]), "images": float(mean.images[first]), "round": int(mean.steps[first])}


def add_time_to_reference(entries: list[dict], results: dict[str, list[MemberResult]], reference: str | None) -> dict:
    """``time_to_reference`` and ``speedup_to_reference`` on every entry; returns results.json's ``reference``."""
    check_reference(reference, [e["contender"] for e in entries])
    if reference is None:
        chosen = max(entries, key=lambda e: e["student_acc_last"]["mean"])  # the first of equals
    else:
        chosen = next(e for e in entries if e["contender"] == reference)
    target = float(chosen["student_acc_last"]["mean"])
    for entry in entries:
        entry["time_to_reference"] = time_to_accuracy([m.curve for m in results[entry["contender"]]], target)
    theirs = chosen["time_to_reference"]
    for entry in entries:
        mine = entry["time_to_reference"]
        speedup = None
        if mine is not None and theirs is not None and mine["seconds"] > 0:
            speedup = theirs["seconds"] / mine["seconds"]
        entry["speedup_to_reference"] = speedup
    return {"contender": chosen["contender"], "accuracy": target}


def build_results(
    header: dict,
    contenders: Sequence[Contender],
    results: dict[str, list[MemberResult]],
    reference: str | None = None,
) -> dict:
    """results.json: ``header`` (budget, seeds, teacher, ...), the reference contender (``reference``, or by
    default the best mean last accuracy) and one entry per contender, in order."""
    entries = [contender_entry(c, results[c.label]) for c in contenders]
    add_speedups(entries)
    chosen = add_time_to_reference(entries, results, reference)
    return {**header, "fractions": list(FRACTIONS), "reference": chosen, "contenders": entries}

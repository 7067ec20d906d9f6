"""table.md: results.json as a markdown table, ready to paste."""

from __future__ import annotations

from dfkd.compare.results import fraction_key


def _acc(stat: dict) -> str:
    text = f"{100 * stat['mean']:.2f}"
    return text + (f" ± {100 * stat['std']:.2f}" if stat["std"] is not None else "")


def _num(stat: dict, digits: int = 0) -> str:
    text = f"{stat['mean']:,.{digits}f}"
    return text + (f" ± {stat['std']:,.{digits}f}" if stat["std"] is not None else "")


def _seconds(seconds: float, speedup: float | None, baseline: bool) -> str:
    """``S s``, with ``(n.nnx)`` unless this is the contender the speed-up is measured against."""
    return f"{seconds:.1f} s" + ("" if baseline or speedup is None else f" ({speedup:.2f}x)")


def _time(entry: dict, key: str, first: bool) -> str:
    seconds = entry["time_to_fraction"][key]
    if seconds is None:
        reached, total = entry["seeds_reaching"][key], len(entry["seeds"])
        return "—" if reached == 0 else f"— ({reached}/{total} seeds)"
    return _seconds(seconds, entry["speedup_vs"][key], first)


def _time_to_reference(entry: dict, reference: str) -> str:
    reached = entry["time_to_reference"]
    if reached is None:
        return "—"
    return _seconds(reached["seconds"], entry["speedup_to_reference"], entry["contender"] == reference)


def markdown_table(results: dict) -> str:
    entries = results["contenders"]
    keys = [fraction_key(f) for f in results["fractions"]]
    reference = results["reference"]["contender"]
    head = [
        "contender",
        "seeds",
        "student last (%)",
        "student best (%)",
        "last / teacher",
        "train wall (s)",
        "images seen",
        *[f"time to {float(k):.0%}" for k in keys],
        f"time to {reference}'s final ({results['reference']['accuracy']:.1%})",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for i, entry in enumerate(entries):
        ratio = entry["student_acc_last"]["mean"] / entry["teacher_acc"]
        cells = [
            entry["contender"],
            ",".join(map(str, entry["seeds"])),
            _acc(entry["student_acc_last"]),
            _acc(entry["student_acc_best"]),
            f"{ratio:.1%}",
            _num(entry["train_wall_s"], 1),
            _num(entry["images_seen"]),
            *[_time(entry, k, i == 0) for k in keys],
            _time_to_reference(entry, reference),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    budget = ", ".join(f"{v} {k}" for k, v in results["budget"].items())
    teacher = results["teacher"]
    notes = [
        "",
        f"Teacher {teacher['checkpoint']}: {100 * teacher['accuracy']:.2f}% test accuracy. Budget per run: {budget}. "
        "Mean ± sample standard deviation over seeds.",
        "*time to X%*: training seconds (without evaluation) until the student first reached X% of the teacher's "
        "accuracy at an evaluation, mean over seeds; — : not reached by every seed; "
        f"(n.nnx): speed-up over {entries[0]['contender']}.",
        f"*time to {reference}'s final*: training seconds until the mean over seeds of the accuracy (each seed "
        f"holding its last evaluation) first reached {reference}'s mean last accuracy, mean over seeds; — : never "
        f"reached; (n.nnx): speed-up over {reference}.",
    ]
    return "\n".join(lines + notes) + "\n"

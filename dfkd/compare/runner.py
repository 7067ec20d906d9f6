"""``dfkd compare``: every contender x seed as a normal run under ``<root>/<name>/``, then the summary files.

``<root>/<name>/`` holds ``compare.json`` (the budget and overrides it was started with), one run directory per
member (TensorBoard: ``tensorboard --logdir <root>/<name>`` overlays them all), ``results.json``,
``table.md``, ``accuracy_vs_time.png`` and ``accuracy_vs_images.png``.
"""

from __future__ import annotations

import json
from pathlib import Path

from dfkd.compare.curves import read_curve
from dfkd.compare.members import MemberState, member_state, run_member
from dfkd.compare.plan import Member, plan_members
from dfkd.compare.plots import plot_accuracy
from dfkd.compare.progress import OverallProgress
from dfkd.compare.results import MemberResult, build_results, check_reference
from dfkd.compare.spec import CompareError, CompareSpec
from dfkd.compare.table import markdown_table
from dfkd.runs.atomic import atomic_write_text

ARGUMENTS_FILE = "compare.json"


def _record_arguments(spec: CompareSpec, directory: Path) -> None:
    """Write compare.json; a comparison started with another budget or other overrides is refused (its
    finished members would be mixed with new ones). Other methods or seeds only add members."""
    path = directory / ARGUMENTS_FILE
    fixed = {"budget": spec.budget.as_dict(), "overrides": list(spec.overrides)}
    if path.is_file():
        saved = json.loads(path.read_text(encoding="utf-8"))
        if {k: saved.get(k) for k in fixed} != fixed:
            raise CompareError(
                f"{directory} was started with budget {saved.get('budget')} and overrides {saved.get('overrides')}; "
                f"now budget {fixed['budget']} and overrides {fixed['overrides']}. Rerun with the same ones to "
                "resume it, or choose another --name"
            )
    record = {**fixed, "recipes": list(spec.recipes), "methods": list(spec.methods), "seeds": list(spec.seeds)}
    atomic_write_text(path, json.dumps(record, indent=2) + "\n")


def _prepare_teacher(member: Member) -> None:
    """Train a missing teacher once, before any member, so that no member's timing includes it."""
    if not Path(member.recipe.teacher.checkpoint).is_file():
        from dfkd.distill.job import ensure_teacher

        ensure_teacher(member.recipe.teacher)


def _member_result(member: Member, summary: dict) -> MemberResult:
    images_per_round = float(summary["images_seen"]) / max(int(summary["steps"]), 1)
    return MemberResult(member.seed, str(member.path), summary, read_curve(member.path, images_per_round))


def _note_unspent_budget(spec: CompareSpec, member: Member, summary: dict, progress: OverallProgress) -> None:
    if spec.budget.kind == "seconds" and summary.get("stopped") == "completed":
        progress.write(
            f"note: {member.title} completed its {summary['steps']} rounds in {float(summary['wall_s']):.0f} s, "
            f"within the {spec.budget.describe()} budget (raise steps=... so that the time budget decides)"
        )


def run_members(spec: CompareSpec, members: list[Member]) -> dict[str, list[MemberResult]]:
    """Run (resume, or re-read) every member in order; their results by contender label."""
    states = [member_state(m) for m in members]  # refuses changed members before any training
    _prepare_teacher(members[0])
    progress = OverallProgress(len(members), spec.budget)
    results: dict[str, list[MemberResult]] = {}
    try:
        for index, (member, state) in enumerate(zip(members, states, strict=False), start=1):
            counter = f"[{index}/{len(members)}] {member.title}"
            if state is MemberState.DONE:
                progress.write(f"{counter}: finished earlier ({member.path})")
                progress.skip()
                summary = run_member(member, state)
            else:
                verb = "resuming" if state is MemberState.PARTIAL else "starting"
                progress.write(f"{counter}: {verb} {member.path} ({spec.budget.describe()})")
                with progress.follow(member.path):
                    summary = run_member(member, state)
                _note_unspent_budget(spec, member, summary, progress)
            results.setdefault(member.contender.label, []).append(_member_result(member, summary))
    finally:
        progress.close()
    return results


def run_compare(spec: CompareSpec) -> dict:
    """Run the comparison (resuming it if it was started before); write and return results.json's content."""
    contenders, members = plan_members(spec)
    check_reference(spec.reference, [c.label for c in contenders])  # before anything is written or trained
    directory = spec.directory
    directory.mkdir(parents=True, exist_ok=True)
    _record_arguments(spec, directory)
    by_contender = run_members(spec, members)
    first = by_contender[contenders[0].label][0]
    header = {
        "name": directory.name,
        "directory": str(directory),
        "budget": spec.budget.as_dict(),
        "seeds": list(spec.seeds),
        "overrides": list(spec.overrides),
        "teacher": {"checkpoint": members[0].recipe.teacher.checkpoint, "accuracy": first.teacher_acc},
    }
    results = build_results(header, contenders, by_contender, spec.reference)
    atomic_write_text(directory / "results.json", json.dumps(results, indent=2) + "\n")
    atomic_write_text(directory / "table.md", markdown_table(results))
    title = f"{directory.name}: {spec.budget.describe()} per run"
    for axis, filename in (("seconds", "accuracy_vs_time.png"), ("images", "accuracy_vs_images.png")):
        curves = {c.label: [m.curve for m in by_contender[c.label]] for c in contenders}
        plot_accuracy(directory / filename, axis, curves, first.teacher_acc, title)  # type: ignore[arg-type]
    return results

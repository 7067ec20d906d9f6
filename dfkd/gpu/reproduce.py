"""The CIFAR-10 reproduction on one GPU in minutes: ``python -m dfkd.gpu.reproduce DATA OUT [--smoke]``
(``scripts/gpu-reproduce.sh DATA OUT`` installs dfkd first and calls it).

1. DATA (torchvision files, an ImageFolder tree, or a .tar.gz of one: :mod:`dfkd.gpu.data_source`) becomes
   the ``data.*`` keys of both stages, so teacher and students train and test on the same images.
2. A ResNet-34 teacher is trained with ``recipes/cifar10/fast/teacher-resnet34.yaml`` (data on the GPU as
   uint8, augmentation there, bf16, channels-last); its accuracy on the full test split is reported.
3. One-stage and DFAD rounds are timed side by side with this teacher; the time left (``--total-seconds``
   from the start of the script, install included) is shared equally between the two methods, and ``steps``
   is set so that the faster method's rounds fill its budget, with DFAD's milestones at 20% and 40% of them.
4. ``dfkd compare recipes/cifar10/fast/dfad.yaml --methods onestage,dfad --seeds 0 --budget-seconds N``
   runs both (ResNet-18 students, DFAD's settings, evaluated on the full test split).
5. OUT receives results.json, table.md, accuracy_vs_time.png and accuracy_vs_images.png -- nothing else:
   run directories, checkpoints and the unpacked data stay in the scratch folder (``--work``).

``--smoke``: the same steps with tiny networks and a few seconds of budget, for a CPU. Exit status 0 on
success, 3 when ``dfkd compare`` is not available (the teacher's results are written nonetheless).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from dfkd.benchmark import distill_contenders, time_interleaved
from dfkd.config.load import load_recipe
from dfkd.gpu.data_source import DataSource, resolve_data
from dfkd.gpu.profiles import RECIPES
from dfkd.teachers.config import TeacherRecipe
from dfkd.teachers.train import train_teacher

TEACHER_RECIPE = RECIPES / "cifar10" / "fast" / "teacher-resnet34.yaml"
DISTILL_RECIPE = RECIPES / "cifar10" / "fast" / "dfad.yaml"
METHODS = ("onestage", "dfad")
COMPARE_NAME = "cifar10-fast"
COMPARE_OUTPUTS = ("results.json", "table.md", "accuracy_vs_time.png", "accuracy_vs_images.png")
MILESTONES = (0.2, 0.4)  # DFAD: epochs 100 and 200 of 500


@dataclass(frozen=True)
class Plan:
    """Sizes of one reproduction: the full one for a GPU, or the smoke one for a CPU."""

    teacher_overrides: tuple[str, ...]
    distill_overrides: tuple[str, ...]
    per_member_overhead_s: float  # start, data, evaluations, checkpoints of one compare member
    min_budget_s: float
    max_budget_s: float
    evaluations: int  # per run, on the full test split
    calibration: tuple[int, int, int]  # rounds, repeats, warmup


FULL = Plan((), (), per_member_overhead_s=25.0, min_budget_s=30.0, max_budget_s=600.0, evaluations=25,
            calibration=(3, 2, 3))  # fmt: skip
SMOKE = Plan(
    teacher_overrides=("model.arch=simple_cnn", "model.kwargs={width: 4, depth: 2}", "train.epochs=1",
                       "train.batch_size=8"),
    distill_overrides=("student.arch=simple_cnn", "student.kwargs={width: 4, depth: 2}",
                       "generator.kwargs={nz: 8, ngf: 4}", "batch_size=8", "student_steps=2", "data.batch_size=64"),
    per_member_overhead_s=5.0, min_budget_s=1.0, max_budget_s=2.0, evaluations=2, calibration=(1, 1, 1),
)  # fmt: skip


def train_fast_teacher(data: DataSource, work: Path, plan: Plan, epochs: int | None) -> dict[str, Any]:
    """Train the teacher into ``work/teacher.pt`` (kept from an earlier run with the same --work)."""
    output = work / "teacher.pt"
    if output.is_file():
        from dfkd.teachers.load import TeacherRequest, load_teacher

        _, info = load_teacher(TeacherRequest(str(output)))
        print(f"teacher: {output} exists (test accuracy {info.accuracy}); not retrained")
        return {"checkpoint": str(output), "test_acc": info.accuracy, "reused": True}
    overrides = [*data.overrides(), f"output={output}", f"run.root={work / 'runs'}", *plan.teacher_overrides]
    if epochs is not None:
        overrides.append(f"train.epochs={epochs}")
    started = time.perf_counter()
    trained, summary = train_teacher(str(TEACHER_RECIPE), overrides)
    if trained is None:
        raise RuntimeError(f"the teacher's training stopped early ({summary.get('stopped')})")
    return {
        "checkpoint": str(output),
        "arch": trained.arch,
        "test_acc": trained.accuracy,
        "epochs": load_recipe(TeacherRecipe, str(TEACHER_RECIPE), overrides).train.epochs,
        "steps": summary["steps"],
        "train_wall_s": summary["wall_s"],
        "images_per_s": summary["images_per_s"],
        "wall_s": time.perf_counter() - started,
        "runtime": summary.get("runtime"),
        "overrides": overrides,
    }


def calibrate(overrides: list[str], plan: Plan) -> dict[str, float]:
    """Seconds per round of each method with the real teacher, timed side by side."""
    contenders, device = distill_contenders(str(DISTILL_RECIPE), overrides, list(METHODS))
    rounds, repeats, warmup = plan.calibration
    timings = time_interleaved(contenders, rounds=rounds, repeats=repeats, warmup=warmup, device=device)
    del contenders
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return {t.name: t.median for t in timings}


def schedule(budget_s: float, seconds_per_round: dict[str, float], plan: Plan) -> list[str]:
    """``steps`` so that the faster method's rounds fill ``budget_s``, DFAD's milestones at 20%/40% of them,
    evaluations spread over the run."""
    steps = max(5, math.ceil(budget_s / min(seconds_per_round.values())))
    milestones = [max(1, round(f * steps)) for f in MILESTONES]
    every = max(1, steps // plan.evaluations)
    return [
        f"steps={steps}",
        f"optim.lr_schedule.milestones=[{milestones[0]},{milestones[1]}]",
        f"logging.eval_every={every}",
        f"logging.log_every={every}",
    ]


def compare_budget(total_s: float, elapsed_s: float, plan: Plan, fixed: float | None) -> float:
    """Training seconds per method: ``fixed``, else what is left of ``total_s`` shared by the methods."""
    if fixed is not None:
        return fixed
    left = (total_s - elapsed_s) / len(METHODS) - plan.per_member_overhead_s
    return min(plan.max_budget_s, max(plan.min_budget_s, left))


def compare_command(budget_s: float, root: Path, overrides: list[str]) -> list[str]:
    return [
        sys.executable, "-m", "dfkd", "compare", str(DISTILL_RECIPE), "--methods", ",".join(METHODS),
        "--seeds", "0", "--budget-seconds", f"{budget_s:.1f}", "--root", str(root), "--name", COMPARE_NAME,
        *overrides,
    ]  # fmt: skip


def write_outputs(out: Path, results: dict[str, Any], compare_dir: Path | None) -> None:
    """results.json and table.md (teacher line + the comparison's table) and the comparison's plots."""
    out.mkdir(parents=True, exist_ok=True)
    teacher = results["teacher"]
    lines = [
        "# CIFAR-10: one-stage vs DFAD on one GPU",
        "",
        f"Teacher {teacher.get('arch', 'cifar_resnet34')}: test accuracy {teacher['test_acc']:.4f} "
        f"(full test split, last epoch; data: {results['data']['name']}).",
        "",
    ]
    if compare_dir is not None and (compare_dir / "table.md").is_file():
        lines += [f"Students, {results['budget_s']:.0f} s of training each ({results['schedule'][0]}):", "",
                  (compare_dir / "table.md").read_text(encoding="utf-8")]  # fmt: skip
        for name in COMPARE_OUTPUTS[2:]:
            if (compare_dir / name).is_file():
                shutil.copyfile(compare_dir / name, out / name)
    else:
        lines.append(f"Students: not compared ({results.get('compare', {}).get('skipped', 'see results.json')}).")
    (out / "table.md").write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


def reproduce(args: argparse.Namespace) -> int:
    started = args.started_at or time.time()
    plan = SMOKE if args.smoke else FULL
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="dfkd-reproduce-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"scratch folder (runs, checkpoints, unpacked data): {work}", flush=True)
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    data = resolve_data(args.data, work)
    timings["data_s"] = time.perf_counter() - clock
    results: dict[str, Any] = {"smoke": args.smoke, "data": asdict(data), "timings": timings}
    print(f"data: {data.kind} {data.name}", flush=True)

    clock = time.perf_counter()
    results["teacher"] = train_fast_teacher(data, work, plan, args.teacher_epochs)
    timings["teacher_s"] = time.perf_counter() - clock
    print(f"teacher test accuracy: {results['teacher']['test_acc']:.4f}", flush=True)

    shared = [*data.overrides(), f"teacher.checkpoint={results['teacher']['checkpoint']}", *plan.distill_overrides]
    clock = time.perf_counter()
    seconds_per_round = calibrate(shared, plan)
    timings["calibration_s"] = time.perf_counter() - clock
    budget = compare_budget(args.total_seconds, time.time() - started, plan, args.budget_seconds)
    overrides = [*shared, *schedule(budget, seconds_per_round, plan)]
    results.update(seconds_per_round=seconds_per_round, budget_s=budget, schedule=overrides[len(shared) :])
    print(f"rounds: {', '.join(f'{m} {s * 1e3:.1f} ms' for m, s in seconds_per_round.items())}; "
          f"{budget:.0f} s per method; {overrides[len(shared)]}", flush=True)  # fmt: skip

    compare_dir = work / "compare" / COMPARE_NAME
    command = compare_command(budget, work / "compare", overrides)
    results["compare_command"] = command
    if importlib.util.find_spec("dfkd.cli.compare") is None:
        results["compare"] = {"skipped": "dfkd compare is not available in this version of dfkd"}
        write_outputs(args.out, results, None)
        print("dfkd compare is not available: only the teacher's results were written", file=sys.stderr)
        return 3
    print("+ " + " ".join(command), flush=True)
    clock = time.perf_counter()
    completed = subprocess.run(command, check=False)
    timings["compare_s"] = time.perf_counter() - clock
    if completed.returncode != 0:
        results["compare"] = {"error": f"dfkd compare exited with status {completed.returncode}"}
        write_outputs(args.out, results, None)
        return completed.returncode
    results["compare"] = json.loads((compare_dir / "results.json").read_text(encoding="utf-8"))
    timings["total_s"] = time.time() - started
    write_outputs(args.out, results, compare_dir)
    print((args.out / "table.md").read_text(encoding="utf-8"))
    print(f"done in {timings['total_s']:.0f} s: {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dfkd.gpu.reproduce", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("data", help="CIFAR-10: torchvision folder, ImageFolder tree, or a .tar.gz of one")
    parser.add_argument("out", type=Path, help="folder for results.json, table.md and the plots")
    parser.add_argument("--smoke", action="store_true", help="tiny networks and budgets, for a CPU (seconds)")
    parser.add_argument("--work", help="scratch folder (default: a new temporary folder)")
    parser.add_argument("--teacher-epochs", type=int, default=None, help="override the recipe's 15 epochs")
    parser.add_argument(
        "--budget-seconds",
        type=float,
        default=None,
        help="training seconds per method (default: what --total-seconds leaves)",
    )
    parser.add_argument(
        "--total-seconds",
        type=float,
        default=510.0,
        help="time for everything, from --started-at (default 510: 9 minutes with a margin)",
    )
    parser.add_argument(
        "--started-at",
        type=float,
        default=None,
        help="epoch seconds the run started at (the shell script passes its own start, so that the install counts)",
    )
    args = parser.parse_args(argv)
    from dfkd.cli._errors import exit_code_reporting_user_errors

    return exit_code_reporting_user_errors("gpu-reproduce", lambda: reproduce(args))


if __name__ == "__main__":
    sys.exit(main())

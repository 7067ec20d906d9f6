"""The GPU readiness check: ``python -m dfkd.gpu.check --out DIR [--smoke] [--compile] [--time-limit S]``
(``scripts/gpu-check.sh`` installs dfkd first and calls it).

1. one steady-state round of every distillation method and every GAN variant, in fp32, bf16 and fp16, under
   ``torch.cuda.set_sync_debug_mode("warn")``: the number of host synchronisations and where they happen
   (:mod:`dfkd.gpu.sync`);
2. images/s of one-stage and DFAD rounds side by side, ResNet-34 -> ResNet-18 at batch 256, in bf16 (and fp32;
   with ``--compile`` also bf16 compiled), their ratio (measured and predicted), and each method's engine
   overhead over the same round written directly in PyTorch: ``dfkd bench distill`` (:mod:`dfkd.gpu.throughput`);
3. the engine under DistributedDataParallel in two processes, when the machine has two GPUs
   (:mod:`dfkd.gpu.two_process`; ``--smoke`` on a CPU runs it with gloo).

Results go to ``DIR/results.json`` and ``DIR/report.md``, rewritten after each part so that an interrupted
check still leaves what it measured. Exit status 0 when everything ran, no round synchronised and the
two-process check (if run) passed; 1 otherwise. ``--smoke``: the same recipes with tiny networks, for a CPU.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from dfkd.config.sections import RunSection
from dfkd.gpu.cases import RoundCase, round_cases
from dfkd.gpu.images import write_random_image_folder
from dfkd.gpu.profiles import FULL, SMOKE, CheckProfile
from dfkd.gpu.report import render_report
from dfkd.gpu.sync import count_syncs
from dfkd.gpu.throughput import method_throughput
from dfkd.gpu.two_process import two_process_check
from dfkd.runtime import apply_gpu_settings, resolve_device


def _error(exc: BaseException) -> dict[str, str]:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "dfkd" in Path(f.filename).parts]
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
    return {"error": f"{type(exc).__name__}: {exc}"[:400], "where": where}


def _guarded(fn: Callable[..., dict[str, Any]], *args: object) -> dict[str, Any]:
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 -- one broken part must not hide the others' results
        traceback.print_exc()
        return _error(exc)


def _release(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()


def _run_case(case: RoundCase, profile: CheckProfile) -> dict[str, Any]:
    row: dict[str, Any] = {"kind": case.kind, "case": case.name, "precision": case.precision}
    try:
        contender, device = case.build()
        row.update(count_syncs(contender.round, device, warmup=profile.warmup_rounds))
        del contender
        _release(device)
    except Exception as exc:  # noqa: BLE001 -- a failing case is recorded in its row; the others still run
        row.update(_error(exc))
    status = row.get("error") or ("n/a" if row.get("syncs") is None else f"{row['syncs']} sync(s)")
    print(f"  {case.kind:8} {case.name:18} {case.precision:5} {status}", flush=True)
    return row


def environment(device: torch.device) -> dict[str, Any]:
    cuda = device.type == "cuda"
    return {
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if cuda else platform.processor() or "cpu",
        "device_count": torch.cuda.device_count() if cuda else 1,
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "python": platform.python_version(),
    }


def problems(results: dict[str, Any]) -> list[str]:
    """What makes the check fail, one line each."""
    found = []
    for row in results.get("rounds", []):
        label = f"{row['kind']} {row['case']} {row['precision']}"
        if "error" in row:
            found.append(f"{label}: {row['error']} ({row['where']})")
        elif row["syncs"]:
            found.append(f"{label}: {row['syncs']} host synchronisation(s) in a steady-state round")
    for row in results.get("throughput", []):
        if "error" in row:
            found.append(f"throughput {row.get('label')}: {row['error']}")
    two = results.get("two_process")
    if two is not None and "error" in two:
        found.append(f"two_process: {two['error']}")
    elif two is not None and two.get("ran") and not two.get("passed"):
        found.append("two_process: the ranks disagree with the single-process result")
    found += [f"{name}: skipped (time limit)" for name in results.get("skipped", [])]
    return found


class _Writer:
    """Rewrites results.json and report.md after each part."""

    def __init__(self, out: Path, results: dict[str, Any], started: float) -> None:
        self.out, self.results, self.started = out, results, started
        out.mkdir(parents=True, exist_ok=True)

    def __call__(self) -> None:
        self.results["wall_s"] = time.perf_counter() - self.started
        self.results["problems"] = problems(self.results)
        (self.out / "results.json").write_text(json.dumps(self.results, indent=2) + "\n")
        (self.out / "report.md").write_text(render_report(self.results))


def run_check(out: Path, *, smoke: bool, compile: bool = False, time_limit: float | None = None) -> dict[str, Any]:
    """Run the check (see the module docstring); returns the results also written to ``out``."""
    started = time.perf_counter()
    profile = SMOKE if smoke else FULL
    device = resolve_device("auto")
    results: dict[str, Any] = {
        "profile": profile.name,
        "environment": environment(device),
        "settings": apply_gpu_settings(RunSection(), device),
        "precisions": list(profile.precisions),
        "skipped": [],
    }
    write = _Writer(out, results, started)

    def time_left() -> bool:
        return time_limit is None or time.perf_counter() - started < time_limit

    print(f"dfkd GPU check, {profile.name} profile, on {results['environment']['device_name']}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        images = write_random_image_folder(Path(tmp) / "images", max(1, profile.gan_images // 10))
        results["rounds"] = []
        for case in round_cases(profile, images):
            if not time_left():
                results["skipped"].append(f"round {case.kind} {case.name} {case.precision}")
                continue
            results["rounds"].append(_run_case(case, profile))
    write()
    results["throughput"] = []
    settings: list[tuple[str, list[str]]] = [(p, []) for p in profile.benchmark_precisions]
    if compile:
        settings.append(("bf16", ["run.compile=true"]))
    for precision, extra in settings:
        label = precision + (" compiled" if extra else "")
        if not time_left():
            results["skipped"].append(f"throughput {label}")
            continue
        print(f"throughput {label} ({time.perf_counter() - started:.0f} s)", flush=True)
        results["throughput"].append({"label": label, **_guarded(method_throughput, profile, precision, extra)})
        write()
    if time_left():
        print(f"two_process ({time.perf_counter() - started:.0f} s)", flush=True)
        results["two_process"] = _guarded(two_process_check, device.type)
    else:
        results["skipped"].append("two_process")
    write()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dfkd.gpu.check", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--out", type=Path, required=True, help="folder for results.json and report.md")
    parser.add_argument("--smoke", action="store_true", help="tiny networks, for a CPU (seconds)")
    parser.add_argument("--compile", action="store_true", help="also time bf16 rounds with run.compile=true")
    parser.add_argument(
        "--time-limit",
        type=float,
        default=None,
        metavar="S",
        help="skip the parts not started after S seconds (their absence counts as a problem)",
    )
    args = parser.parse_args(argv)
    results = run_check(args.out, smoke=args.smoke, compile=args.compile, time_limit=args.time_limit)
    for line in results["problems"]:
        print(f"problem: {line}")
    verdict = f"{len(results['problems'])} problem(s)" if results["problems"] else "passed"
    print(f"gpu check: {verdict} in {results['wall_s']:.0f} s; {args.out / 'report.md'}")
    return 1 if results["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())

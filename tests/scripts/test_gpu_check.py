"""scripts/gpu-check.sh --smoke on a CPU: every round runs, the timings (with the engine overhead measured as
`dfkd bench` measures it) and the two-process check are written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dfkd.diagnostics.pass_costs import UNITS
from dfkd.distill.methods import METHODS
from dfkd.gpu.profiles import gan_recipes

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_gpu_check_smoke(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHON": sys.executable, "PYTHONPATH": str(ROOT)}
    out = tmp_path / "out"
    done = subprocess.run([str(ROOT / "scripts" / "gpu-check.sh"), "--smoke", "--out", str(out)], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=900)  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "gpu check: passed" in done.stdout
    results = json.loads((out / "results.json").read_text())
    assert results["profile"] == "smoke" and results["problems"] == [] and results["skipped"] == []
    rounds = results["rounds"]
    assert len(rounds) == 3 * (len(METHODS.names()) + len(gan_recipes()))
    assert all("error" not in row and row["syncs"] is None for row in rounds)  # a CPU counts no syncs
    [throughput] = results["throughput"]
    assert throughput["label"] == "bf16" and throughput["onestage_over_dfad"] > 0
    assert throughput["predicted_onestage_over_dfad"] > 0 and set(throughput["pass_seconds"]) == set(UNITS)
    for row in throughput["methods"].values():  # measured beside the hand-written loop, as `dfkd bench` does
        assert row["hand_s_per_round"] > 0 and row["engine_overhead"] > -1 and row["syncs_per_round"] == 0
    assert results["two_process"]["ran"] and results["two_process"]["passed"]
    report = (out / "report.md").read_text()
    assert "**PASSED**" in report and "## Throughput: one-stage vs DFAD" in report

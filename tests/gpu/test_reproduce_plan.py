"""The reproduction's budget, compressed schedule and the `dfkd compare` command it runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from dfkd.gpu.reproduce import DISTILL_RECIPE, FULL, compare_budget, compare_command, main, schedule


def test_the_faster_method_fills_the_budget_and_milestones_sit_at_20_and_40_percent() -> None:
    overrides = schedule(100.0, {"onestage": 0.04, "dfad": 0.05}, FULL)
    assert overrides == [
        "steps=2500",
        "optim.lr_schedule.milestones=[500,1000]",
        f"logging.eval_every={2500 // FULL.evaluations}",
        f"logging.log_every={2500 // FULL.evaluations}",
    ]


def test_the_time_left_is_shared_by_the_methods() -> None:
    assert compare_budget(510, 200, FULL, None) == (510 - 200) / 2 - FULL.per_member_overhead_s
    assert compare_budget(510, 500, FULL, None) == FULL.min_budget_s  # late: still a minimal comparison
    assert compare_budget(10_000, 0, FULL, None) == FULL.max_budget_s
    assert compare_budget(510, 500, FULL, 77.0) == 77.0


def test_compare_is_called_with_its_documented_interface(tmp_path: Path) -> None:
    command = compare_command(120.0, tmp_path, ["steps=10"])
    assert command[1:] == [
        "-m", "dfkd", "compare", str(DISTILL_RECIPE), "--methods", "onestage,dfad", "--seeds", "0",
        "--budget-seconds", "120.0", "--root", str(tmp_path), "--name", "cifar10-fast", "steps=10",
    ]  # fmt: skip


def test_bad_data_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "nowhere"), str(tmp_path / "out"), "--work", str(tmp_path / "work")]) == 2
    expected = f"gpu-reproduce: error: {tmp_path / 'nowhere'}: no such folder or .tar.gz archive (expected CIFAR-10)"
    assert capsys.readouterr().err == expected + "\n"

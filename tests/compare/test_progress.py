"""The overall progress bar follows a member's metrics.jsonl while it trains."""

from __future__ import annotations

import json
import time
from pathlib import Path

from dfkd.compare.progress import OverallProgress, last_metrics_row
from dfkd.compare.spec import Budget


def test_last_metrics_row_skips_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    assert last_metrics_row(path) is None
    path.write_text('{"step": 1}\n{"step": 2, "train_wall_s": 3.5}\n{"step": 3, "tr')
    assert last_metrics_row(path) == {"step": 2, "train_wall_s": 3.5}


def test_the_bar_counts_rounds_of_the_running_member(tmp_path: Path) -> None:
    progress = OverallProgress(3, Budget("rounds", 10), poll_s=0.01)
    progress.skip()  # a member finished by an earlier invocation
    with progress.follow(tmp_path):
        (tmp_path / "metrics.jsonl").write_text(json.dumps({"step": 4, "train_wall_s": 1.0}) + "\n")
        deadline = time.monotonic() + 5
        while progress.position < 14 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert progress.position == 14
    assert progress.position == 20  # the member counts fully once it returns
    progress.close()


def test_a_seconds_budget_counts_training_seconds_capped_per_member(tmp_path: Path) -> None:
    progress = OverallProgress(2, Budget("seconds", 5.0), poll_s=0.01)
    (tmp_path / "metrics.jsonl").write_text(json.dumps({"step": 50, "train_wall_s": 7.5}) + "\n")
    with progress.follow(tmp_path):
        deadline = time.monotonic() + 5
        while progress.position < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert progress.position == 5.0
    progress.close()

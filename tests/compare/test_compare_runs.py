"""``dfkd compare`` end to end on a tiny teacher: outputs, resuming without repeating, errors in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import dfkd.compare.members
from dfkd.cli import main
from dfkd.compare.progress import last_metrics_row
from dfkd.distill.game import DistillGame
from dfkd.runs.session import WALL_CLOCK_KEYS
from tests.distill.conftest import tiny_recipe

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DFKD_NO_PROGRESS", "1")


def compare(tmp_path: Path, name: str, *extra: str) -> list[str]:
    return [
        "compare",
        str(tiny_recipe(tmp_path)),
        "--methods",
        "onestage,dfad",
        "--seeds",
        "0,1",
        "--budget-rounds",
        "4",
        "--root",
        str(tmp_path / "out"),
        "--name",
        name,
        *extra,
        "batch_size=4",
    ]


def _rows(run: Path) -> list[dict]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in row.items() if k not in WALL_CLOCK_KEYS} for row in rows]


@pytest.mark.slow
def test_compare_writes_results_table_plots_and_resumes_without_repeating(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(compare(tmp_path, "cmp")) == 0
    out = capsys.readouterr().out
    directory = tmp_path / "out" / "cmp"
    assert "| onestage | 0,1 |" in out and f"tensorboard --logdir {directory}" in out

    results = json.loads((directory / "results.json").read_text())
    assert results["budget"] == {"rounds": 4} and results["seeds"] == [0, 1]
    assert results["overrides"] == ["batch_size=4"]
    assert [e["contender"] for e in results["contenders"]] == ["onestage", "dfad"]
    for entry in results["contenders"]:
        assert entry["seeds"] == [0, 1] and entry["rounds"] == {"mean": 4.0, "std": 0.0}
        assert entry["images_seen"]["mean"] == 4 * 4 * 2  # rounds x batch x student steps
        assert set(entry["time_to_fraction"]) == {"0.5", "0.8", "0.9", "0.95"}
        assert entry["speedup_vs"]["contender"] == "onestage"
        for key in ("student_acc_last", "student_acc_best", "train_wall_s"):
            assert set(entry[key]) == {"mean", "std"} and entry[key]["std"] is not None
        for m in entry["members"]:  # the members' own summaries, and their last evaluation
            summary = json.loads((Path(m["run_dir"]) / "summary.json").read_text())
            assert m["student_acc_last"] == summary["student_acc_last"] and summary["stopped"] == "completed"
            assert last_metrics_row(Path(m["run_dir"]) / "metrics.jsonl")["eval/student_acc"] == m["student_acc_last"]
    onestage = results["contenders"][0]
    assert onestage["student_acc_last"]["mean"] == pytest.approx(
        sum(m["student_acc_last"] for m in onestage["members"]) / 2
    )

    table = (directory / "table.md").read_text().splitlines()
    assert table[0].startswith("| contender |") and table[2].startswith("| onestage | 0,1 |")
    assert table[3].startswith("| dfad | 0,1 |")
    for png in ("accuracy_vs_time.png", "accuracy_vs_images.png"):
        assert (directory / png).read_bytes()[:8] == PNG_MAGIC
    members = sorted(p.name for p in directory.iterdir() if p.is_dir())
    assert members == ["dfad-seed0", "dfad-seed1", "onestage-seed0", "onestage-seed1"]
    assert all(any((directory / m / "tb").iterdir()) for m in members)  # TensorBoard overlays them under one parent

    # the same command again: every member has finished, nothing is trained, the results are the same
    before = {m: (directory / m / "metrics.jsonl").read_bytes() for m in members}
    monkeypatch.setattr(dfkd.compare.members, "run_distill", lambda *a, **k: pytest.fail("a member was re-run"))
    assert main(compare(tmp_path, "cmp")) == 0
    assert "finished earlier" in capsys.readouterr().out
    assert json.loads((directory / "results.json").read_text()) == results
    assert before == {m: (directory / m / "metrics.jsonl").read_bytes() for m in members}
    best = max(results["contenders"], key=lambda e: e["student_acc_last"]["mean"])
    assert results["reference"] == {"contender": best["contender"], "accuracy": best["student_acc_last"]["mean"]}
    assert best["time_to_reference"]["round"] in (2, 4) and best["speedup_to_reference"] == 1.0  # evaluated at 2, 4

    # another --reference: the same members re-read (not refused, not retrained), only the summary changes
    assert main(compare(tmp_path, "cmp", "--reference", "dfad")) == 0
    assert "finished earlier" in capsys.readouterr().out
    again = json.loads((directory / "results.json").read_text())
    assert again["reference"]["contender"] == "dfad" and again["contenders"][1]["speedup_to_reference"] == 1.0
    assert [e["student_acc_last"] for e in again["contenders"]] == [
        e["student_acc_last"] for e in results["contenders"]
    ]
    assert "time to dfad's final" in (directory / "table.md").read_text()
    assert before == {m: (directory / m / "metrics.jsonl").read_bytes() for m in members}

    # another budget or other overrides under the same name: refused in one line
    assert main(compare(tmp_path, "cmp", "--budget-rounds", "5")) == 2
    assert "was started with budget {'rounds': 4}" in capsys.readouterr().err


@pytest.mark.slow
def test_an_interrupted_compare_resumes_its_member_exactly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(compare(tmp_path, "whole")) == 0
    train_step = DistillGame.train_step
    calls = {"n": 0}

    def interrupted(self: DistillGame, step: int):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 7:  # the second member (dfad seed 0), before its third round
            raise KeyboardInterrupt
        return train_step(self, step)

    monkeypatch.setattr(DistillGame, "train_step", interrupted)
    assert main(compare(tmp_path, "cut")) == 130
    cut = tmp_path / "out" / "cut"
    assert json.loads((cut / "dfad-seed0" / "summary.json").read_text())["steps"] == 2
    assert not (cut / "onestage-seed1").exists()
    monkeypatch.setattr(DistillGame, "train_step", train_step)
    capsys.readouterr()
    assert main(compare(tmp_path, "cut")) == 0
    out = capsys.readouterr().out
    assert "onestage seed 0: finished earlier" in out and "dfad seed 0: resuming" in out
    whole = tmp_path / "out" / "whole"
    for member in ("onestage-seed0", "dfad-seed0", "onestage-seed1", "dfad-seed1"):
        assert _rows(cut / member) == _rows(whole / member), member  # bit-identical on CPU


@pytest.mark.slow
def test_a_seconds_budget_stops_members_on_time(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "compare",
        str(tiny_recipe(tmp_path)),
        "--methods",
        "onestage",
        "--seeds",
        "0",
        "--budget-seconds",
        "0.05",
        "--root",
        str(tmp_path / "out"),
        "steps=100000",
        "batch_size=4",
    ]
    assert main(argv) == 0
    results = json.loads((tmp_path / "out" / "recipe" / "results.json").read_text())
    (member,) = results["contenders"][0]["members"]
    assert member["stopped"] == "max_wall_s" and 0.05 <= member["train_wall_s"] and member["rounds"] < 100000
    assert results["budget"] == {"seconds": 0.05}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--budget-rounds", "3", "--seeds", "0,a"], "--seeds: expected comma-separated integers"),
        (["--seeds", "0"], "give exactly one budget"),
        (["--budget-rounds", "3", "--budget-seconds", "3"], "not both"),
        (["--budget-rounds", "3", "--methods", "onestage,gan"], "unknown method 'gan'"),
        (["--budget-rounds", "3", "run.seed=4"], "dfkd compare sets run.seed itself"),
        (["--budget-rounds", "3", "stepz=4"], "unknown key 'stepz'"),
        (
            ["--budget-rounds", "3", "--reference", "gan"],
            "--reference: unknown contender 'gan'; expected one of onestage",
        ),
    ],
)
def test_bad_arguments_give_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(["compare", str(tiny_recipe(tmp_path)), "--root", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("dfkd compare: error:") and len(err.strip().splitlines()) == 1

"""results.json entries and table.md from member results (no training: synthetic curves)."""

from __future__ import annotations

import numpy as np
import pytest

from dfkd.compare.curves import Curve
from dfkd.compare.plan import Contender
from dfkd.compare.results import MemberResult, build_results, mean_std
from dfkd.compare.spec import CompareError
from dfkd.compare.table import markdown_table

TEACHER = 0.8


def member(seed: int, seconds: list[float], accuracy: list[float], method: str = "onestage") -> MemberResult:
    summary = {
        "method": method,
        "teacher_acc": TEACHER,
        "student_acc_last": accuracy[-1],
        "student_acc_best": max(accuracy),
        "wall_s": seconds[-1],
        "images_seen": 100 * len(seconds),
        "steps": 10 * len(seconds),
        "stopped": "completed",
    }
    rounds = 10 * np.arange(1, len(seconds) + 1)  # an evaluation every 10 rounds of 10 images
    curve = Curve(rounds, np.array(seconds), 10.0 * rounds, np.array(accuracy))
    return MemberResult(seed, f"runs/{method}-seed{seed}", summary, curve)


def results(reference: str | None = None) -> dict:
    contenders = [Contender("onestage", "q.yaml", "onestage"), Contender("dfad", "q.yaml", "dfad")]
    members = {
        # 0.5 x teacher = 0.40, 0.8 x = 0.64, 0.9 x = 0.72, 0.95 x = 0.76
        "onestage": [member(0, [10, 20, 30], [0.40, 0.65, 0.73]), member(1, [12, 22, 32], [0.30, 0.70, 0.70])],
        "dfad": [
            member(0, [10, 30, 50], [0.41, 0.50, 0.66], "dfad"),
            member(1, [10, 30, 50], [0.2, 0.45, 0.7], "dfad"),
        ],
    }
    header = {"budget": {"rounds": 30}, "teacher": {"checkpoint": "t.pt", "accuracy": TEACHER}}
    return build_results(header, contenders, members, reference)


def test_mean_std() -> None:
    assert mean_std([1.0, 3.0]) == {"mean": 2.0, "std": pytest.approx(2**0.5)}
    assert mean_std([0.5]) == {"mean": 0.5, "std": None}


def test_entries_average_over_seeds() -> None:
    onestage, dfad = results()["contenders"]
    assert onestage["contender"] == "onestage" and onestage["method"] == "onestage" and onestage["seeds"] == [0, 1]
    assert onestage["student_acc_last"]["mean"] == pytest.approx(0.715)
    assert onestage["student_acc_best"]["mean"] == pytest.approx(0.715)
    assert onestage["train_wall_s"]["mean"] == pytest.approx(31.0)
    assert [m["seed"] for m in onestage["members"]] == [0, 1]


def test_time_to_fraction_needs_every_seed() -> None:
    onestage, dfad = results()["contenders"]
    # 50%: seed 0 at 10 s, seed 1 at 22 s; 80%: 20 s and 22 s; 90%: only seed 0 (30 s) -> null
    assert onestage["time_to_fraction"] == {"0.5": 16.0, "0.8": 21.0, "0.9": None, "0.95": None}
    assert onestage["seeds_reaching"] == {"0.5": 2, "0.8": 2, "0.9": 1, "0.95": 0}
    assert onestage["images_to_fraction"]["0.5"] == pytest.approx(150.0)
    assert dfad["time_to_fraction"] == {"0.5": 20.0, "0.8": 50.0, "0.9": None, "0.95": None}


def test_speedup_is_against_the_first_contender() -> None:
    onestage, dfad = results()["contenders"]
    assert onestage["speedup_vs"] == {"contender": "onestage", "0.5": 1.0, "0.8": 1.0, "0.9": None, "0.95": None}
    assert dfad["speedup_vs"]["0.5"] == pytest.approx(16.0 / 20.0)
    assert dfad["speedup_vs"]["0.8"] == pytest.approx(21.0 / 50.0)
    assert dfad["speedup_vs"]["0.9"] is None


def test_markdown_table() -> None:
    table = markdown_table(results())
    lines = table.splitlines()
    assert lines[0].startswith("| contender | seeds | student last (%)") and "time to 95%" in lines[0]
    assert lines[1] == "|" + "---|" * 12
    assert lines[2].startswith("| onestage | 0,1 | 71.50 ± 2.12 | 71.50 ± 2.12 | 89.4% | 31.0 ± 1.4 | 300 ± 0 |")
    assert "| 16.0 s | 21.0 s | — (1/2 seeds) | — |" in lines[2]
    assert "| 20.0 s (0.80x) | 50.0 s (0.42x) | — | — |" in lines[3]
    assert "Teacher t.pt: 80.00% test accuracy. Budget per run: 30 rounds." in table


def test_the_default_reference_is_the_best_mean_last_accuracy() -> None:
    chosen = results()
    assert chosen["reference"] == {"contender": "onestage", "accuracy": pytest.approx(0.715)}  # dfad: 0.68
    assert results("dfad")["reference"] == {"contender": "dfad", "accuracy": pytest.approx(0.68)}


def test_time_to_reference_follows_the_seed_mean_curve() -> None:
    onestage, dfad = results()["contenders"]
    # onestage's seed-mean: 0.35, 0.675, 0.715 -> its own final accuracy at its final round (30)
    assert onestage["time_to_reference"] == {"seconds": 31.0, "images": 300.0, "round": 30}
    assert onestage["speedup_to_reference"] == 1.0
    # dfad's seed-mean: 0.305, 0.475, 0.68 never reaches 0.715, though its seed 1 ends at 0.70
    assert dfad["time_to_reference"] is None and dfad["speedup_to_reference"] is None

    onestage, dfad = results("dfad")["contenders"]
    assert dfad["time_to_reference"] == {"seconds": 50.0, "images": 300.0, "round": 30}
    assert onestage["time_to_reference"] == {"seconds": 31.0, "images": 300.0, "round": 30}  # 0.675 < 0.68 at 20
    assert onestage["speedup_to_reference"] == pytest.approx(50.0 / 31.0)
    assert dfad["speedup_to_reference"] == 1.0


def test_the_reference_reaches_its_own_final_accuracy_despite_rounding() -> None:
    # numpy's mean of these three last accuracies is one ulp below statistics.fmean's (results.json's mean)
    lasts = [0.8676, 0.2439, 0.3252]
    assert np.mean(lasts) < mean_std(lasts)["mean"]
    members = {"solo": [member(seed, [5.0, 10.0 + seed], [0.1, last]) for seed, last in enumerate(lasts)]}
    out = build_results({}, [Contender("solo", "q.yaml", None)], members)
    (solo,) = out["contenders"]
    assert out["reference"]["contender"] == "solo"
    assert solo["time_to_reference"] == {"seconds": 11.0, "images": 200.0, "round": 20}


def test_an_unknown_reference_names_the_option_and_the_contenders() -> None:
    with pytest.raises(CompareError, match=r"--reference: unknown contender 'gan'; expected one of onestage, dfad"):
        results("gan")


def test_markdown_table_time_to_the_reference() -> None:
    lines = markdown_table(results()).splitlines()
    assert lines[0].endswith("| time to onestage's final (71.5%) |")
    assert lines[2].endswith("| 31.0 s |") and lines[3].endswith("| — |")
    lines = markdown_table(results("dfad")).splitlines()
    assert lines[0].endswith("| time to dfad's final (68.0%) |")
    assert lines[2].endswith("| 31.0 s (1.61x) |") and lines[3].endswith("| 50.0 s |")
    assert "*time to dfad's final*:" in lines[-1] and "speed-up over dfad" in lines[-1]

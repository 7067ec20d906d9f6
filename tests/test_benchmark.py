"""The side-by-side benchmark: interleaving, ratios, and that it builds real games from recipes (no timing
thresholds: only that every contender was measured and the report is consistent)."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from dfkd.benchmark import Contender, Timing, distill_contenders, format_timings, gan_contenders, time_interleaved
from dfkd.cli import main
from tests.distill.conftest import tiny_recipe
from tests.gan.conftest import write_blob_folder
from tests.gan.helpers import recipe_path, tiny_overrides


def test_blocks_alternate_order_after_warmup() -> None:
    calls: list[str] = []
    contenders = [Contender(name, lambda step, n=name: calls.append(n), 1) for name in ("a", "b")]
    timings = time_interleaved(contenders, rounds=2, repeats=3, warmup=1, device=torch.device("cpu"))
    assert calls == ["a", "b"] + ["a", "a", "b", "b"] + ["b", "b", "a", "a"] + ["a", "a", "b", "b"]
    assert [len(t.seconds_per_round) for t in timings] == [3, 3]


def test_report_gives_speed_up_against_the_baseline() -> None:
    timings = [Timing("onestage", [0.5, 0.5, 0.6], 100), Timing("dfad", [1.0, 1.1, 1.0], 100)]
    report = format_timings(timings, baseline="dfad")
    rows = {line.split()[0]: line.split() for line in report.splitlines()[1:]}
    assert rows["onestage"][-1] == "2.000x" and rows["dfad"][-1] == "1.000x"
    assert rows["onestage"][3] == "200"  # images/s = 100 images / 0.5 s median


def test_distill_contenders_from_a_recipe(tmp_path: Path) -> None:
    contenders, device = distill_contenders(str(tiny_recipe(tmp_path)), [], ["onestage", "dfad"])
    assert [c.name for c in contenders] == ["onestage", "dfad"] and device.type == "cpu"
    timings = time_interleaved(contenders, rounds=1, repeats=2, warmup=0, device=device)
    assert all(len(t.seconds_per_round) == 2 and min(t.seconds_per_round) > 0 for t in timings)


def test_missing_teacher_needs_an_arch_then_stands_in_randomly(tmp_path: Path) -> None:
    from dfkd.config.load import RecipeError

    recipe = str(tiny_recipe(tmp_path))
    absent = [f"teacher.checkpoint={tmp_path / 'absent.pt'}"]
    with pytest.raises(RecipeError, match="teacher.arch"):
        distill_contenders(recipe, absent, ["onestage"])
    contenders, _ = distill_contenders(recipe, [*absent, "teacher.arch=simple_cnn", "teacher.arch_kwargs={width: 4}"],
                                       ["onestage"])
    contenders[0].round(1)


def test_gan_contenders_and_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_blob_folder(tmp_path / "blobs")
    contenders, device = gan_contenders(str(recipe_path("dcgan-asym")), tiny_overrides(folder), ["one", "two"])
    assert [c.name for c in contenders] == ["one-stage", "two-stage"]
    code = main(["bench", "gan", str(recipe_path("dcgan-asym")), *tiny_overrides(folder),
                 "--rounds", "1", "--repeats", "2", "--warmup", "0"])
    out = capsys.readouterr().out
    assert code == 0 and "speed-up vs two-stage" in out and "1.000x" in out

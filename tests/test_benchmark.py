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
    contenders, _ = distill_contenders(
        recipe, [*absent, "teacher.arch=simple_cnn", "teacher.arch_kwargs={width: 4}"], ["onestage"]
    )
    contenders[0].round(1)


def test_gan_contenders_and_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_blob_folder(tmp_path / "blobs")
    contenders, device = gan_contenders(str(recipe_path("dcgan-asym")), tiny_overrides(folder), ["one", "two"])
    assert [c.name for c in contenders] == ["one-stage", "two-stage"]
    code = main(
        [
            "bench",
            "gan",
            str(recipe_path("dcgan-asym")),
            *tiny_overrides(folder),
            "--rounds",
            "1",
            "--repeats",
            "2",
            "--warmup",
            "0",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "speed-up vs two-stage" in out and "1.000x" in out


# ---------------------------------------------------------------------------------------------- predictions
def test_round_plans_reproduce_the_papers_eq_16_and_17_with_unit_costs() -> None:
    """With forward = backward = parameter gradients = T (Eq. 10-12): one-stage 3T^g + 6T^d (Eq. 16); two-stage
    4T^g + 8T^d (Eq. 15) less the generator forward it reuses."""
    from dfkd.diagnostics.pass_costs import RoundShape, predicted_round_cost

    tg, td = 1.0, 10.0
    costs = {"G_ng": tg, "G_fb": 3 * tg, "D_p": 3 * td, "D_i": 2 * td, "D_pi": 3 * td, "D_ng": td}
    gan = RoundShape(critic_steps=1, real=True)
    assert predicted_round_cost("one-stage", gan, costs) == 3 * tg + 6 * td
    assert predicted_round_cost("two-stage", gan, costs) == 3 * tg + 8 * td
    # DFAD with 5 student updates on fresh fakes, no real batch; one-stage with 5 (4 student-only + 1 joint)
    kd = RoundShape(critic_steps=5, real=False)
    assert predicted_round_cost("fresh-two-stage", kd, costs) == 5 * (tg + 3 * td) + 3 * tg + 2 * td
    assert predicted_round_cost("one-stage", kd, costs) == 4 * (tg + 3 * td) + 3 * tg + 3 * td


def test_pass_costs_are_measured_for_every_unit_and_leave_the_networks_alone(tmp_path: Path) -> None:
    from dfkd.diagnostics.pass_costs import UNITS, measure_pass_costs

    contenders, _ = distill_contenders(str(tiny_recipe(tmp_path)), [], ["onestage"])
    modules = contenders[0].modules
    assert modules is not None
    before = [t.clone() for t in (*modules.generator.state_dict().values(), *modules.critic.state_dict().values())]
    ticks = iter(range(1000))
    costs = measure_pass_costs(modules, repeats=3, clock=lambda: float(next(ticks)))
    assert set(costs) == set(UNITS) and all(value == 1.0 for value in costs.values())  # one tick per timed pass
    after = [*modules.generator.state_dict().values(), *modules.critic.state_dict().values()]
    assert all(torch.equal(a, b) for a, b in zip(before, after, strict=True))
    assert all(p.grad is None for p in modules.critic_params + modules.generator_params)


def test_report_pairs_give_measured_and_predicted_ratios_overhead_and_syncs() -> None:
    from dfkd.benchmark import HAND, BenchReport

    contenders = [Contender("one", lambda s: None, 4), Contender("two", lambda s: None, 4)]
    timings = {
        name: Timing(name, [seconds], 4, syncs)
        for name, seconds, syncs in [
            ("one", 3.0, 0.0),
            ("two", 4.0, 0.5),
            ("one" + HAND, 2.0, 0.0),
            ("two" + HAND, 4.0, 0.0),
        ]
    }
    report = BenchReport(contenders, timings, {"G_fb": 1.0}, baseline="two", predicted={"one": 9.0, "two": 12.0})
    (pair,) = report.pairs()
    assert pair["measured_ratio"] == 4.0 / 3.0 and pair["predicted_ratio"] == 12.0 / 9.0
    assert pair["engine_overhead"] == {"one": 0.5, "two": 0.0}
    assert pair["syncs_per_round"] == {"one": 0.0, "two": 0.5}
    text = report.format()
    assert "+50.0%" in text and "1.333x" in text


def test_syncs_inside_rounds_are_counted() -> None:
    contenders = [
        Contender("quiet", lambda step: torch.ones(2).sum(), 1),
        Contender("chatty", lambda step: torch.ones(2).sum().item(), 1),
    ]
    timings = time_interleaved(contenders, rounds=2, repeats=2, warmup=0, device=torch.device("cpu"))
    assert [t.syncs_per_round for t in timings] == [0.0, 1.0]


def test_bench_json_prints_one_object_per_pair(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    code = main(
        ["bench", "distill", str(tiny_recipe(tmp_path)), "--rounds", "1", "--repeats", "1", "--warmup", "0", "--json"]
    )
    lines = capsys.readouterr().out.strip().splitlines()
    assert code == 0 and len(lines) == 1
    pair = json.loads(lines[0])
    assert pair["contender"] == "onestage" and pair["baseline"] == "dfad"
    assert pair["measured_ratio"] > 0 and pair["predicted_ratio"] > 0
    assert set(pair["engine_overhead"]) == set(pair["syncs_per_round"]) == {"onestage", "dfad"}
    assert pair["syncs_per_round"] == {"onestage": 0.0, "dfad": 0.0}


@pytest.mark.parametrize("option", ["--rounds", "--repeats"])
def test_zero_rounds_is_one_clean_error_line(option: str) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["bench", "distill", option, "0"])
    message = str(stop.value.code)
    assert message == f"dfkd bench: error: {option}: expected an integer >= 1, got 0"


def test_quickstart_bench_works_without_a_trained_teacher(tmp_path: Path) -> None:
    """A fresh clone: the quick-start teacher is not trained yet and the recipe names no teacher.arch; the
    teacher recipe that would train it names the architecture of the random stand-in."""
    from dfkd.recipes import packaged_recipe

    overrides = [
        f"teacher.checkpoint={tmp_path / 'absent.pt'}",
        "batch_size=4",
        "student_steps=2",
        f"run.root={tmp_path}",
    ]
    contenders, _ = distill_contenders(packaged_recipe("quickstart"), overrides, ["onestage"])
    contenders[0].round(1)
    assert not (tmp_path / "absent.pt").exists()  # nothing was trained

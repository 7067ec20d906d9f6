"""Arguments of a comparison: budgets, seeds, methods and overrides are checked before anything runs."""

from __future__ import annotations

import pytest

from dfkd.compare import Budget, CompareError, CompareSpec, parse_budget, parse_seeds

ROUNDS = Budget("rounds", 10)


def test_budgets_become_the_run_limits() -> None:
    assert parse_budget(None, "300").overrides() == ["steps=300", "logging.max_wall_s=null"]
    assert parse_budget("90", None).overrides() == ["logging.max_wall_s=90.0"]
    assert parse_budget("90", None).as_dict() == {"seconds": 90.0}


@pytest.mark.parametrize(
    ("seconds", "rounds", "message"),
    [
        (None, None, "give exactly one budget"),
        ("5", "5", "not both"),
        (None, "2.5", "--budget-rounds: expected a positive integer"),
        (None, "0", "--budget-rounds: expected a positive integer"),
        ("-1", None, "--budget-seconds: expected a positive number"),
        ("nan", None, "--budget-seconds: expected a positive number"),
        ("abc", None, "--budget-seconds: expected a number, got 'abc'"),
    ],
)
def test_bad_budgets_are_named(seconds: str | None, rounds: str | None, message: str) -> None:
    with pytest.raises(CompareError, match=message):
        parse_budget(seconds, rounds)


def test_seeds() -> None:
    assert parse_seeds("0, 1,2") == (0, 1, 2)
    with pytest.raises(CompareError, match="--seeds: expected comma-separated integers"):
        parse_seeds("0,one")
    with pytest.raises(CompareError, match="--seeds: a seed is listed twice"):
        CompareSpec(ROUNDS, methods=("onestage",), seeds=(1, 1))
    with pytest.raises(CompareError, match="--seeds: expected at least one"):
        CompareSpec(ROUNDS, methods=("onestage",), seeds=())


def test_methods_must_be_registered_and_needed() -> None:
    with pytest.raises(CompareError, match="unknown method 'dafd'; expected some of dfad, noise, onestage, zskt"):
        CompareSpec(ROUNDS, methods=("onestage", "dafd"))
    with pytest.raises(CompareError, match="give methods to compare, or two or more recipes"):
        CompareSpec(ROUNDS)


@pytest.mark.parametrize(
    "override",
    ["run.seed=3", "run.root=x", "run.name=x", "noise_baseline=true", "logging.max_wall_s=5", "steps=7", "method=dfad"],
)
def test_keys_the_comparison_sets_cannot_be_overridden(override: str) -> None:
    with pytest.raises(CompareError, match=f"override '{override}': dfkd compare sets"):
        CompareSpec(ROUNDS, methods=("onestage",), overrides=(override,))


def test_a_seconds_budget_leaves_steps_to_the_user(tmp_path) -> None:  # type: ignore[no-untyped-def]
    spec = CompareSpec(Budget("seconds", 5), methods=("onestage",), overrides=("steps=50",), root=str(tmp_path))
    assert spec.directory == tmp_path / "quickstart"


def test_missing_recipe_and_bad_name() -> None:
    with pytest.raises(CompareError, match="nope.yaml: recipe file not found"):
        CompareSpec(ROUNDS, recipes=("nope.yaml",), methods=("onestage",))
    with pytest.raises(CompareError, match="--name: expected a plain directory name"):
        CompareSpec(ROUNDS, methods=("onestage",), name="a/b")

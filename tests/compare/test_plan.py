"""Planning: contenders from recipes and methods, members interleaved by seed, one teacher for all."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dfkd.compare import Budget, CompareError, CompareSpec
from dfkd.compare.plan import plan_contenders, plan_members
from tests.distill.conftest import tiny_recipe


def spec(tmp_path: Path, **kwargs: object) -> CompareSpec:
    kwargs.setdefault("recipes", (str(tiny_recipe(tmp_path)),))
    return CompareSpec(Budget("rounds", 4), root=str(tmp_path / "compare"), **kwargs)  # type: ignore[arg-type]


def test_members_alternate_contenders_within_each_seed(tmp_path: Path) -> None:
    contenders, members = plan_members(spec(tmp_path, methods=("onestage", "dfad"), seeds=(3, 1), name="cmp"))
    assert [c.label for c in contenders] == ["onestage", "dfad"]
    assert [m.title for m in members] == ["onestage seed 3", "dfad seed 3", "onestage seed 1", "dfad seed 1"]
    first = members[0]
    assert first.path == tmp_path / "compare" / "cmp" / "onestage-seed3"
    assert first.recipe.run.seed == 3 and first.recipe.run.name == "onestage-seed3"
    assert first.recipe.run.root == str(tmp_path / "compare" / "cmp")
    assert members[1].recipe.method == "dfad" and first.recipe.method == "onestage"
    assert first.recipe.steps == 4 and first.recipe.logging.max_wall_s is None and not first.recipe.noise_baseline


def test_a_seconds_budget_keeps_the_recipe_steps(tmp_path: Path) -> None:
    plan = CompareSpec(
        Budget("seconds", 2.5),
        recipes=(str(tiny_recipe(tmp_path)),),
        methods=("dfad",),
        root=str(tmp_path),
        overrides=("steps=9",),
    )
    _, (member,) = plan_members(plan)
    assert member.recipe.steps == 9 and member.recipe.logging.max_wall_s == 2.5


def _second_recipe(tmp_path: Path, folder: str, **top: object) -> str:
    data = yaml.safe_load(tiny_recipe(tmp_path).read_text())
    data.update(top)
    path = tmp_path / folder / "recipe.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_recipes_as_contenders_get_unique_labels(tmp_path: Path) -> None:
    a = _second_recipe(tmp_path, "a", method="dfad")
    b = _second_recipe(tmp_path, "b", method="zskt")
    own = plan_contenders(spec(tmp_path, recipes=(a, b)))
    assert [(c.label, c.method) for c in own] == [("a-recipe", None), ("b-recipe", None)]
    _, members = plan_members(spec(tmp_path, recipes=(a, b)))
    assert [m.recipe.method for m in members] == ["dfad", "zskt"]
    crossed = plan_contenders(spec(tmp_path, recipes=(a, b), methods=("onestage",)))
    assert [c.label for c in crossed] == ["a-recipe-onestage", "b-recipe-onestage"]
    assert spec(tmp_path, recipes=(a, b)).directory.name == "recipe-vs-recipe"


def test_every_contender_must_share_the_teacher(tmp_path: Path) -> None:
    other = _second_recipe(tmp_path, "other", teacher={"checkpoint": str(tmp_path / "other.pt")})
    with pytest.raises(CompareError, match="teacher.checkpoint differs"):
        plan_members(spec(tmp_path, recipes=(str(tiny_recipe(tmp_path)), other)))
    subset = _second_recipe(tmp_path, "subset", data={"name": "shapes", "max_items": 32})
    with pytest.raises(CompareError, match="data differs"):
        plan_members(spec(tmp_path, recipes=(str(tiny_recipe(tmp_path)), subset)))

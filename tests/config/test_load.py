"""Recipes: defaults, files, ``extends``, overrides, errors that name file + key + expectation, round trip."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest

from dfkd.config.base import Section
from dfkd.config.load import RecipeError, dump_recipe, load_recipe, recipe_hash


class Optim(Section):
    name: Literal["sgd", "adam"] = "sgd"
    lr: float = 0.1
    milestones: list[int] = [100, 200]
    nesterov: bool = False


class Student(Section):
    arch: str = "resnet18"
    optim: Optim = Optim()


class Teacher(Section):
    arch: str = "resnet34"
    checkpoint: str | None = None


class Recipe(Section):
    student: Student = Student()
    teacher: Teacher = Teacher()
    steps: int = 1000
    extra: dict[str, float] = {}


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_file() -> None:
    assert load_recipe(Recipe, None) == Recipe()


def test_file_and_nested_override(tmp_path: Path) -> None:
    recipe = write(tmp_path / "x.yaml", "student:\n  optim:\n    name: adam\nsteps: 50\n")
    cfg = load_recipe(Recipe, recipe, ["student.optim.lr=0.5", "teacher.checkpoint=ckpt/t.pt", "steps=7"])
    assert cfg.student.optim.name == "adam"
    assert cfg.student.optim.lr == 0.5
    assert cfg.student.arch == "resnet18"  # untouched sibling keeps its default
    assert cfg.teacher.checkpoint == "ckpt/t.pt"
    assert cfg.steps == 7


def test_override_value_types(tmp_path: Path) -> None:
    cfg = load_recipe(
        Recipe, None, ["student.optim.nesterov=true", "student.optim.milestones=[10, 20, 30]", "extra.w=2"]
    )
    assert cfg.student.optim.nesterov is True
    assert cfg.student.optim.milestones == [10, 20, 30]
    assert cfg.extra == {"w": 2.0}


def test_scientific_notation_in_file_and_override(tmp_path: Path) -> None:
    recipe = write(tmp_path / "x.yaml", "student:\n  optim:\n    lr: 1e-3\nextra:\n  a: 5E4\n  b: -2.5e-1\n")
    cfg = load_recipe(Recipe, recipe)
    assert cfg.student.optim.lr == pytest.approx(1e-3)
    assert cfg.extra == {"a": 5e4, "b": -0.25}
    cfg = load_recipe(Recipe, recipe, ["student.optim.lr=2e-4", "extra.c=1e3"])
    assert isinstance(cfg.student.optim.lr, float) and cfg.student.optim.lr == pytest.approx(2e-4)
    assert cfg.extra["c"] == 1000.0


def test_extends_chain_merges_deeply(tmp_path: Path) -> None:
    (tmp_path / "base").mkdir()
    root = "steps: 10\nstudent:\n  arch: wrn\n  optim:\n    lr: 0.2\n    milestones: [1, 2]\n"
    write(tmp_path / "base" / "root.yaml", root)
    write(tmp_path / "mid.yaml", "extends: base/root.yaml\nstudent:\n  optim:\n    name: adam\n")
    leaf = write(tmp_path / "leaf.yaml", "extends: mid.yaml\nstudent:\n  optim:\n    milestones: [5]\n")
    cfg = load_recipe(Recipe, leaf)
    assert cfg.steps == 10
    assert cfg.student.arch == "wrn"
    assert cfg.student.optim.lr == 0.2
    assert cfg.student.optim.name == "adam"
    assert cfg.student.optim.milestones == [5]  # lists are replaced, not merged


def test_extends_cycle_is_detected(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "extends: b.yaml\nsteps: 1\n")
    write(tmp_path / "b.yaml", "extends: a.yaml\nsteps: 2\n")
    with pytest.raises(RecipeError, match="cycle"):
        load_recipe(Recipe, tmp_path / "a.yaml")


def test_unknown_key_names_file_key_and_allowed(tmp_path: Path) -> None:
    recipe = write(tmp_path / "x.yaml", "studnet:\n  arch: wrn\n")
    with pytest.raises(RecipeError) as info:
        load_recipe(Recipe, recipe)
    message = str(info.value)
    assert str(recipe) in message
    assert "unknown key 'studnet'" in message
    assert "expected one of: student, teacher, steps, extra" in message
    assert "did you mean 'student'" in message


def test_unknown_nested_key_in_parent_file_names_that_file(tmp_path: Path) -> None:
    base = write(tmp_path / "base.yaml", "student:\n  optim:\n    momentum: 0.9\n")
    leaf = write(tmp_path / "leaf.yaml", "extends: base.yaml\nsteps: 3\n")
    with pytest.raises(RecipeError) as info:
        load_recipe(Recipe, leaf)
    assert str(info.value).startswith(f"{base}: unknown key 'student.optim.momentum' (expected one of: name, lr,")


def test_wrong_type_names_file_key_and_expectation(tmp_path: Path) -> None:
    recipe = write(tmp_path / "x.yaml", "student:\n  optim:\n    lr: abc\n")
    with pytest.raises(RecipeError) as info:
        load_recipe(Recipe, recipe)
    assert str(info.value) == f"{recipe}: key 'student.optim.lr': expected a number, got 'abc'"


def test_wrong_type_in_override_names_the_override(tmp_path: Path) -> None:
    recipe = write(tmp_path / "x.yaml", "steps: 5\n")
    with pytest.raises(RecipeError) as info:
        load_recipe(Recipe, recipe, ["steps=many"])
    assert str(info.value) == "<command line>: override 'steps=many': key 'steps': expected an integer, got 'many'"


def test_literal_choice_error(tmp_path: Path) -> None:
    recipe = write(tmp_path / "x.yaml", "student:\n  optim:\n    name: adamw\n")
    with pytest.raises(RecipeError) as info:
        load_recipe(Recipe, recipe)
    assert str(info.value) == f"{recipe}: key 'student.optim.name': expected one of 'sgd' or 'adam', got 'adamw'"


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ("steps", "expected 'dotted.key=value'"),
        ("=3", "expected 'dotted.key=value'"),
        ("student..lr=3", "expected 'dotted.key=value'"),
        ("studnet.arch=x", "unknown key 'studnet' (expected one of: student, teacher, steps, extra); did you mean"),
        ("student.optim.lrr=1", "unknown key 'student.optim.lrr'"),
        ("steps.x=1", "key 'steps' is a value, not a section"),
    ],
)
def test_bad_override(override: str, fragment: str) -> None:
    with pytest.raises(RecipeError) as info:
        load_recipe(Recipe, None, [override])
    assert str(info.value).startswith(f"<command line>: override '{override}': ")
    assert fragment in str(info.value)


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(RecipeError, match="missing.yaml: cannot read recipe"):
        load_recipe(Recipe, tmp_path / "missing.yaml")
    bad = write(tmp_path / "bad.yaml", "student: [1, 2\n")
    with pytest.raises(RecipeError, match=r"bad.yaml: YAML syntax error at line \d+"):
        load_recipe(Recipe, bad)
    listing = write(tmp_path / "list.yaml", "- 1\n- 2\n")
    with pytest.raises(RecipeError, match="list.yaml: expected a mapping of keys at the top level, got list"):
        load_recipe(Recipe, listing)
    dup = write(tmp_path / "dup.yaml", "steps: 1\nsteps: 2\n")
    with pytest.raises(RecipeError, match="dup.yaml: .*duplicate key 'steps'"):
        load_recipe(Recipe, dup)
    python = write(tmp_path / "py.yaml", "steps: !!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(RecipeError, match="py.yaml"):
        load_recipe(Recipe, python)


def test_round_trip_dump_and_load(tmp_path: Path) -> None:
    cfg = load_recipe(
        Recipe, None, ["student.optim.lr=1e-10", "student.optim.name=adam", "teacher.checkpoint=t.pt", "extra.inf=.inf"]
    )
    out = tmp_path / "run" / "recipe.yaml"
    dump_recipe(cfg, out)
    again = load_recipe(Recipe, out)
    assert again == cfg
    assert recipe_hash(again) == recipe_hash(cfg)
    assert not list(out.parent.glob(".*.tmp"))


def test_recipe_hash_is_stable_and_ignores_listed_keys() -> None:
    a = load_recipe(Recipe, None, ["steps=10"])
    b = load_recipe(Recipe, None, ["steps=20"])
    assert recipe_hash(a) == recipe_hash(load_recipe(Recipe, None, ["steps=10"]))
    assert len(recipe_hash(a)) == 16
    assert recipe_hash(a) != recipe_hash(b)
    assert recipe_hash(a, ignore=["steps"]) == recipe_hash(b, ignore=["steps"])

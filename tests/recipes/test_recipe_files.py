"""Every recipe shipped in recipes/ and in the package loads and validates; schemas keep plain defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from dfkd.config.load import load_recipe
from dfkd.distill.config import DistillRecipe
from dfkd.recipes import packaged_recipe
from dfkd.teachers.config import TeacherRecipe

ROOT = Path(__file__).resolve().parents[2]
DISTILL = sorted(p for p in (ROOT / "recipes").glob("*.yaml")) + sorted(
    p for d in ("cifar10", "cifar100") for p in (ROOT / "recipes" / d).glob("*.yaml") if p.name != "base.yaml"
)
TEACHERS = sorted((ROOT / "recipes" / "teacher").glob("*.yaml"))


@pytest.mark.parametrize("path", DISTILL, ids=lambda p: str(p.relative_to(ROOT)))
def test_distill_recipes_validate(path: Path) -> None:
    recipe = load_recipe(DistillRecipe, path)
    assert recipe.teacher.checkpoint and recipe.student.arch


@pytest.mark.parametrize("path", TEACHERS, ids=lambda p: str(p.relative_to(ROOT)))
def test_teacher_recipes_validate(path: Path) -> None:
    assert load_recipe(TeacherRecipe, path).output


def test_published_settings_of_the_baselines() -> None:
    dfad = load_recipe(DistillRecipe, ROOT / "recipes/cifar10/dfad.yaml")
    assert (dfad.method, dfad.steps, dfad.batch_size, dfad.student_steps) == ("dfad", 25000, 256, 5)
    assert (dfad.student.optimizer.name, dfad.student.optimizer.lr, dfad.generator.optimizer.lr) == ("sgd", 0.1, 1e-3)
    assert dfad.optim.lr_schedule.milestones == [5000, 10000] and dfad.generator.kwargs["nz"] == 256
    zskt = load_recipe(DistillRecipe, ROOT / "recipes/cifar10/zskt.yaml")
    assert (zskt.method, zskt.steps, zskt.batch_size, zskt.student_steps) == ("zskt", 80000, 128, 10)
    assert (zskt.loss.discrepancy, zskt.loss.attention_beta, zskt.optim.student_clip_norm) == ("kl", 250.0, 5.0)
    onestage = load_recipe(DistillRecipe, ROOT / "recipes/cifar10/onestage.yaml")
    assert onestage.method == "onestage" and onestage.model_dump(exclude={"method", "run"}) == dfad.model_dump(
        exclude={"method", "run"}
    )


def test_packaged_quickstart_matches_the_repository_copy() -> None:
    packaged = load_recipe(DistillRecipe, packaged_recipe("quickstart"))
    assert packaged == load_recipe(DistillRecipe, ROOT / "recipes/quickstart.yaml")


@pytest.mark.parametrize("schema", [DistillRecipe, TeacherRecipe])
def test_nested_section_defaults_are_plain_class_defaults(schema: type[BaseModel]) -> None:
    """A partial override of a section (e.g. logging.eval_every=5) must not reset its other keys: that holds
    when every nested section's default is its own class default, which this test enforces."""

    def walk(model: type[BaseModel]) -> None:
        for name, field in model.model_fields.items():
            default = field.default
            if isinstance(default, BaseModel):
                assert default == type(default)(), f"{model.__name__}.{name} has a parent-level default"
                walk(type(default))

    walk(schema)

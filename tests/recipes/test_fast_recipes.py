"""recipes/cifar10/fast/: the fast teacher and DFAD's settings with the schedule compressed (20% / 40%)."""

from __future__ import annotations

from pathlib import Path

from dfkd.config.load import load_recipe
from dfkd.distill.config import DistillRecipe
from dfkd.teachers.config import TeacherRecipe

FAST = Path(__file__).resolve().parents[2] / "recipes" / "cifar10" / "fast"
PUBLISHED = Path(__file__).resolve().parents[2] / "recipes" / "cifar10" / "dfad.yaml"


def test_fast_teacher_runs_on_the_gpu_path_without_label_smoothing() -> None:
    recipe = load_recipe(TeacherRecipe, FAST / "teacher-resnet34.yaml")
    assert recipe.model.arch == "cifar_resnet34" and recipe.data.augment
    assert (recipe.run.precision, recipe.run.channels_last) == ("bf16", True)
    assert recipe.output == "checkpoints/cifar10_resnet34_fast.pt"


def test_fast_distillation_keeps_dfads_settings_on_a_compressed_schedule() -> None:
    published = load_recipe(DistillRecipe, PUBLISHED)
    for method in ("dfad", "onestage"):
        fast = load_recipe(DistillRecipe, FAST / f"{method}.yaml")
        assert fast.method == method and fast.run.precision == "bf16"
        assert fast.teacher.checkpoint == "checkpoints/cifar10_resnet34_fast.pt"
        same = {"batch_size", "student_steps", "student", "generator", "loss"}
        assert fast.model_dump(include=same) == published.model_dump(include=same)
        fractions = [m / fast.steps for m in fast.optim.lr_schedule.milestones]
        assert fractions == [m / published.steps for m in published.optim.lr_schedule.milestones] == [0.2, 0.4]

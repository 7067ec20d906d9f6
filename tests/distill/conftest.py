"""Tiny teacher files and recipes for end-to-end distillation tests (seconds, not minutes)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from dfkd.data.shapes import SHAPES_MEAN, SHAPES_STD
from dfkd.models import create_model
from dfkd.teachers import TeacherInfo, save_teacher


@pytest.fixture(autouse=True)
def _quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DFKD_NO_PROGRESS", "1")


def write_tiny_teacher(path: Path, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    model = create_model("simple_cnn", num_classes=10, width=4, depth=2)
    info = TeacherInfo("simple_cnn", 10, (3, 32, 32), SHAPES_MEAN, SHAPES_STD, 0.1, "shapes", {"width": 4, "depth": 2})
    save_teacher(path, model, info)
    return path


def tiny_recipe(tmp_path: Path, **top: object) -> Path:
    """A complete distillation recipe on generated shapes with tiny networks; keyword args override keys."""
    teacher = tmp_path / "teacher.pt"
    if not teacher.exists():
        write_tiny_teacher(teacher)
    recipe: dict[str, object] = {
        "run": {"name": "tiny", "root": str(tmp_path / "runs"), "seed": 0, "threads": 1},
        "data": {"name": "shapes", "max_items": 64, "batch_size": 64},
        "teacher": {"checkpoint": str(teacher)},
        "student": {"arch": "simple_cnn", "kwargs": {"width": 4, "depth": 2}, "optimizer": {"name": "sgd", "lr": 0.05}},
        "generator": {"arch": "dfad_generator", "kwargs": {"nz": 8, "ngf": 4}},
        "steps": 4,
        "batch_size": 8,
        "student_steps": 2,
        "logging": {"log_every": 1, "eval_every": 2, "checkpoint_every": 1, "image_every": 2},
    }
    recipe.update(top)
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


@pytest.fixture
def recipe_factory(tmp_path: Path):  # type: ignore[no-untyped-def]
    return lambda **top: tiny_recipe(tmp_path, **top)

"""Getting the teacher a job needs: load it (training it first where the recipe asks), and check it against the
data it meets."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

from torch import nn

from dfkd.config.load import load_recipe, read_yaml_mapping, recipe_hash
from dfkd.data.spec import DatasetSpec
from dfkd.distill.config import TeacherSection
from dfkd.recipes import packaged_recipe
from dfkd.teachers.config import TeacherRecipe
from dfkd.teachers.load import RECIPE_OPTIONS, OptionNames, TeacherLoadError, TeacherRequest, load_teacher
from dfkd.teachers.record import TeacherInfo
from dfkd.teachers.train import train_teacher


def ensure_teacher(cfg: TeacherSection) -> tuple[nn.Module, TeacherInfo]:
    """Load the teacher; if its file is missing and ``train_if_missing``, train it first (resuming an
    interrupted teacher run). A directory is an error, never a reason to train."""
    path = Path(cfg.checkpoint)
    if path.is_dir():
        raise TeacherLoadError(
            f"{path}: teacher.checkpoint is a directory; expected a teacher file, e.g. runs/<name>/student_best.pt "
            "or the output of `dfkd train-teacher`"
        )
    if not path.is_file():
        if not cfg.train_if_missing:
            raise TeacherLoadError(
                f"{path}: teacher checkpoint not found. Train one with `dfkd train-teacher RECIPE` (e.g. "
                "recipes/teacher/cifar10-resnet34.yaml), point teacher.checkpoint at your own weights, or set "
                "teacher.train_if_missing=true"
            )
        teacher_recipe = cfg.teacher_recipe or packaged_recipe("quickstart-teacher")
        overrides = [f"output={path}"]
        recipe = load_recipe(TeacherRecipe, teacher_recipe, overrides)
        resume = interrupted_teacher_run(recipe)
        print(
            f"{path} not found: training the teacher first ({teacher_recipe})"
            + (f", continuing the interrupted run {resume}" if resume else "")
        )
        if resume:  # train it to its end, whatever time limit the interrupted run had
            trained, _ = train_teacher(None, ["logging.max_wall_s=null"], resume=resume)
        else:
            trained, _ = train_teacher(teacher_recipe, overrides)
        if trained is None:
            raise TeacherLoadError(f"{path}: the teacher's training stopped before its end; run again to continue it")
    request = TeacherRequest(
        checkpoint=str(path),
        arch=cfg.arch,
        arch_kwargs=cfg.arch_kwargs,
        num_classes=cfg.num_classes,
        mean=cfg.mean,
        std=cfg.std,
    )
    return load_teacher(request)


def interrupted_teacher_run(recipe: TeacherRecipe) -> str | None:
    """The run directory of an interrupted training of exactly this teacher recipe, if there is one: resuming it
    saves the work. Any other run under that name (another recipe, another output) is left alone."""
    previous = Path(recipe.run.root) / recipe.run.name
    if not ((previous / "checkpoints" / "last.pt").is_file() and (previous / "recipe.yaml").is_file()):
        return None
    saved = read_yaml_mapping(previous / "recipe.yaml")
    same = recipe_hash(saved, ignore=("logging",)) == recipe_hash(recipe, ignore=("logging",))
    return str(previous) if same else None


def match_input_size(
    info: TeacherInfo, spec: DatasetSpec, checkpoint: str, options: OptionNames = RECIPE_OPTIONS
) -> TeacherInfo:
    """The teacher's input size checked against the data's ``(channels, size, size)``.

    A recorded size that differs is an error (the teacher was trained on other inputs); bare weights, which record
    none, take the data's.
    """
    data_size = (spec.channels, spec.image_size, spec.image_size)
    if info.input_size is None:
        return replace(info, input_size=data_size)
    if tuple(info.input_size) != data_size:
        recorded = "x".join(map(str, info.input_size))
        raise TeacherLoadError(
            f"{checkpoint}: the teacher takes {recorded} inputs (recorded in the file) but the images of {spec.name} "
            f"are {'x'.join(map(str, data_size))} ({options.data}); use data of the teacher's input size"
        )
    check_normalisation(info, checkpoint, options)
    return info


def check_normalisation(info: TeacherInfo, checkpoint: str, options: OptionNames = RECIPE_OPTIONS) -> None:
    """The input normalisation must give one finite mean and one finite, positive std per input channel."""
    channels = info.input_size[0] if info.input_size is not None else None
    for name, values, option in (("mean", info.mean, options.mean), ("std", info.std, options.std)):
        if values is None:
            continue
        if channels is not None and len(values) != channels:
            raise TeacherLoadError(
                f"{checkpoint}: the input normalisation's {name} has {len(values)} value(s) for {channels}-channel "
                f"inputs ({option}); give one per channel"
            )
        if not all(math.isfinite(v) for v in values) or (name == "std" and min(values) <= 0):
            wanted = "finite numbers > 0" if name == "std" else "finite numbers"
            raise TeacherLoadError(
                f"{checkpoint}: the input normalisation's {name} must be {wanted} ({option}): {values}"
            )

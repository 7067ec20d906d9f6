"""The teacher-training recipe schema (``dfkd train-teacher``). With no recipe, the packaged quick-start
teacher recipe (``dfkd/recipes/quickstart-teacher.yaml``) is used."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationInfo, field_validator

from dfkd.config.base import Section
from dfkd.config.names import DatasetName, ModelName, model_kwargs
from dfkd.config.sections import LoggingSection, LrScheduleSection, OptimizerSection, RunSection
from dfkd.config.types import PositiveInt


class TrainDataSection(Section):
    name: DatasetName = "cifar10"  # cifar10, cifar100, mnist, shapes, or an ImageFolder directory
    root: str = "data"
    download: bool = False
    augment: bool = True  # random crop (padding 4) + horizontal flip where labels allow, on the device
    max_train_items: PositiveInt | None = None  # a random subset of the training split (None: all)
    max_test_items: PositiveInt | None = None


class TeacherModelSection(Section):
    arch: ModelName = "cifar_resnet34"
    kwargs: dict[str, object] = {}

    @field_validator("kwargs")
    @classmethod
    def _kwargs_of_the_model(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        return model_kwargs(info.data.get("arch"), value, reserved={"num_classes": "the training data"})


class TeacherTrainSection(Section):
    epochs: PositiveInt = 200
    batch_size: PositiveInt = 128
    optimizer: OptimizerSection = OptimizerSection()
    lr_schedule: LrScheduleSection = LrScheduleSection()  # multistep milestones are given in epochs


class TeacherRecipe(Section):
    run: RunSection = RunSection()
    data: TrainDataSection = TrainDataSection()
    model: TeacherModelSection = TeacherModelSection()
    train: TeacherTrainSection = TeacherTrainSection()
    logging: LoggingSection = LoggingSection()
    output: str  # the teacher file written at the end, e.g. checkpoints/cifar10_resnet34.pt

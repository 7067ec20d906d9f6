"""The teacher-training recipe schema (``dfkd train-teacher``). With no recipe, the packaged quick-start
teacher recipe (``dfkd/recipes/quickstart-teacher.yaml``) is used."""
from __future__ import annotations

from pydantic import Field

from dfkd.config.base import Section
from dfkd.config.sections import LoggingSection, LrScheduleSection, OptimizerSection, RunSection


class TrainDataSection(Section):
    name: str = "cifar10"  # cifar10, cifar100, mnist, shapes, or an ImageFolder directory
    root: str = "data"
    download: bool = False
    augment: bool = True  # random crop (padding 4) + horizontal flip where labels allow, on the device
    max_train_items: int | None = None  # a random subset of the training split (None: all)
    max_test_items: int | None = None


class TeacherModelSection(Section):
    arch: str = "cifar_resnet34"
    kwargs: dict[str, object] = {}


class TeacherTrainSection(Section):
    epochs: int = Field(200, ge=1)
    batch_size: int = Field(128, ge=1)
    optimizer: OptimizerSection = OptimizerSection()
    lr_schedule: LrScheduleSection = LrScheduleSection()  # multistep milestones are given in epochs


class TeacherRecipe(Section):
    run: RunSection = RunSection()
    data: TrainDataSection = TrainDataSection()
    model: TeacherModelSection = TeacherModelSection()
    train: TeacherTrainSection = TeacherTrainSection()
    logging: LoggingSection = LoggingSection()
    output: str  # the teacher file written at the end, e.g. checkpoints/cifar10_resnet34.pt

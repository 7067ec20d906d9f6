"""The distillation recipe schema (``dfkd distill``).

Defaults here are generic (DFAD-like); a recipe names at least the teacher checkpoint and the student. With no
recipe, ``dfkd distill`` runs the packaged quick-start (``dfkd/recipes/quickstart.yaml``).
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from dfkd.config.base import Section
from dfkd.config.sections import EngineSection, LoggingSection, LrScheduleSection, OptimizerSection, RunSection


class EvalDataSection(Section):
    """The teacher's test set, used only to measure accuracy (never to train)."""

    name: str = "cifar10"  # cifar10, cifar100, shapes, or an ImageFolder directory
    root: str = "data"  # where torchvision datasets live / are downloaded
    download: bool = False
    max_items: int | None = None  # evaluate on a random subset of N test images (None: all)
    batch_size: int = Field(512, ge=1)


class TeacherSection(Section):
    checkpoint: str
    arch: str | None = None  # needed for bare weights: a dfkd/timm model name or package.module:callable
    arch_kwargs: dict[str, object] | None = None
    num_classes: int | None = None  # checked against the checkpoint when set
    mean: tuple[float, ...] | None = None  # input normalisation, when the checkpoint does not record it
    std: tuple[float, ...] | None = None
    train_if_missing: bool = False  # train it with `teacher_recipe` first when the file is absent
    teacher_recipe: str | None = None  # a `dfkd train-teacher` recipe (None: the packaged quick-start teacher)


class NetworkSection(Section):
    arch: str
    kwargs: dict[str, object] = {}
    optimizer: OptimizerSection = OptimizerSection()


class GeneratorSection(NetworkSection):
    arch: str = "dfad_generator"  # image size and channels come from the teacher unless given in kwargs


class LossSection(Section):
    discrepancy: Literal["l1", "kl"] = "l1"
    objective: str = "adversarial"  # a KD objective: adversarial (symmetric), log_adversarial (asymmetric)
    temperature: float = 1.0  # kl only
    attention_beta: float = 0.0  # ZSKT attention transfer weight per block group (two-stage student steps only)
    priors: dict[str, float] = {}  # generator priors on the teacher and their weights, e.g. {bn: 1.0, balance: 5.0}

    @field_validator("priors")
    @classmethod
    def _known_priors(cls, priors: dict[str, float]) -> dict[str, float]:
        from dfkd.distill.priors import PRIORS

        unknown = sorted(set(priors) - set(PRIORS.names()))
        if unknown:
            raise ValueError(f"unknown generator prior(s) {unknown}; expected some of {PRIORS.names()}")
        return priors


class ReplaySection(Section):
    """Replay of past generated samples (with the teacher's logits) in extra student-only steps."""

    capacity: int = Field(0, ge=0)  # samples kept (0: no replay)
    steps: int = Field(0, ge=0)  # extra student steps per round on batches drawn from the memory
    per_round: int = Field(1, ge=1)  # fresh batches generated and stored per round


class OptimSection(Section):
    """Schedules and clipping shared by both optimisers."""

    lr_schedule: LrScheduleSection = LrScheduleSection()  # applied to both optimisers, stepped per round
    student_clip_norm: float | None = None
    generator_clip_norm: float | None = None


class DistillRecipe(Section):
    method: Literal["onestage", "dfad", "zskt", "noise"] = "onestage"
    steps: int = Field(3000, ge=1)  # rounds; each has one generator update (none for method=noise)
    batch_size: int = Field(256, ge=1)
    student_steps: int = Field(5, ge=1)  # student updates per round (onestage: the last one is joint)
    noise_pool: int = Field(4096, ge=1)  # method=noise: size of the fixed random-input pool
    run: RunSection = RunSection()
    data: EvalDataSection = EvalDataSection()
    teacher: TeacherSection
    student: NetworkSection
    generator: GeneratorSection = GeneratorSection()
    loss: LossSection = LossSection()
    replay: ReplaySection = ReplaySection()
    optim: OptimSection = OptimSection()
    engine: EngineSection = EngineSection()
    logging: LoggingSection = LoggingSection()
    noise_baseline: bool = False  # after the run, distil a fresh student on fixed noise for the same wall time


CHANGEABLE_ON_RESUME = ("steps", "logging", "noise_baseline", "run.threads", "data.max_items", "data.batch_size")

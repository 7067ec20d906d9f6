"""The distillation recipe schema (``dfkd distill``).

Defaults here are generic (DFAD-like); a recipe names at least the teacher checkpoint and the student. With no
recipe, ``dfkd distill`` runs the packaged quick-start (``dfkd/recipes/quickstart.yaml``).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator

from dfkd.config.base import Section
from dfkd.config.load import RecipeConflict
from dfkd.config.names import Architecture, DatasetName, ModelName, model_kwargs
from dfkd.config.sections import EngineSection, LoggingSection, LrScheduleSection, OptimizerSection, RunSection
from dfkd.config.types import FiniteFloat, NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt

MIN_TEMPERATURE = 0.1
"""Smallest KL temperature (``loss.temperature``) a recipe may set. The KL's gradient with respect to the logits
scales as 1/T, and typical logit gaps (10-20) divided by a T below about 0.1 leave float32's exp range: the
softened distributions become exactly one-hot, the loss a hard arg-max match whose rare non-zero gradients are
huge, and a run drifts to non-finite weights. KD temperatures in use are 1 to 20."""


class EvalDataSection(Section):
    """The teacher's test set, used only to measure accuracy (never to train)."""

    name: DatasetName = "cifar10"  # cifar10, cifar100, shapes, or an ImageFolder directory
    root: str = "data"  # where torchvision datasets live / are downloaded
    download: bool = False
    max_items: PositiveInt | None = None  # evaluate on a random subset of N test images (None: all)
    batch_size: PositiveInt = 512


class TeacherSection(Section):
    checkpoint: str
    arch: Architecture | None = None  # needed for bare weights: a dfkd/timm model name or package.module:callable
    arch_kwargs: dict[str, object] | None = None
    num_classes: PositiveInt | None = None  # checked against the checkpoint when set
    mean: tuple[FiniteFloat, ...] | None = None  # input normalisation, when the checkpoint does not record it
    std: tuple[PositiveFloat, ...] | None = None
    train_if_missing: bool = False  # train it with `teacher_recipe` first when the file is absent
    teacher_recipe: str | None = None  # a `dfkd train-teacher` recipe (None: the packaged quick-start teacher)

    @field_validator("arch_kwargs")
    @classmethod
    def _kwargs_of_the_model(cls, value: dict[str, Any] | None, info: ValidationInfo) -> dict[str, Any] | None:
        arch = info.data.get("arch")
        if value is None or arch is None or ":" in arch:  # a user callable's arguments are its own business
            return value
        return model_kwargs(arch, value)


class NetworkSection(Section):
    arch: ModelName
    kwargs: dict[str, object] = {}
    optimizer: OptimizerSection = OptimizerSection()

    RESERVED_KWARGS: ClassVar[dict[str, str]] = {}  # arguments the job sets itself -> where they come from

    @field_validator("kwargs")
    @classmethod
    def _kwargs_of_the_model(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        return model_kwargs(info.data.get("arch"), value, cls.RESERVED_KWARGS)


class StudentSection(NetworkSection):
    RESERVED_KWARGS: ClassVar[dict[str, str]] = {"num_classes": "the teacher"}


class GeneratorSection(NetworkSection):
    arch: ModelName = "dfad_generator"  # image size and channels come from the teacher unless given in kwargs


class LossSection(Section):
    discrepancy: Literal["l1", "kl"] = "l1"
    objective: str = "adversarial"  # a KD objective: adversarial (symmetric), log_adversarial (asymmetric)
    temperature: FiniteFloat = Field(default=1.0, ge=MIN_TEMPERATURE)  # kl only
    attention_beta: NonNegativeFloat = 0.0  # ZSKT attention transfer weight per block group (two-stage only)
    priors: dict[str, NonNegativeFloat] = {}  # generator priors and their weights, e.g. {bn: 1.0, balance: 5.0}

    @field_validator("objective")
    @classmethod
    def _known_objective(cls, value: str) -> str:
        from dfkd.losses import KD_OBJECTIVES

        return KD_OBJECTIVES.validate(value)

    @field_validator("priors")
    @classmethod
    def _known_priors(cls, priors: dict[str, float]) -> dict[str, float]:
        from dfkd.distill.priors import PRIORS

        unknown = sorted(set(priors) - set(PRIORS.names()))
        if unknown:
            names = ", ".join(repr(name) for name in unknown)
            raise ValueError(f"generator priors among {', '.join(PRIORS.names())} (unknown generator prior {names})")
        return priors


class ReplaySection(Section):
    """Replay of past generated samples (with the teacher's logits) in extra student-only steps."""

    capacity: NonNegativeInt = 0  # samples kept (0: no replay)
    steps: NonNegativeInt = 0  # extra student steps per round on batches drawn from the memory
    per_round: PositiveInt = 1  # fresh batches generated and stored per round


class OptimSection(Section):
    """Schedules and clipping shared by both optimisers."""

    lr_schedule: LrScheduleSection = LrScheduleSection()  # applied to both optimisers, stepped per round
    student_clip_norm: PositiveFloat | None = None
    generator_clip_norm: PositiveFloat | None = None


class DistillRecipe(Section):
    method: Literal["onestage", "dfad", "zskt", "noise"] = "onestage"
    steps: PositiveInt = 3000  # rounds; each has one generator update (none for method=noise)
    batch_size: PositiveInt = 256
    student_steps: PositiveInt = 5  # student updates per round (onestage: the last one is joint)
    noise_pool: PositiveInt = 4096  # method=noise: size of the fixed random-input pool
    run: RunSection = RunSection()
    data: EvalDataSection = EvalDataSection()
    teacher: TeacherSection
    student: StudentSection
    generator: GeneratorSection = GeneratorSection()
    loss: LossSection = LossSection()
    replay: ReplaySection = ReplaySection()
    optim: OptimSection = OptimSection()
    engine: EngineSection = EngineSection()
    logging: LoggingSection = LoggingSection()
    noise_baseline: bool = False  # after the run, the same student updates on fixed noise inputs

    @property
    def student_updates_per_round(self) -> int:
        """Student updates in one round: the method's student steps and the replay steps (if replay is on)."""
        return self.student_steps + (self.replay.steps if self.replay.capacity else 0)

    @field_validator("loss")
    @classmethod
    def _loss_fits_the_method(cls, loss: LossSection, info: ValidationInfo) -> LossSection:
        """A one-stage update is one backward pass for student and generator; two kinds of terms cannot join
        it (the engine refuses them at the first step; here they are refused before anything runs)."""
        if info.data.get("method") != "onestage":
            return loss
        if loss.attention_beta > 0:
            raise RecipeConflict(
                f"method=onestage cannot use loss.attention_beta={loss.attention_beta:g}: attention transfer is a "
                "student-only term on the generated images' features, which one backward pass cannot keep from the "
                "generator; use method=zskt or method=dfad (two-stage), or loss.attention_beta=0"
            )
        from dfkd.distill.priors import PRIORS
        from dfkd.losses import KD_OBJECTIVES

        teacher_priors = sorted(name for name, w in loss.priors.items() if w and PRIORS.get(name).kind == "teacher")
        if teacher_priors and not KD_OBJECTIVES.get(loss.objective).symmetric:
            raise RecipeConflict(
                f"method=onestage cannot combine the asymmetric loss.objective={loss.objective} with the teacher "
                f"prior(s) {', '.join(teacher_priors)} (loss.priors): a generator-only term joins the one-stage "
                "backward only with a symmetric objective; use loss.objective=adversarial, a two-stage method "
                "(method=dfad), or set those prior weights to 0"
            )
        return loss


CHANGEABLE_ON_RESUME = ("steps", "logging", "noise_baseline", "run.threads", "data.max_items", "data.batch_size")

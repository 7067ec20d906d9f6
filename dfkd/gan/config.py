"""The GAN recipe (``dfkd gan RECIPE``): data, networks, loss, one- or two-stage training, FID/KID.

Defaults follow the one-stage GAN paper (DCGAN networks, GroupNorm in the critic, Adam 2e-4 with betas
(0.5, 0.999), batch 128, nz 100, N(0, 0.02) init). The variants in ``recipes/gan/`` set only what differs.
"""

from __future__ import annotations

import inspect
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator

from dfkd.config.base import Section
from dfkd.config.load import RecipeConflict
from dfkd.config.names import DatasetName
from dfkd.config.sections import EngineSection, LrScheduleSection, OptimizerSection, RunSection
from dfkd.config.types import FiniteFloat, Int, NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt
from dfkd.gan.constraints import CRITIC_PENALTIES, NO_PENALTY
from dfkd.losses import GAN_LOSSES

DCGAN_ADAM = OptimizerSection(name="adam", lr=2e-4, betas=(0.5, 0.999))


class GanDataSection(Section):
    """Real images: the training split, resized and center-cropped to ``model.resolution``."""

    name: DatasetName = "cifar10"  # cifar10, cifar100, mnist, shapes, or an ImageFolder directory (CelebA, LSUN, FFHQ)
    root: str = "data"  # where torchvision datasets live / are downloaded
    download: bool = False  # fetch a missing torchvision dataset (needs network)
    max_items: Annotated[Int, Field(ge=2)] | None = None  # a seeded random subset of the split (None: all of it)
    augment: bool = False  # random crop (zero padding 4) + horizontal flip per batch, on the device


class GanModelSection(Section):
    """DCGAN generator and critic (dfkd.models.dcgan), one definition for every power-of-two resolution."""

    resolution: Annotated[Int, Field(ge=8)] = 32  # 32 (CIFAR-10) or 64 (CelebA, LSUN, FFHQ); any power of two >= 8
    nz: PositiveInt = 100
    ngf: PositiveInt = 64
    ndf: PositiveInt = 64
    norm: Literal["gn", "bn", "none", "sn"] = "gn"  # critic normalisation; sn = spectral norm (SNGAN)
    conditional: bool = False  # CGAN: label-embedding generator, projection critic (needs >= 2 classes)

    @field_validator("resolution")
    @classmethod
    def _power_of_two(cls, value: int) -> int:
        if value & (value - 1):
            raise ValueError("a power of two >= 8 (e.g. 32 or 64)")
        return value


class GanLossSection(Section):
    """The adversarial loss (dfkd.losses.GAN_LOSSES) and the critic's constraint."""

    name: str = "nonsaturating"  # minimax, nonsaturating, wgan, lsgan, hinge, relativistic, fisher, bgan, ...
    params: dict[str, FiniteFloat] = {}  # the loss's hyper-parameters, e.g. fisher: {rho: 1.0e-6, lam: 0.0 (initial)}
    penalty: str = NO_PENALTY  # none, gp (WGAN-GP, on detached fakes), r1
    penalty_weight: NonNegativeFloat = 10.0
    clip: PositiveFloat | None = None  # WGAN: clamp critic parameters to [-clip, clip] after every update

    @field_validator("name")
    @classmethod
    def _known_loss(cls, value: str) -> str:
        return GAN_LOSSES.validate(value)

    @field_validator("penalty")
    @classmethod
    def _known_penalty(cls, value: str) -> str:
        if value != NO_PENALTY and value not in CRITIC_PENALTIES:
            raise ValueError(f"one of {', '.join([NO_PENALTY, *CRITIC_PENALTIES.names()])}")
        return value

    @field_validator("params")
    @classmethod
    def _params_of_the_loss(cls, value: dict[str, float], info: ValidationInfo) -> dict[str, float]:
        name = info.data.get("name")
        if name is None:  # the name itself was invalid; that error is reported
            return value
        accepted = list(inspect.signature(GAN_LOSSES.get(name).pair).parameters)[2:]
        if set(value) - set(accepted):
            raise ValueError(f"parameters of the {name!r} loss ({', '.join(accepted) or 'it has none'})")
        return value


class GanTrainSection(Section):
    stage: Literal["one", "two"] = "one"  # one: Algorithm 1 (joint update); two: alternating updates
    steps: PositiveInt = 50_000  # rounds = generator updates
    batch_size: PositiveInt = 128  # real and fake images per critic update
    critic_steps: PositiveInt = 1  # critic updates per generator update (one stage: the last is joint)


class GanOptimSection(Section):
    generator: OptimizerSection = DCGAN_ADAM
    critic: OptimizerSection = DCGAN_ADAM
    lr_schedule: LrScheduleSection = LrScheduleSection()  # both optimisers, stepped once per round
    critic_clip_norm: PositiveFloat | None = None
    generator_clip_norm: PositiveFloat | None = None


class FidSection(Section):
    """FID and KID through torchmetrics. Only ``extractor: inception`` gives numbers comparable with papers."""

    enabled: bool = True
    extractor: str = "inception"  # inception, timm:<model> (e.g. timm:resnet18), pixels:<size>; see dfkd.metrics
    weights: str | None = None  # extractor weights file (inception: torch-fidelity's; timm: a state dict)
    download: bool = False  # inception: let torch-fidelity download missing weights (needs network)
    image_size: PositiveInt | None = None  # extractor input size (timm, pixels); inception uses 299 itself
    every: NonNegativeInt = 5000  # evaluate every N steps and at the end (0: only at the end)
    num_samples: NonNegativeInt = 0  # generated images per evaluation; 0: 10000 on GPU, 1000 on CPU
    num_real: NonNegativeInt = 0  # real images (a fixed seeded subset); 0: as num_samples (capped by the split)
    batch_size: PositiveInt = 250
    kid_subsets: PositiveInt = 100
    kid_subset_size: Annotated[Int, Field(ge=2)] = 1000  # capped by the number of samples
    cache_dir: str | None = "~/.cache/dfkd/fid"  # real-image features, per dataset/resolution/extractor; None: off


class GanLoggingSection(Section):
    log_every: NonNegativeInt = 100
    checkpoint_every: NonNegativeInt = 1000
    image_every: NonNegativeInt = 1000  # fixed-z image grid (0: only at the end)
    grid_size: PositiveInt = 64
    max_wall_s: PositiveFloat | None = None  # stop (and checkpoint) after this much training time


class GanRecipe(Section):
    run: RunSection = RunSection(name="gan")
    data: GanDataSection = GanDataSection()
    model: GanModelSection = GanModelSection()
    loss: GanLossSection = GanLossSection()
    train: GanTrainSection = GanTrainSection()
    optim: GanOptimSection = GanOptimSection()
    fid: FidSection = FidSection()
    logging: GanLoggingSection = GanLoggingSection()
    engine: EngineSection = EngineSection()

    @field_validator("engine")
    @classmethod
    def _one_stage_can_run(cls, engine: EngineSection, info: ValidationInfo) -> EngineSection:
        """Refuse what the engine would refuse at the first one-stage step: with ``engine.coupling=error``, an
        asymmetric loss on a BatchNorm critic (its per-sample gamma would be approximate)."""
        train, loss, model = info.data.get("train"), info.data.get("loss"), info.data.get("model")
        if engine.coupling != "error" or train is None or loss is None or model is None or train.stage != "one":
            return engine
        if model.norm == "bn" and not GAN_LOSSES.get(loss.name).symmetric:
            raise RecipeConflict(
                f"engine.coupling=error refuses train.stage=one with the asymmetric loss.name={loss.name} on a "
                "BatchNorm critic (model.norm=bn), whose one-stage update would be approximate; use model.norm=gn, "
                "train.stage=two, or engine.coupling=warn"
            )
        return engine


CHANGEABLE_ON_RESUME = ("train.steps", "logging", "fid.every", "fid.batch_size", "fid.cache_dir", "run.threads")
"""Keys that ``dfkd gan --resume`` accepts with new values (everything else must match the saved recipe)."""

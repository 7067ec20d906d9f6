"""Loss catalog: GAN losses and distillation objectives (registries of pure functions)."""

from dfkd.losses import distill, gan  # noqa: F401  (registration)
from dfkd.losses.distill import DISCREPANCIES
from dfkd.losses.penalties import gradient_penalty, r1_penalty
from dfkd.losses.registry import (
    GAN_LOSSES,
    KD_OBJECTIVES,
    AdversarialLoss,
    register_gan_loss,
    register_kd_objective,
)

__all__ = [
    "DISCREPANCIES",
    "GAN_LOSSES",
    "KD_OBJECTIVES",
    "AdversarialLoss",
    "gradient_penalty",
    "r1_penalty",
    "register_gan_loss",
    "register_kd_objective",
]

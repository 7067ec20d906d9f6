"""The GAN loss catalog (../shared/reference/gan_losses.md), each as one pure function -> (L_D, L_G).

Notation: y = critic logit on a fake sample, y_r on a real sample, sp = softplus. Means over the batch.
gamma = (dL_G/dy) / (dL_D^f/dy) is listed for each; the engine computes it by autograd, tests check these
closed forms. CGAN and SNGAN are architectures (conditional networks, spectral-norm critic) that reuse
these losses.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from dfkd.losses.registry import register_gan_loss, require_real


@register_gan_loss("minimax", symmetric=True)
def minimax(y_real: Tensor | None, y_fake: Tensor) -> tuple[Tensor, Tensor]:
    """DCGAN with the true saturating generator loss (Eq. 2): L_D = sp(-y_r) + sp(y), L_G = -sp(y); gamma = -1."""
    y_real = require_real(y_real, "minimax")
    fake_term = F.softplus(y_fake).mean()
    return F.softplus(-y_real).mean() + fake_term, -fake_term


@register_gan_loss("nonsaturating", symmetric=False)
def nonsaturating(y_real: Tensor | None, y_fake: Tensor) -> tuple[Tensor, Tensor]:
    """DCGAN non-saturating (Eq. 3): L_D as minimax, L_G = sp(-y); gamma = -e^(-y)."""
    y_real = require_real(y_real, "nonsaturating")
    return F.softplus(-y_real).mean() + F.softplus(y_fake).mean(), F.softplus(-y_fake).mean()


@register_gan_loss("wgan", symmetric=True)
def wgan(y_real: Tensor | None, y_fake: Tensor) -> tuple[Tensor, Tensor]:
    """WGAN (weight clipping or gradient penalty): L_D = -y_r + y, L_G = -y; gamma = -1."""
    y_real = require_real(y_real, "wgan")
    return y_fake.mean() - y_real.mean(), -y_fake.mean()


@register_gan_loss("lsgan", symmetric=False)
def lsgan(y_real: Tensor | None, y_fake: Tensor) -> tuple[Tensor, Tensor]:
    """LSGAN with targets 0/1/1: L_D = (y_r - 1)^2/2 + y^2/2, L_G = (y - 1)^2/2; gamma = 1 - 1/y."""
    y_real = require_real(y_real, "lsgan")
    return 0.5 * ((y_real - 1) ** 2).mean() + 0.5 * (y_fake**2).mean(), 0.5 * ((y_fake - 1) ** 2).mean()


@register_gan_loss("hinge", symmetric=False)
def hinge(y_real: Tensor | None, y_fake: Tensor) -> tuple[Tensor, Tensor]:
    """Hinge (GeoGAN, SNGAN): L_D = relu(1 - y_r) + relu(1 + y), L_G = -y; gamma = -1 for y > -1, undefined
    in the dead zone y <= -1 (handled by the engine's eps cotangent)."""
    y_real = require_real(y_real, "hinge")
    return F.relu(1 - y_real).mean() + F.relu(1 + y_fake).mean(), -y_fake.mean()


@register_gan_loss("relativistic", symmetric=False, generator_uses_real=True)
def relativistic(y_real: Tensor | None, y_fake: Tensor) -> tuple[Tensor, Tensor]:
    """RSGAN, paired: L_D = sp(-(y_r - y)), L_G = sp(-(y - y_r)); gamma = -e^(y_r - y)."""
    y_real = require_real(y_real, "relativistic")
    if y_real.shape != y_fake.shape:
        raise ValueError(f"relativistic loss pairs real and fake samples: got {y_real.shape} and {y_fake.shape}")
    return F.softplus(y_fake - y_real).mean(), F.softplus(y_real - y_fake).mean()


@register_gan_loss("relativistic_average", symmetric=False, generator_uses_real=True)
def relativistic_average(y_real: Tensor | None, y_fake: Tensor) -> tuple[Tensor, Tensor]:
    """RaSGAN: each sample against the other batch's mean output. The batch means couple samples inside
    the loss only, which per-output derivatives capture exactly."""
    y_real = require_real(y_real, "relativistic_average")
    real_vs_fake = y_real - y_fake.mean()
    fake_vs_real = y_fake - y_real.mean()
    critic = F.softplus(-real_vs_fake).mean() + F.softplus(fake_vs_real).mean()
    generator = F.softplus(-fake_vs_real).mean() + F.softplus(real_vs_fake).mean()
    return critic, generator


def fisher_constraint(y_real: Tensor, y_fake: Tensor) -> Tensor:
    """FisherGAN's constraint c = 1 - (mean y_r^2 + mean y^2)/2 (zero when the critic is normalised)."""
    return 1 - 0.5 * ((y_real**2).mean() + (y_fake**2).mean())


@register_gan_loss("fisher", symmetric=False)
def fisher(y_real: Tensor | None, y_fake: Tensor, lam: float = 0.0, rho: float = 1e-6) -> tuple[Tensor, Tensor]:
    """FisherGAN (augmented Lagrangian): L_D = -(mean y_r - mean y) - lam*c + rho/2*c^2, L_G = -y;
    gamma = -1 / (1 + (lam - rho*c) y). The game updates the multiplier: lam <- lam - rho*c."""
    y_real = require_real(y_real, "fisher")
    c = fisher_constraint(y_real, y_fake)
    critic = -(y_real.mean() - y_fake.mean()) - lam * c + 0.5 * rho * c**2
    return critic, -y_fake.mean()


@register_gan_loss("bgan", symmetric=False)
def bgan(y_real: Tensor | None, y_fake: Tensor) -> tuple[Tensor, Tensor]:
    """Boundary-seeking GAN: L_D as DCGAN, L_G = y^2/2 (= (log D - log(1 - D))^2 / 2); gamma = y (1 + e^(-y))."""
    y_real = require_real(y_real, "bgan")
    return F.softplus(-y_real).mean() + F.softplus(y_fake).mean(), 0.5 * (y_fake**2).mean()


__all__ = [
    "bgan",
    "fisher",
    "fisher_constraint",
    "hinge",
    "lsgan",
    "minimax",
    "nonsaturating",
    "relativistic",
    "relativistic_average",
    "wgan",
]

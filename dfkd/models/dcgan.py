"""DCGAN generator and critic (Radford et al., 2016) for any power-of-two resolution >= 8, optionally conditional.

One definition per network, parameterised by ``resolution`` R; ``L = log2(R / 4)`` up/down-sampling steps.

Generator (standard DCGAN): z (B, nz) -> ConvTranspose(nz -> ngf*2^(L-1), 4, 1, 0) -> BN -> ReLU (4x4), then
L - 1 blocks ConvTranspose(4, 2, 1) -> BN -> ReLU halving the channels, then ConvTranspose(ngf -> channels, 4, 2, 1)
-> Tanh. For R = 64 this is the original 512/256/128/64 generator. Conditional (``num_classes > 0``): z is
multiplied element-wise by a learned label embedding ``nn.Embedding(num_classes, nz)`` (kept at its N(0, 1) init,
so z * e has the variance of z). Multiplying rather than concatenating keeps the first layer identical to the
unconditional one.

Critic: Conv(channels -> ndf, 4, 2, 1) -> LeakyReLU(0.2) (never normalised, as in DCGAN), then L - 1 blocks
Conv(4, 2, 1) -> norm -> LeakyReLU(0.2) doubling the channels down to 4x4, then flatten to h (ndf*2^(L-1)*16
features) and Linear(h -> 1), which equals DCGAN's final Conv(4, 1, 0). The output is one raw logit per sample,
shape (B,). Conditional: the projection discriminator of Miyato & Koyama (2018), y = linear(h) + <embed(c), h>.
``norm`` is chosen from :data:`CRITIC_NORMS`: "gn" (GroupNorm with gcd(C, 32) groups), "bn" (BatchNorm2d),
"none", "sn" (spectral norm on every conv, linear and the projection embedding; no other normalisation). Only
"gn", "none" and "sn" make each output depend on its own sample alone (train-mode BN couples the batch), which the
one-stage update needs for asymmetric losses.

Init (:func:`dcgan_init_`): conv/linear weights N(0, 0.02), norm weights N(1, 0.02), biases 0; the critic's
projection embedding N(0, 0.02) like the linear head.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from ._factory import build_model, register_dfkd_model

__all__ = [
    "CRITIC_NORMS",
    "CriticNorm",
    "DCGANCritic",
    "DCGANGenerator",
    "dcgan_critic",
    "dcgan_generator",
    "dcgan_init_",
]


@dataclass(frozen=True)
class CriticNorm:
    """How a critic normalisation is built: a layer after each downsampling conv, and a wrapper for weights.

    ``layer(C)`` returns the module applied after a conv with C output channels; ``wrap`` is applied in place to
    every conv / linear / embedding after init (spectral norm); ``shifts`` says whether ``layer`` has its own
    bias, in which case the conv before it has none.
    """

    layer: Callable[[int], nn.Module]
    wrap: Callable[[nn.Module], nn.Module] | None = None
    shifts: bool = False


CRITIC_NORMS: dict[str, CriticNorm] = {
    "gn": CriticNorm(lambda c: nn.GroupNorm(math.gcd(c, 32), c), shifts=True),
    "bn": CriticNorm(nn.BatchNorm2d, shifts=True),
    "none": CriticNorm(lambda c: nn.Identity()),
    "sn": CriticNorm(lambda c: nn.Identity(), wrap=spectral_norm),
}

_NORM_TYPES = (nn.BatchNorm2d, nn.GroupNorm)


def dcgan_init_(module: nn.Module) -> None:
    """DCGAN init in place: conv/linear weights N(0, 0.02), norm weights N(1, 0.02), all their biases 0.

    Call it before spectral norm is applied (a parametrized weight cannot be re-initialised in place).
    """
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, _NORM_TYPES) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, 0.02)
        else:
            continue
        if m.bias is not None:
            nn.init.zeros_(m.bias)


def _num_steps(resolution: int) -> int:
    if resolution < 8 or resolution & (resolution - 1):
        raise ValueError(f"resolution must be a power of two >= 8, got {resolution}")
    return int(math.log2(resolution)) - 2


def _check_labels(labels: Tensor | None, num_classes: int, batch: int) -> None:
    if num_classes and labels is None:
        raise ValueError(f"conditional model ({num_classes} classes) needs labels")
    if not num_classes and labels is not None:
        raise ValueError("unconditional model (num_classes=0) got labels")
    if labels is not None and labels.shape != (batch,):
        raise ValueError(f"expected labels of shape ({batch},), got {tuple(labels.shape)}")


class DCGANGenerator(nn.Module):
    """DCGAN generator for ``resolution`` (a power of two >= 8); conditional when ``num_classes > 0``."""

    def __init__(
        self,
        nz: int = 100,
        ngf: int = 64,
        resolution: int = 32,
        channels: int = 3,
        num_classes: int = 0,
        output_bn: bool = False,
    ) -> None:
        super().__init__()
        steps = _num_steps(resolution)
        if min(nz, ngf, channels) < 1 or num_classes < 0:
            raise ValueError("nz, ngf and channels must be positive and num_classes >= 0")
        self.nz = nz
        self.resolution = resolution
        self.channels = channels
        self.num_classes = num_classes
        self.embed = nn.Embedding(num_classes, nz) if num_classes else None
        ch = ngf * 2 ** (steps - 1)
        layers: list[nn.Module] = [nn.ConvTranspose2d(nz, ch, 4, 1, 0, bias=False), nn.BatchNorm2d(ch), nn.ReLU(True)]
        for _ in range(steps - 1):
            layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch // 2), nn.ReLU(True)]
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, channels, 4, 2, 1, bias=False), nn.Tanh()]
        if output_bn:  # as DFAD's generator: outputs standardised per channel, i.e. in a normalised input space
            layers.append(nn.BatchNorm2d(channels, affine=False))
        self.main = nn.Sequential(*layers)
        dcgan_init_(self)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        if z.dim() != 2 or z.shape[1] != self.nz:
            raise ValueError(f"expected z of shape (B, {self.nz}), got {tuple(z.shape)}")
        _check_labels(labels, self.num_classes, z.shape[0])
        if self.embed is not None:
            z = z * self.embed(labels)
        return self.main(z[:, :, None, None])


class DCGANCritic(nn.Module):
    """DCGAN critic returning one logit per sample, shape (B,); projection-conditional when ``num_classes > 0``."""

    def __init__(
        self, ndf: int = 64, resolution: int = 32, channels: int = 3, norm: str = "gn", num_classes: int = 0
    ) -> None:
        super().__init__()
        steps = _num_steps(resolution)
        if min(ndf, channels) < 1 or num_classes < 0:
            raise ValueError("ndf and channels must be positive and num_classes >= 0")
        if norm not in CRITIC_NORMS:
            raise ValueError(f"unknown critic norm {norm!r}; choose from {sorted(CRITIC_NORMS)}")
        spec = CRITIC_NORMS[norm]
        self.resolution = resolution
        self.channels = channels
        self.num_classes = num_classes
        self.norm = norm
        layers: list[nn.Module] = [nn.Conv2d(channels, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        ch = ndf
        for _ in range(steps - 1):
            conv = nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=not spec.shifts)
            layers += [conv, spec.layer(ch * 2), nn.LeakyReLU(0.2, True)]
            ch *= 2
        self.main = nn.Sequential(*layers)
        features = ch * 4 * 4
        self.fc = nn.Linear(features, 1)
        self.embed = nn.Embedding(num_classes, features) if num_classes else None
        dcgan_init_(self)
        if self.embed is not None:
            nn.init.normal_(self.embed.weight, 0.0, 0.02)
        if spec.wrap is not None:
            for m in list(self.modules()):
                if isinstance(m, (nn.Conv2d, nn.Linear, nn.Embedding)):
                    spec.wrap(m)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        if x.dim() != 4 or x.shape[1:] != (self.channels, self.resolution, self.resolution):
            raise ValueError(
                f"expected images of shape (B, {self.channels}, {self.resolution}, {self.resolution}), "
                f"got {tuple(x.shape)}"
            )
        _check_labels(labels, self.num_classes, x.shape[0])
        h = self.main(x).flatten(1)
        out = self.fc(h).squeeze(1)
        if self.embed is not None:
            out = out + (self.embed(labels) * h).sum(dim=1)
        return out


@register_dfkd_model
def dcgan_generator(**kwargs: Any) -> DCGANGenerator:
    """DCGAN generator; kwargs: ``nz=100``, ``ngf=64``, ``resolution=32``, ``channels=3``, ``num_classes=0``,
    ``output_bn=False`` (append an affine-free BatchNorm after the tanh, as data-free KD generators do)."""
    return build_model(DCGANGenerator, "dcgan_generator", kwargs)


@register_dfkd_model
def dcgan_critic(**kwargs: Any) -> DCGANCritic:
    """DCGAN critic; kwargs: ``ndf=64``, ``resolution=32``, ``channels=3``, ``norm="gn"``, ``num_classes=0``."""
    return build_model(DCGANCritic, "dcgan_critic", kwargs)

"""The data-free KD generators of DFAD ("GeneratorA", Fang et al. 2019) and ZSKT (Micaelli & Storkey, 2019).

Both share one trunk, written here for ``img_size = s`` (a multiple of 4), ``ngf`` and ``channels``:

    z (B, nz) -> Linear(nz -> 2*ngf * (s/4)^2) -> view (B, 2*ngf, s/4, s/4) -> BN(2*ngf)
    -> nearest upsample x2 -> Conv3x3(2*ngf -> 2*ngf) -> BN -> LeakyReLU(0.2)
    -> nearest upsample x2 -> Conv3x3(2*ngf -> ngf)   -> BN -> LeakyReLU(0.2)
    -> Conv3x3(ngf -> channels) -> head

With the published settings (ngf 64, s 32) the linear layer is 256 -> 128*8*8 (DFAD) or 100 -> 128*8*8 (ZSKT).
Heads: DFAD ``Tanh -> BatchNorm2d(channels, affine=False)``; ZSKT ``BatchNorm2d(channels, affine=True)``, no tanh.
The output feeds teacher and student directly (it lives in their normalised input space). PyTorch default init.
Both are unconditional: ``num_classes`` may be passed as 0/None (e.g. by generic recipe code) and is rejected
otherwise.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from ._factory import build_model, register_dfkd_model

__all__ = ["UpsampleGenerator", "dfad_generator", "zskt_generator"]


class UpsampleGenerator(nn.Module):
    """Linear projection to (2*ngf, s/4, s/4) then two nearest-upsample conv blocks (the DFAD / ZSKT trunk)."""

    def __init__(
        self,
        nz: int,
        ngf: int = 64,
        img_size: int = 32,
        channels: int = 3,
        tanh: bool = True,
        output_affine: bool = False,
    ) -> None:
        super().__init__()
        if img_size < 4 or img_size % 4:
            raise ValueError(f"img_size must be a positive multiple of 4, got {img_size}")
        if min(nz, ngf, channels) < 1:
            raise ValueError("nz, ngf and channels must be positive")
        self.nz = nz
        self.ngf = ngf
        self.img_size = img_size
        self.channels = channels
        self.init_size = img_size // 4
        self.fc = nn.Linear(nz, 2 * ngf * self.init_size**2)
        self.bn0 = nn.BatchNorm2d(2 * ngf)
        self.block1 = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(2 * ngf, 2 * ngf, 3, stride=1, padding=1),
            nn.BatchNorm2d(2 * ngf),
            nn.LeakyReLU(0.2),
        )
        self.block2 = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(2 * ngf, ngf, 3, stride=1, padding=1),
            nn.BatchNorm2d(ngf),
            nn.LeakyReLU(0.2),
        )
        head: list[nn.Module] = [nn.Conv2d(ngf, channels, 3, stride=1, padding=1)]
        if tanh:
            head.append(nn.Tanh())
        head.append(nn.BatchNorm2d(channels, affine=output_affine))
        self.head = nn.Sequential(*head)

    def forward(self, z: Tensor) -> Tensor:
        if z.dim() != 2 or z.shape[1] != self.nz:
            raise ValueError(f"expected z of shape (B, {self.nz}), got {tuple(z.shape)}")
        h = self.fc(z).view(z.shape[0], 2 * self.ngf, self.init_size, self.init_size)
        return self.head(self.block2(self.block1(self.bn0(h))))


def _unconditional(name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    num_classes = kwargs.pop("num_classes", None)
    if num_classes:
        raise ValueError(f"{name} is an unconditional generator; num_classes={num_classes} is not supported")
    return kwargs


@register_dfkd_model
def dfad_generator(**kwargs: Any) -> UpsampleGenerator:
    """DFAD's GeneratorA; kwargs: ``nz=256``, ``ngf=64``, ``img_size=32``, ``channels=3``."""
    kwargs = {"nz": 256, **_unconditional("dfad_generator", kwargs)}
    return build_model(UpsampleGenerator, "dfad_generator", kwargs, tanh=True, output_affine=False)


@register_dfkd_model
def zskt_generator(**kwargs: Any) -> UpsampleGenerator:
    """ZSKT's generator; kwargs: ``nz=100``, ``ngf=64``, ``img_size=32``, ``channels=3``."""
    kwargs = {"nz": 100, **_unconditional("zskt_generator", kwargs)}
    return build_model(UpsampleGenerator, "zskt_generator", kwargs, tanh=False, output_affine=True)

"""Tiny networks and utilities shared by the engine tests."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class TinyGenerator(nn.Module):
    """z (B, nz) -> images (B, 3, 8, 8); BatchNorm inside G is fine (routing happens at its output)."""

    def __init__(self, nz: int = 4, batchnorm: bool = True) -> None:
        super().__init__()
        self.nz = nz
        layers: list[nn.Module] = [nn.Linear(nz, 32)]
        if batchnorm:
            layers.append(nn.BatchNorm1d(32))
        layers += [nn.ReLU(), nn.Linear(32, 3 * 8 * 8), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z).view(-1, 3, 8, 8)


class TinyCritic(nn.Module):
    """x -> one score per sample. ``norm``: "gn" (per-sample), "bn" (couples samples in train mode), "none".

    ``scale`` and ``shift`` are buffers that place the outputs in a chosen range (see :func:`spread_outputs`).
    """

    def __init__(self, norm: str = "gn") -> None:
        super().__init__()
        norms = {"gn": lambda: nn.GroupNorm(4, 16), "bn": lambda: nn.BatchNorm2d(16), "none": nn.Identity}
        self.features = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1), norms[norm](), nn.LeakyReLU(0.2), nn.Flatten())
        self.head = nn.Linear(16 * 4 * 4, 1)
        self.register_buffer("scale", torch.ones(()))
        self.register_buffer("shift", torch.zeros(()))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x)).reshape(-1) * self.scale + self.shift


def spread_outputs(critic: TinyCritic, x: Tensor, low: float, high: float) -> None:
    """Set the critic's output affine map so that its outputs on ``x`` span exactly [low, high]."""
    with torch.no_grad():
        critic.scale.fill_(1.0)
        critic.shift.fill_(0.0)
        y = critic(x)
        scale = (high - low) / (y.max() - y.min())
        critic.scale.fill_(float(scale))
        critic.shift.fill_(float(low - y.min() * scale))


def make_pair(norm: str = "gn", dtype: torch.dtype = torch.float64, seed: int = 0) -> tuple[TinyGenerator, TinyCritic]:
    torch.manual_seed(seed)
    return TinyGenerator().to(dtype), TinyCritic(norm).to(dtype)

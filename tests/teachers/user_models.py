"""A "user" model importable as tests.teachers.user_models:tiny_net (package.module:callable loading)."""

from __future__ import annotations

from torch import nn


def tiny_net(num_classes: int = 10) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, 2, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, num_classes)
    )


NOT_CALLABLE = 3

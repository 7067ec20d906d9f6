"""CIFAR-style ResNet-18 / ResNet-34 ("resnet_8x" of DFAD, Fang et al. 2019).

The ResNet of He et al. (2016) adapted to 32x32 inputs as in DFAD's and the one-stage paper's code: a 3x3 stride-1
stem convolution (64 channels, no bias) -> BN -> ReLU with **no max-pool**; four stages of BasicBlocks with widths
64/128/256/512 and strides 1/2/2/2; a 1x1 conv + BN projection shortcut where the stride or the width changes;
global average pooling -> Linear(512, classes). Convolutions use Kaiming-normal init (fan_out, relu).
10 classes: ResNet-18 has 11,173,962 parameters, ResNet-34 21,282,122.

``forward_with_features`` returns the four stage outputs (after each stage's last block ReLU), the maps that
attention transfer uses for ResNet34 -> ResNet18.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from ._factory import build_model, register_dfkd_model

__all__ = ["BasicBlock", "CifarResNet", "cifar_resnet18", "cifar_resnet34"]

STAGE_WIDTHS = (64, 128, 256, 512)
STAGE_STRIDES = (1, 2, 2, 2)


class BasicBlock(nn.Module):
    """conv3x3-BN-ReLU-conv3x3-BN plus shortcut, then ReLU (post-activation, He et al. 2016)."""

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False),
                nn.BatchNorm2d(planes),
            )

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class CifarResNet(nn.Module):
    """ResNet for 32x32 inputs: 3x3 stride-1 stem, no max-pool, BasicBlock stages 64/128/256/512."""

    def __init__(self, layers: Sequence[int], num_classes: int = 10, in_chans: int = 3) -> None:
        super().__init__()
        if len(layers) != len(STAGE_WIDTHS) or any(n < 1 for n in layers):
            raise ValueError(f"layers must be {len(STAGE_WIDTHS)} positive block counts, got {list(layers)}")
        if num_classes < 1 or in_chans < 1:
            raise ValueError(f"num_classes and in_chans must be positive, got {num_classes}, {in_chans}")
        self.num_classes = num_classes
        self.input_size = (in_chans, 32, 32)
        self.conv1 = nn.Conv2d(in_chans, 64, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        stages: list[nn.Module] = []
        in_planes = 64
        for width, stride, blocks in zip(STAGE_WIDTHS, STAGE_STRIDES, layers, strict=True):
            stage = [BasicBlock(in_planes, width, stride)]
            stage += [BasicBlock(width, width) for _ in range(blocks - 1)]
            stages.append(nn.Sequential(*stage))
            in_planes = width
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.fc = nn.Linear(512, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward_with_features(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        """Logits and the four stage outputs, shallow to deep."""
        out = F.relu(self.bn1(self.conv1(x)))
        features = []
        for stage in (self.layer1, self.layer2, self.layer3, self.layer4):
            out = stage(out)
            features.append(out)
        logits = self.fc(F.adaptive_avg_pool2d(out, 1).flatten(1))
        return logits, features

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_with_features(x)[0]

    def get_classifier(self) -> nn.Module:
        return self.fc


@register_dfkd_model
def cifar_resnet18(**kwargs: Any) -> CifarResNet:
    """CIFAR ResNet-18 (blocks [2, 2, 2, 2]); kwargs: ``num_classes=10``, ``in_chans=3``."""
    return build_model(CifarResNet, "cifar_resnet18", kwargs, layers=(2, 2, 2, 2))


@register_dfkd_model
def cifar_resnet34(**kwargs: Any) -> CifarResNet:
    """CIFAR ResNet-34 (blocks [3, 4, 6, 3]); kwargs: ``num_classes=10``, ``in_chans=3``."""
    return build_model(CifarResNet, "cifar_resnet34", kwargs, layers=(3, 4, 6, 3))

"""WideResNet-d-k (Zagoruyko & Komodakis, 2016), the networks of ZSKT (Micaelli & Storkey, 2019).

Depth ``d = 6n + 4`` with ``n`` blocks per group, widen factor ``k``: a 3x3 stem conv (16 channels), three groups of
pre-activation basic blocks (BN-ReLU-conv3x3-BN-ReLU-conv3x3) with widths 16k/32k/64k and strides 1/2/2, a 1x1 conv
shortcut where the shape changes (it sees the pre-activated input, as in the original), dropout 0, a final
BN-ReLU, global average pooling and a linear classifier. Init as in the original: Kaiming-normal (fan_out, relu)
convolutions, BN weight 1 / bias 0, linear bias 0. WRN-16-1 has 175,066 parameters and WRN-40-2 2,243,546
(10 classes).

``forward_with_features`` returns, as ZSKT does for attention transfer, the raw output of each of the three groups
(the residual sum of its last block, *before* the next block's -- or the final -- BN-ReLU).
"""

from __future__ import annotations

from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from ._factory import build_model, register_dfkd_model

__all__ = ["PreActBlock", "WideResNet", "wrn_16_1", "wrn_16_2", "wrn_40_1", "wrn_40_2"]


class PreActBlock(nn.Module):
    """BN-ReLU-conv3x3-BN-ReLU-conv3x3 plus identity (or 1x1 conv of the pre-activated input)."""

    def __init__(self, in_planes: int, planes: int, stride: int) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.shortcut: nn.Conv2d | None = None
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        pre = F.relu(self.bn1(x))
        out = self.conv2(F.relu(self.bn2(self.conv1(pre))))
        return out + (x if self.shortcut is None else self.shortcut(pre))


class WideResNet(nn.Module):
    """WRN-depth-widen_factor for 32x32 inputs (three groups, widths 16k/32k/64k)."""

    def __init__(self, depth: int, widen_factor: int, num_classes: int = 10, in_chans: int = 3) -> None:
        super().__init__()
        if depth < 10 or (depth - 4) % 6:
            raise ValueError(f"WideResNet depth must be 6n + 4 with n >= 1, got {depth}")
        if widen_factor < 1 or num_classes < 1 or in_chans < 1:
            raise ValueError("widen_factor, num_classes and in_chans must be positive")
        n = (depth - 4) // 6
        widths = [16 * widen_factor, 32 * widen_factor, 64 * widen_factor]
        self.depth = depth
        self.widen_factor = widen_factor
        self.num_classes = num_classes
        self.input_size = (in_chans, 32, 32)
        self.conv1 = nn.Conv2d(in_chans, 16, 3, stride=1, padding=1, bias=False)
        groups: list[nn.Module] = []
        in_planes = 16
        for width, stride in zip(widths, (1, 2, 2), strict=True):
            blocks = [PreActBlock(in_planes, width, stride)] + [PreActBlock(width, width, 1) for _ in range(n - 1)]
            groups.append(nn.Sequential(*blocks))
            in_planes = width
        self.block1, self.block2, self.block3 = groups
        self.bn = nn.BatchNorm2d(in_planes)
        self.fc = nn.Linear(in_planes, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)

    def forward_with_features(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        """Logits and the three raw group outputs (before the following BN-ReLU), shallow to deep."""
        out = self.conv1(x)
        features = []
        for group in (self.block1, self.block2, self.block3):
            out = group(out)
            features.append(out)
        out = F.relu(self.bn(out))
        logits = self.fc(F.adaptive_avg_pool2d(out, 1).flatten(1))
        return logits, features

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_with_features(x)[0]

    def get_classifier(self) -> nn.Module:
        return self.fc


def _wrn(name: str, depth: int, widen_factor: int, kwargs: dict[str, Any]) -> WideResNet:
    return build_model(WideResNet, name, kwargs, depth=depth, widen_factor=widen_factor)


@register_dfkd_model
def wrn_16_1(**kwargs: Any) -> WideResNet:
    """WRN-16-1 (ZSKT's student); kwargs: ``num_classes=10``, ``in_chans=3``."""
    return _wrn("wrn_16_1", 16, 1, kwargs)


@register_dfkd_model
def wrn_16_2(**kwargs: Any) -> WideResNet:
    """WRN-16-2; kwargs: ``num_classes=10``, ``in_chans=3``."""
    return _wrn("wrn_16_2", 16, 2, kwargs)


@register_dfkd_model
def wrn_40_1(**kwargs: Any) -> WideResNet:
    """WRN-40-1; kwargs: ``num_classes=10``, ``in_chans=3``."""
    return _wrn("wrn_40_1", 40, 1, kwargs)


@register_dfkd_model
def wrn_40_2(**kwargs: Any) -> WideResNet:
    """WRN-40-2 (ZSKT's teacher); kwargs: ``num_classes=10``, ``in_chans=3``."""
    return _wrn("wrn_40_2", 40, 2, kwargs)

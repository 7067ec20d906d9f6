"""A small configurable CNN for the quick-start and tests (dfkd's own; no published counterpart).

``depth`` stages; stage ``i`` has ``width * 2**i`` channels and is ``convs_per_stage`` x (conv3x3-BN-ReLU), the
first conv of each stage having stride 2 (the downsample); then global average pooling and a linear classifier.
Downsampling inside the first conv (rather than conv + pool at full resolution) is what keeps it fast on a CPU,
where full-resolution 32-channel activations are memory-bound: with the defaults (width 32, depth 3, one conv
per stage) a forward+backward of 128 32x32 images takes ~30 ms on 2 CPU cores, so a teacher and a narrower
student train on a toy task in seconds.

``forward_with_features`` returns the output of each stage (resolution 32 / 2**(i+1)).
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from ._factory import build_model, register_dfkd_model

__all__ = ["SimpleCNN", "simple_cnn"]


def _conv_bn_relu(in_ch: int, out_ch: int, stride: int = 1) -> list[nn.Module]:
    conv = nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False)
    return [conv, nn.BatchNorm2d(out_ch), nn.ReLU(inplace=True)]


class SimpleCNN(nn.Module):
    """``depth`` x [conv3x3/2-BN-ReLU + (conv3x3-BN-ReLU) x (convs_per_stage - 1)], global average pool, linear."""

    def __init__(
        self,
        num_classes: int = 10,
        in_chans: int = 3,
        width: int = 32,
        depth: int = 3,
        convs_per_stage: int = 1,
    ) -> None:
        super().__init__()
        if min(num_classes, in_chans, width, depth, convs_per_stage) < 1:
            raise ValueError("num_classes, in_chans, width, depth and convs_per_stage must be positive")
        self.num_classes = num_classes
        self.input_size = (in_chans, 32, 32)
        stages: list[nn.Module] = []
        in_ch = in_chans
        for i in range(depth):
            out_ch = width * 2**i
            layers = _conv_bn_relu(in_ch, out_ch, stride=2)
            for _ in range(convs_per_stage - 1):
                layers += _conv_bn_relu(out_ch, out_ch)
            stages.append(nn.Sequential(*layers))
            in_ch = out_ch
        self.stages = nn.ModuleList(stages)
        self.fc = nn.Linear(in_ch, num_classes)

    def forward_with_features(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        """Logits and the output of every stage, shallow to deep."""
        features = []
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        return self.fc(x.mean(dim=(2, 3))), features

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_with_features(x)[0]

    def get_classifier(self) -> nn.Module:
        return self.fc


@register_dfkd_model
def simple_cnn(**kwargs: Any) -> SimpleCNN:
    """Small CNN; kwargs: ``num_classes=10``, ``in_chans=3``, ``width=32``, ``depth=3``, ``convs_per_stage=1``."""
    return build_model(SimpleCNN, "simple_cnn", kwargs)

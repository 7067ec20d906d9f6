"""The per-item image pipeline shared by all datasets: PIL/tensor in, float tensor in [0, 1] out."""

from __future__ import annotations

import torch
from torch import Tensor
from torchvision.transforms import v2

from dfkd.data.spec import LUMA_WEIGHTS

SUPPORTED_CHANNELS = (1, 3)


class ToChannels:
    """Convert a ``(C, H, W)`` float image to ``channels`` channels (grey -> RGB repeats, RGB -> grey uses luma)."""

    def __init__(self, channels: int) -> None:
        if channels not in SUPPORTED_CHANNELS:
            raise ValueError(f"channels: expected one of {SUPPORTED_CHANNELS}, got {channels}")
        self.channels = channels

    def __call__(self, image: Tensor) -> Tensor:
        have = image.shape[-3]
        if have == self.channels:
            return image
        if (have, self.channels) == (1, 3):
            return image.expand(*image.shape[:-3], 3, *image.shape[-2:]).contiguous()
        if (have, self.channels) == (3, 1):
            weights = torch.tensor(LUMA_WEIGHTS, dtype=image.dtype, device=image.device).view(3, 1, 1)
            return (image * weights).sum(dim=-3, keepdim=True)
        raise ValueError(f"channels: cannot convert a {have}-channel image to {self.channels} channels")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(channels={self.channels})"


def image_pipeline(
    *,
    output_size: int | None,
    resize: bool,
    train_transform: bool,
    hflip: bool,
    channels: int | None,
) -> v2.Compose:
    """Build the item transform.

    Steps: to tensor -> [Resize(shorter side) + CenterCrop to ``output_size`` if ``resize``] ->
    [RandomCrop(output_size, padding=4) + RandomHorizontalFlip (if ``hflip``) if ``train_transform``] ->
    float32 in [0, 1] -> [channel conversion]. No normalisation: models carry their own.
    """
    if output_size is None and (resize or train_transform):
        raise ValueError("image_pipeline: resizing and random crops need output_size, got None")
    steps: list[object] = [v2.ToImage()]
    if resize:
        steps += [v2.Resize(output_size, antialias=True), v2.CenterCrop(output_size)]
    if train_transform:
        steps.append(v2.RandomCrop(output_size, padding=4))
        if hflip:
            steps.append(v2.RandomHorizontalFlip())
    steps += [v2.ToDtype(torch.float32, scale=True), v2.ToPureTensor()]
    if channels is not None:
        steps.append(ToChannels(channels))
    return v2.Compose(steps)

"""Real-image batches drawn entirely on the device: no host work and no host-to-device copy per step.

:class:`DeviceBatches` keeps the images where the training runs (uint8 when the data is 8-bit: a quarter of the
memory of float32), and draws the epoch permutations, crop offsets and flips from a ``torch.Generator`` on that
same device. A step is then a few kernel launches -- gather, crop and flip on uint8, convert to float in
[0, 1] -- that the host enqueues without waiting. With ``channels_last`` the batch comes out in channels-last
memory format, which the crop's gather produces at no extra cost.

On a CPU it serves exactly the stream of :class:`~dfkd.data.batches.TensorBatches` with the same seed (same
random calls in the same order), and its ``state_dict`` has the same keys. On a GPU the stream is the device
generator's, reproducible and resumable on that device type.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from dfkd.config.sections import RunSection
from dfkd.data.batches import TensorBatches
from dfkd.runs.checkpoint import CheckpointError

_PADDING = 4


def _to_unit_float(images: Tensor) -> Tensor:
    """uint8 0..255 -> float in [0, 1]; float images are taken as already in [0, 1]. Keeps the memory format."""
    return images.float().div_(255) if images.dtype == torch.uint8 else images.float()


class DeviceBatches:
    """Shuffled, optionally augmented batches from device-resident tensors, reproducible and resumable.

    ``images``: ``(N, C, H, W)`` uint8 (0..255) or float ([0, 1]); ``labels``: ``(N,)``; both are moved to
    ``device`` once. Each epoch is a fresh permutation; incomplete final batches are dropped. With ``augment``:
    a random crop with zero padding 4 and, with ``hflip``, a random horizontal flip per image.
    """

    def __init__(
        self,
        images: Tensor,
        labels: Tensor,
        batch_size: int,
        *,
        device: torch.device | str | None = None,
        seed: int = 0,
        shuffle: bool = True,
        augment: bool = False,
        hflip: bool = True,
        channels_last: bool = False,
    ) -> None:
        if images.dim() != 4 or labels.dim() != 1 or images.shape[0] != labels.shape[0]:
            raise ValueError(
                f"DeviceBatches: expected images (N, C, H, W) and labels (N,), got {tuple(images.shape)} and "
                f"{tuple(labels.shape)}"
            )
        if not 0 < batch_size <= images.shape[0]:
            raise ValueError(
                f"DeviceBatches: batch_size must be in 1..{images.shape[0]} (the number of items; incomplete batches "
                f"are dropped), got {batch_size}"
            )
        self.device = torch.device(device) if device is not None else images.device
        self.images = images.to(self.device)
        self.labels = labels.to(self.device, dtype=torch.int64)
        self.batch_size, self.shuffle, self.augment, self.hflip = batch_size, shuffle, augment, hflip
        self.channels_last = channels_last
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        height, width = images.shape[2:]
        self._rows = torch.arange(height, device=self.device)
        self._cols = torch.arange(width, device=self.device)
        self.epoch = 0
        self.position = 0
        self._order = self._new_order()

    def __len__(self) -> int:
        """Batches per epoch."""
        return self.num_items // self.batch_size

    @property
    def num_items(self) -> int:
        return self.images.shape[0]

    def _new_order(self) -> Tensor:
        if self.shuffle:
            return torch.randperm(self.num_items, generator=self.generator, device=self.device)
        return torch.arange(self.num_items, device=self.device)

    def next_batch(self) -> tuple[Tensor, Tensor]:
        """The next ``(images float in [0, 1] on device, int64 labels)``; starts a new epoch when needed."""
        if self.position + self.batch_size > self.num_items:
            self.epoch += 1
            self.position = 0
            self._order = self._new_order()
        index = self._order[self.position : self.position + self.batch_size]
        self.position += self.batch_size
        images = self._augment(self.images[index]) if self.augment else self.images[index]
        if self.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        return _to_unit_float(images), self.labels[index]

    def __iter__(self) -> DeviceBatches:
        return self

    def __next__(self) -> tuple[Tensor, Tensor]:
        """Endless: ``for images, labels in batches`` runs until the caller stops it."""
        return self.next_batch()

    def _augment(self, images: Tensor) -> Tensor:
        """Random crop (zero padding 4) and horizontal flip per image, one gather on the stored dtype."""
        n = images.shape[0]
        offsets = torch.randint(0, 2 * _PADDING + 1, (2, n), generator=self.generator, device=self.device)
        flips = torch.rand(n, generator=self.generator, device=self.device) < 0.5
        padded = torch.nn.functional.pad(images, (_PADDING,) * 4)
        rows = offsets[0, :, None] + self._rows  # (n, H)
        cols = offsets[1, :, None] + self._cols  # (n, W)
        if self.hflip:
            cols = torch.where(flips[:, None], cols.flip(1), cols)
        batch = torch.arange(n, device=self.device)[:, None, None]
        # Advanced indices separated by a slice move to the front: (n, H, W, C); the permuted view back to
        # (n, C, H, W) is already laid out channels-last.
        cropped = padded[batch, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)
        return cropped if self.channels_last else cropped.contiguous()

    def state_dict(self) -> dict[str, Any]:
        """Position in the stream: epoch, offset in the current permutation, the permutation, generator state."""
        return {
            "epoch": self.epoch,
            "position": self.position,
            "order": self._order.cpu(),
            "generator": self.generator.get_state(),
            "num_items": self.num_items,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Resume from :meth:`state_dict`; the source must hold the same number of items."""
        if state["num_items"] != self.num_items:
            raise ValueError(
                f"DeviceBatches.load_state_dict: state was saved for {state['num_items']} items, this source holds "
                f"{self.num_items}"
            )
        if state["generator"].numel() != self.generator.get_state().numel():
            raise CheckpointError(
                f"the saved batch stream was drawn by a generator on another kind of device than {self.device}: "
                "resume on the device type the run started on (run.device), or start runs that move between "
                "CPU and GPU with run.device_batches=false"
            )
        self.epoch = int(state["epoch"])
        self.position = int(state["position"])
        self._order = state["order"].to(self.device)
        self.generator.set_state(state["generator"].cpu())


def make_batches(
    images: Tensor,
    labels: Tensor,
    batch_size: int,
    *,
    run: RunSection,
    device: torch.device,
    augment: bool,
    hflip: bool,
) -> DeviceBatches | TensorBatches:
    """The batch source a recipe asks for: :class:`DeviceBatches` with ``run.device_batches`` (channels-last
    batches on CUDA with ``run.channels_last``), else :class:`TensorBatches` (order and augmentation drawn by a
    host generator: the same stream on every device). Seeded with ``run.seed``."""
    if run.device_batches:
        channels_last = device.type == "cuda" and run.channels_last
        return DeviceBatches(
            images, labels, batch_size, device=device, seed=run.seed, augment=augment, hflip=hflip,
            channels_last=channels_last,
        )  # fmt: skip
    return TensorBatches(images, labels, batch_size, device=device, seed=run.seed, augment=augment, hflip=hflip)

"""Device-resident, resumable batch sources for training loops.

:class:`TensorBatches` keeps a whole dataset as tensors on one device and serves shuffled batches whose order and
augmentation come from its own seeded ``torch.Generator`` on that device (the host never waits for the device to
serve a batch); its ``state_dict`` resumes the exact batch sequence.
:func:`load_to_tensors` materialises any map-style dataset into such tensors (uint8 when lossless).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Subset

_PADDING = 4


def _as_float(images: Tensor) -> Tensor:
    return images.float().div_(255) if images.dtype == torch.uint8 else images.float()


class TensorBatches:
    """Shuffled batches from in-memory tensors, reproducible and resumable.

    ``images``: ``(N, C, H, W)`` uint8 (0..255) or float ([0, 1]); ``labels``: ``(N,)``. Both are moved to
    ``device`` once. Each epoch draws a fresh permutation from the private generator (seeded with ``seed``);
    incomplete final batches are dropped (``drop_last`` semantics). With ``augment`` every batch gets a random
    crop with zero padding 4 and a random horizontal flip (``hflip``), drawn from the same generator -- so
    ``load_state_dict(state_dict())`` reproduces batches *and* augmentation exactly. Everything -- order, crops,
    flips -- is drawn on ``device`` by a generator there: no host work and no host-to-device copy per batch.
    ``channels_last``: batches in channels-last memory format (for conv nets on CUDA).
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
                f"TensorBatches: expected images (N, C, H, W) and labels (N,), got {tuple(images.shape)} and "
                f"{tuple(labels.shape)}"
            )
        if not 0 < batch_size <= images.shape[0]:
            raise ValueError(
                f"TensorBatches: batch_size must be in 1..{images.shape[0]} (the number of items; incomplete batches "
                f"are dropped), got {batch_size}"
            )
        self.device = torch.device(device) if device is not None else images.device
        self.images = images.to(self.device)
        self.labels = labels.to(self.device, dtype=torch.int64)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.augment = augment
        self.hflip = hflip
        self.channels_last = channels_last
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
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
        return self._assemble(index, self.generator)

    def _assemble(self, index: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """The images (augmented with ``generator``'s draws, in the batch's memory format) and labels at ``index``."""
        images = self._augment(self.images[index], generator) if self.augment else self.images[index]
        if self.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        return _as_float(images), self.labels[index]

    def __iter__(self) -> TensorBatches:
        return self

    def __next__(self) -> tuple[Tensor, Tensor]:
        """Endless: ``for images, labels in batches`` runs until the caller stops it."""
        return self.next_batch()

    def _augment(self, images: Tensor, generator: torch.Generator) -> Tensor:
        """Random crop (zero padding 4) and horizontal flip per image: one gather, on the stored dtype (uint8 8-bit
        data moves a quarter of the bytes of float32)."""
        n, _, height, width = images.shape
        offsets = torch.randint(0, 2 * _PADDING + 1, (2, n), generator=generator, device=self.device)
        flips = torch.rand(n, generator=generator, device=self.device) < 0.5
        padded = torch.nn.functional.pad(images, (_PADDING,) * 4)
        rows = offsets[0, :, None] + torch.arange(height, device=self.device)  # (n, H)
        cols = offsets[1, :, None] + torch.arange(width, device=self.device)  # (n, W)
        if self.hflip:
            cols = torch.where(flips[:, None], cols.flip(1), cols)
        batch = torch.arange(n, device=self.device)[:, None, None]
        # Advanced indices separated by a slice move to the front: (n, H, W, C) -> (n, C, H, W).
        return padded[batch, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2).contiguous()

    def state_dict(self) -> dict[str, Any]:
        """Position in the stream: epoch, offset in the current permutation, the permutation, generator state."""
        return {
            "epoch": self.epoch,
            "position": self.position,
            "order": self._order.clone(),
            "generator": self.generator.get_state(),
            "num_items": self.num_items,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Resume from :meth:`state_dict`; the source must hold the same number of items."""
        if state["num_items"] != self.num_items:
            raise ValueError(
                f"TensorBatches.load_state_dict: state was saved for {state['num_items']} items, this source holds "
                f"{self.num_items}"
            )
        try:
            self.generator.set_state(state["generator"].cpu())
        except RuntimeError as exc:  # a CPU generator's state does not fit a CUDA generator, and vice versa
            raise ValueError(
                f"TensorBatches.load_state_dict: the batch stream was saved on another kind of device than "
                f"{self.device.type}; resume on the device the run started on ({exc})"
            ) from exc
        self.epoch = int(state["epoch"])
        self.position = int(state["position"])
        self._order = state["order"].clone().to(self.device)


def _lossless_uint8(batch: Tensor) -> Tensor | None:
    """``batch`` as uint8 if that loses nothing (float values are multiples of 1/255 in [0, 1]), else None."""
    if batch.dtype == torch.uint8:
        return batch
    scaled = batch.float() * 255
    quantised = scaled.round()
    exact = (scaled - quantised).abs().max() <= 1e-3
    if exact and quantised.min() >= 0 and quantised.max() <= 255:
        return quantised.to(torch.uint8)
    return None


def _collect(loader: DataLoader, count: int) -> tuple[Tensor, Tensor]:
    images: Tensor | None = None
    labels = torch.empty(count, dtype=torch.int64)
    start = 0
    for batch_images, batch_labels in loader:
        stop = start + batch_images.shape[0]
        if images is None:
            images = torch.empty(count, *batch_images.shape[1:], dtype=torch.uint8)
        if images.dtype == torch.uint8:
            as_uint8 = _lossless_uint8(batch_images)
            if as_uint8 is None:  # not 8-bit data after all: keep everything as float
                images = images.float().div_(255)
            else:
                batch_images = as_uint8
        images[start:stop] = _as_float(batch_images) if images.is_floating_point() else batch_images
        labels[start:stop] = torch.as_tensor(batch_labels, dtype=torch.int64)
        start = stop
    assert images is not None
    return images, labels


def load_to_tensors(
    dataset: Dataset,
    max_items: int | None = None,
    num_workers: int = 0,
    batch_size: int = 256,
) -> tuple[Tensor, Tensor]:
    """Materialise the first ``max_items`` items of ``dataset`` into ``(images, labels)`` CPU tensors.

    Images come back as uint8 (0..255) when every float image is an exact multiple of 1/255 (images decoded from
    8-bit files, :class:`~dfkd.data.shapes.ShapesDataset`), else as float32 in [0, 1]; labels are int64.
    :class:`TensorBatches` accepts both.
    """
    count = len(dataset)  # type: ignore[arg-type]
    if max_items is not None:
        if max_items < 1:
            raise ValueError(f"load_to_tensors: max_items must be >= 1 or None, got {max_items}")
        count = min(count, max_items)
        dataset = Subset(dataset, range(count))
    if count == 0:
        raise ValueError("load_to_tensors: the dataset is empty")
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers)
    return _collect(loader, count)

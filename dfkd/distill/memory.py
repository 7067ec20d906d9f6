"""Replay memory of generated samples and the teacher's logits on them.

Adversarial distillation forgets: the generator keeps moving to where the student is wrong, and the student
loses what it learned on earlier samples. A memory of past samples (kept with the teacher's logits, so
replaying them costs no generator or teacher pass) lets the student revisit them in cheap extra steps. The
memory is a ring buffer on the training device; sampling uses the game's RNG, so runs stay reproducible and
resumable (the buffer is saved in checkpoints).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor


class ReplayMemory:
    def __init__(self, capacity: int, device: torch.device) -> None:
        if capacity < 1:
            raise ValueError(f"replay memory capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self.device = device
        self.images: Tensor | None = None
        self.logits: Tensor | None = None
        self.size = 0
        self.cursor = 0

    def add(self, images: Tensor, logits: Tensor) -> None:
        images, logits = images.detach(), logits.detach().float()
        if self.images is None:  # zeros, not empty: unfilled slots are saved too, and a checkpoint must be finite
            self.images = torch.zeros((self.capacity, *images.shape[1:]), dtype=images.dtype, device=self.device)
            self.logits = torch.zeros((self.capacity, logits.shape[1]), dtype=torch.float32, device=self.device)
        assert self.logits is not None
        count = images.shape[0]
        index = (self.cursor + torch.arange(count, device=self.device)) % self.capacity
        self.images[index] = images
        self.logits[index] = logits
        self.cursor = (self.cursor + count) % self.capacity
        self.size = min(self.capacity, self.size + count)

    def sample(self, batch_size: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        if self.images is None or self.logits is None or self.size == 0:
            raise RuntimeError("the replay memory is empty")
        index = torch.randint(self.size, (batch_size,), generator=generator, device=self.device)
        return self.images[index], self.logits[index]

    def state_dict(self) -> dict[str, object]:
        return {"images": self.images, "logits": self.logits, "size": self.size, "cursor": self.cursor}

    def load_state_dict(self, state: Mapping[str, object]) -> None:
        """Restore a saved memory onto THIS memory's device (checkpoints are loaded onto the CPU)."""
        images, logits, size, cursor = state["images"], state["logits"], state["size"], state["cursor"]
        if not (images is None or isinstance(images, Tensor)) or not (logits is None or isinstance(logits, Tensor)):
            raise ValueError("replay memory state: 'images' and 'logits' must be tensors (None while empty)")
        if not isinstance(size, int) or not isinstance(cursor, int):
            raise ValueError("replay memory state: 'size' and 'cursor' must be integers")
        self.images = None if images is None else images.to(self.device)
        self.logits = None if logits is None else logits.to(self.device)
        self.size, self.cursor = size, cursor

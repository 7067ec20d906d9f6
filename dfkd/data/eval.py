"""Top-1 accuracy of a classifier on in-memory tensors."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn


def _model_device(model: nn.Module, fallback: torch.device) -> torch.device:
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return fallback


def evaluate_accuracy(
    model: nn.Module,
    images: Tensor,
    labels: Tensor,
    batch_size: int = 512,
    normalize: Callable[[Tensor], Tensor] | None = None,
) -> float:
    """Fraction of ``images`` whose arg-max prediction equals ``labels``.

    ``images``: ``(N, C, H, W)`` uint8 (0..255) or float in [0, 1], on any device (batches are moved to the
    model's device). ``normalize`` is applied to each float batch before the model. The model runs in eval mode
    under ``torch.inference_mode``; every submodule's train/eval flag is restored afterwards.
    """
    if images.shape[0] != labels.shape[0] or images.shape[0] == 0:
        raise ValueError(
            f"evaluate_accuracy: need a non-empty, equally long images and labels, got {images.shape[0]} images "
            f"and {labels.shape[0]} labels"
        )
    if batch_size < 1:
        raise ValueError(f"evaluate_accuracy: batch_size must be >= 1, got {batch_size}")
    device = _model_device(model, images.device)
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    correct = 0
    try:
        with torch.inference_mode():
            for start in range(0, images.shape[0], batch_size):
                batch = images[start : start + batch_size].to(device)
                batch = batch.float().div_(255) if batch.dtype == torch.uint8 else batch.float()
                if normalize is not None:
                    batch = normalize(batch)
                predicted = model(batch).argmax(dim=1)
                correct += int((predicted == labels[start : start + batch_size].to(device)).sum())
    finally:
        for module, training in modes:
            module.training = training
    return correct / images.shape[0]

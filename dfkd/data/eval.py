"""Top-1 evaluation of a classifier on in-memory tensors: the one prediction loop every game and CLI uses."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import Tensor, nn


def _model_device(model: nn.Module, fallback: torch.device) -> torch.device:
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return fallback


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """``model`` in eval mode inside the block; every submodule's train/eval flag is restored afterwards."""
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for module, training in modes:
            module.training = training


def predict_top1(
    model: nn.Module,
    images: Tensor,
    batch_size: int = 512,
    normalize: Callable[[Tensor], Tensor] | None = None,
) -> Tensor:
    """The model's arg-max class for each of ``images``, as a CPU tensor.

    ``images``: ``(N, C, H, W)`` uint8 (0..255) or float in [0, 1], on any device (batches are moved to the
    model's device). ``normalize`` is applied to each float batch before the model. The model runs in eval mode
    (:func:`eval_mode`) under ``torch.inference_mode``.
    """
    if batch_size < 1:
        raise ValueError(f"top-1 evaluation: batch_size must be >= 1, got {batch_size}")
    device = _model_device(model, images.device)
    predictions = []
    with eval_mode(model), torch.inference_mode():
        for start in range(0, images.shape[0], batch_size):
            batch = images[start : start + batch_size].to(device)
            batch = batch.float().div_(255) if batch.dtype == torch.uint8 else batch.float()
            if normalize is not None:
                batch = normalize(batch)
            predictions.append(model(batch).argmax(dim=1).cpu())
    return torch.cat(predictions) if predictions else torch.empty(0, dtype=torch.long)


def agreement(predictions: Tensor, reference: Tensor) -> float:
    """Fraction of ``predictions`` equal to ``reference`` (labels, or another model's predictions), exactly
    (count / N in double precision)."""
    return int((predictions == reference.to(predictions.device)).sum()) / predictions.shape[0]


def evaluate_accuracy(
    model: nn.Module,
    images: Tensor,
    labels: Tensor,
    batch_size: int = 512,
    normalize: Callable[[Tensor], Tensor] | None = None,
) -> float:
    """Fraction of ``images`` whose arg-max prediction (:func:`predict_top1`) equals ``labels``."""
    if images.shape[0] != labels.shape[0] or images.shape[0] == 0:
        raise ValueError(
            f"evaluate_accuracy: need a non-empty, equally long images and labels, got {images.shape[0]} images "
            f"and {labels.shape[0]} labels"
        )
    return agreement(predict_top1(model, images, batch_size, normalize), labels)

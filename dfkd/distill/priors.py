"""Generator priors: terms the generator minimises besides the adversarial loss.

Teacher priors depend only on the frozen teacher, so in a one-stage step they join the single backward with
the sign of the gradient reversal and reach the generator exactly, the student not at all (gan_losses.md,
"The same engine for distillation"). Image priors act on the generated images themselves. All address the
failure seen without them: the generator settles in one region of the teacher's input space (on the
quick-start task the teacher labels ~98% of its samples as one class) or far from natural images.

* ``bn`` (teacher): the BN-statistics prior of DeepInversion (Yin et al., CVPR 2020): sum over the teacher's
  BatchNorm layers of ||mu_batch - mu_running||_2 + ||var_batch - var_running||_2 -- generated batches
  should produce the activation statistics the teacher saw on its training data.
* ``balance`` (teacher): the information-entropy term of DAFL (Chen et al., ICCV 2019): minus the entropy of
  the batch-mean teacher prediction, so that generated batches cover the classes evenly.
* ``confidence`` (teacher): DAFL's one-hot term: cross-entropy of the teacher's prediction against its own
  arg-max, so that each sample is a confident, prototypical example of some class.
* ``tv`` (image): anisotropic total variation, mean |x[i+1, j] - x[i, j]| + mean |x[i, j+1] - x[i, j]|
  (DeepInversion's image prior): natural images are mostly smooth.

``bn`` and ``balance`` are functions of the whole batch, not means of per-sample terms: under torchrun their
batch moments are all-reduced over the ranks (:mod:`dfkd.distributed.moments`), so N ranks with B/N samples
each give the value and the gradient of one process with B samples. The other two are per-sample means, which
DDP's gradient average already combines correctly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from dfkd.distill.critic import KDAux
from dfkd.distill.teacher_pass import BatchNormStatistics
from dfkd.distributed.moments import batch_mean, batch_moments
from dfkd.registry import Registry


@dataclass(frozen=True)
class Prior:
    kind: Literal["teacher", "image"]  # teacher: a function of KDAux; image: of the generated batch
    loss: Callable[..., Tensor]


PRIORS: Registry[Prior] = Registry("generator prior")


def bn_statistics_loss(stats: Sequence[BatchNormStatistics]) -> Tensor:
    total = torch.zeros((), device=stats[0].inputs.device)
    for s, (mean, var) in zip(stats, batch_moments([s.inputs for s in stats]), strict=True):
        total = total + torch.linalg.vector_norm(mean - s.running_mean) + torch.linalg.vector_norm(var - s.running_var)
    return total


def bn_prior(aux: KDAux) -> Tensor:
    if not aux.teacher_bn:
        raise ValueError("the bn prior needs the teacher's BatchNorm statistics (critic built with bn_statistics)")
    return bn_statistics_loss(aux.teacher_bn)


def balance_prior(aux: KDAux) -> Tensor:
    mean_prediction = batch_mean(aux.teacher_logits.float().softmax(dim=1))
    return (mean_prediction * torch.log(mean_prediction.clamp_min(1e-12))).sum()  # = -entropy


def confidence_prior(aux: KDAux) -> Tensor:
    logits = aux.teacher_logits.float()
    return torch.nn.functional.cross_entropy(logits, logits.argmax(dim=1))


def total_variation(images: Tensor) -> Tensor:
    x = images.float()
    return (x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (x[..., 1:] - x[..., :-1]).abs().mean()


PRIORS.add("bn", Prior("teacher", bn_prior))
PRIORS.add("balance", Prior("teacher", balance_prior))
PRIORS.add("confidence", Prior("teacher", confidence_prior))
PRIORS.add("tv", Prior("image", total_variation))


def weighted_sum(weights: dict[str, float], kind: str) -> Callable[[object], Tensor] | None:
    """sum_k weight_k * prior_k over the priors of ``kind`` with a non-zero weight (None if there are none)."""
    active = [(PRIORS.get(name).loss, float(w)) for name, w in weights.items() if w and PRIORS.get(name).kind == kind]
    if not active:
        return None

    def prior(value: object) -> Tensor:
        return sum(w * fn(value) for fn, w in active)  # type: ignore[return-value]

    return prior


def teacher_prior(weights: dict[str, float]) -> Callable[[object], Tensor] | None:
    return weighted_sum(weights, "teacher")


def image_prior(weights: dict[str, float]) -> Callable[[Tensor], Tensor] | None:
    return weighted_sum(weights, "image")

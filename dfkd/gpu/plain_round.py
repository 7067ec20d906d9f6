"""The one-stage distillation round written directly in PyTorch: the yardstick of the engine's overhead.

It performs the same computation as ``method=onestage`` with DFAD's losses (L1 on logits, symmetric
adversarial objective): ``student_steps - 1`` student updates on detached fakes, then one joint update in which
one backward of L_S reaches the student and, through a gradient reversal at the fake images, the generator
(L_G = -L_S). No skipping of non-finite steps, no buffer snapshots, no statistics: what remains when the
engine's safety and bookkeeping are taken away.
"""
from __future__ import annotations

import contextlib

import torch
from torch import Tensor

from dfkd.distill.game import DistillGame
from dfkd.runtime import AUTOCAST_DTYPES


class _Reverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:  # type: ignore[override]
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:  # type: ignore[override]
        return -grad


class PlainOneStageRound:
    """``round(step)`` on ``game``'s networks, optimisers and random stream, without the engine."""

    def __init__(self, game: DistillGame) -> None:
        recipe = game.recipe
        loss, optim = recipe.loss, recipe.optim
        if (
            recipe.method != "onestage" or loss.discrepancy != "l1" or loss.objective != "adversarial"
            or loss.priors or loss.attention_beta or (recipe.replay.capacity and recipe.replay.steps)
            or optim.student_clip_norm is not None or optim.generator_clip_norm is not None
        ):  # fmt: skip
            raise ValueError(
                "PlainOneStageRound reproduces method=onestage with loss.discrepancy=l1, loss.objective=adversarial, "
                "no priors, attention transfer, replay or clipping"
            )
        self.game = game
        self.dtype = AUTOCAST_DTYPES[recipe.run.precision]
        self.scaler = torch.amp.GradScaler(game.device.type, enabled=self.dtype == torch.float16)
        self.images_per_step = game.images_per_step

    def _autocast(self) -> contextlib.AbstractContextManager[None]:
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.game.device.type, dtype=self.dtype)

    def _student_loss(self, images: Tensor) -> Tensor:
        teacher, student = self.game.teacher, self.game.student
        return (student(images) - teacher(images, bn_statistics=False).logits).abs().mean()  # DFAD's L_S: mean |s - t| over B x C

    def __call__(self, step: int) -> None:
        game, scaler = self.game, self.scaler
        student_opt, generator_opt = game.student_optimizer, game.generator_optimizer
        for _ in range(game.recipe.student_steps - 1):
            z = game._draw().z
            with self._autocast():
                with torch.no_grad():
                    fake = game.generator(z)
                loss = self._student_loss(fake)
            student_opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(student_opt)
            scaler.update()
        z = game._draw().z
        with self._autocast():
            loss = self._student_loss(_Reverse.apply(game.generator(z)))
        student_opt.zero_grad(set_to_none=True)
        generator_opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(student_opt)
        scaler.step(generator_opt)
        scaler.update()

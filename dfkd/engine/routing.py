"""Gradient routing at the fake sample: an identity in the forward pass, a per-sample scale in the backward.

One backward of the critic loss delivers dL_D/dx at the fake sample. On its way into the generator the
router multiplies it by -1 (symmetric losses, Section 3.1.2) or by gamma_i (Eq. 7), so the same backward
yields the critic's gradient of L_D and the generator's gradient of L_G.

The scale is only known after the forward pass (it depends on the critic's outputs), so each step creates
its own :class:`GradientRouter`, attaches it in the forward pass and sets the scale before calling backward.
There is no global or class-level state.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import FunctionCtx


class GradientRouter:
    """Holds one step's scale for the gradient at the fake sample."""

    def __init__(self) -> None:
        self._scale: Tensor | None = None

    def attach(self, fake: Tensor) -> Tensor:
        """Return ``fake`` unchanged, with this router inserted into its backward path."""
        return _RouteGradient.apply(fake, self)

    def set_scale(self, scale: Tensor) -> None:
        """Per-sample scale of shape (B,) (or a scalar tensor), applied to the incoming gradient."""
        self._scale = scale.detach()

    def apply_scale(self, grad: Tensor) -> Tensor:
        if self._scale is None:
            raise RuntimeError("the gradient reached the router before the step set its scale")
        scale = self._scale
        if scale.dim() == 1:
            if scale.shape[0] != grad.shape[0]:
                raise RuntimeError(f"router scale has {scale.shape[0]} entries for a batch of {grad.shape[0]}")
            scale = scale.reshape(-1, *([1] * (grad.dim() - 1)))
        # Multiply in at least float32: gamma can exceed float16's range while the product does not.
        wide = torch.promote_types(grad.dtype, torch.float32)
        return (grad.to(wide) * scale.to(wide)).to(grad.dtype)


class _RouteContext(FunctionCtx):
    """The autograd context of :class:`_RouteGradient` (for type checking: it carries the router)."""

    router: GradientRouter


class _RouteGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx: _RouteContext, fake: Tensor, router: GradientRouter) -> Tensor:
        ctx.router = router
        return fake.view_as(fake)

    @staticmethod
    def backward(ctx: _RouteContext, grad: Tensor) -> tuple[Tensor, None]:
        return ctx.router.apply_scale(grad), None

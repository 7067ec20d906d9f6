"""Two-dimensional signed distance functions on batched coordinate grids.

Every function takes local coordinates ``px, py`` (same shape, any batch layout) and returns the signed distance
to the shape boundary in the same units: negative inside, positive outside. Shape parameters may be Python floats
or tensors that broadcast against the coordinates (one value per image). They are the building blocks of the
procedural :mod:`dfkd.data.shapes` dataset; formulas follow Inigo Quilez's catalogue of 2D distance functions.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

Scalar = float | Tensor


def circle(px: Tensor, py: Tensor, radius: Scalar) -> Tensor:
    """Disk of ``radius`` centred at the origin."""
    return torch.sqrt(px * px + py * py) - radius


def annulus(px: Tensor, py: Tensor, radius: Scalar, half_width: Scalar) -> Tensor:
    """Ring whose outer edge is at ``radius`` and whose band is ``2 * half_width`` wide."""
    return (circle(px, py, radius - half_width)).abs() - half_width


def box(px: Tensor, py: Tensor, half_x: Scalar, half_y: Scalar) -> Tensor:
    """Axis-aligned rectangle with half side lengths ``half_x`` and ``half_y``."""
    dx = px.abs() - half_x
    dy = py.abs() - half_y
    outside = torch.sqrt(dx.clamp(min=0) ** 2 + dy.clamp(min=0) ** 2)
    inside = torch.maximum(dx, dy).clamp(max=0)
    return outside + inside


def frame(px: Tensor, py: Tensor, half_size: Scalar, half_width: Scalar) -> Tensor:
    """Hollow square: outer half side ``half_size``, border ``2 * half_width`` thick."""
    return (box(px, py, half_size, half_size) + half_width).abs() - half_width


def equilateral_triangle(px: Tensor, py: Tensor, half_side: Scalar) -> Tensor:
    """Equilateral triangle centred on its centroid, apex pointing towards +y, side ``2 * half_side``."""
    k = math.sqrt(3.0)
    x = px.abs() - half_side
    y = -py + half_side / k
    fold = (x + k * y) > 0
    x, y = torch.where(fold, (x - k * y) / 2, x), torch.where(fold, (-k * x - y) / 2, y)
    lowest = torch.as_tensor(-2 * half_side, dtype=x.dtype, device=x.device)
    x = x - torch.maximum(x, lowest).clamp(max=0)
    return -torch.sqrt(x * x + y * y) * torch.sign(y)


def plus(px: Tensor, py: Tensor, arm_length: Scalar, arm_half_width: Scalar) -> Tensor:
    """Axis-aligned plus sign: union of a horizontal and a vertical bar."""
    return torch.minimum(box(px, py, arm_length, arm_half_width), box(px, py, arm_half_width, arm_length))


def stripes(coord: Tensor, stripe_width: Scalar) -> Tensor:
    """Approximate distance to alternating bands of ``stripe_width`` along one coordinate (zero at the origin)."""
    return -torch.sin(math.pi * coord / stripe_width) * stripe_width / math.pi


def checkerboard(px: Tensor, py: Tensor, cell: Scalar) -> Tensor:
    """Approximate distance to an axis-aligned checkerboard with square cells of side ``cell``."""
    return -torch.sin(math.pi * px / cell) * torch.sin(math.pi * py / cell) * cell / math.pi


def intersect(a: Tensor, b: Tensor) -> Tensor:
    """Intersection of two shapes given by their distances."""
    return torch.maximum(a, b)

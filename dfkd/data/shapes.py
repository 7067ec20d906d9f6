"""Procedurally generated 10-class image datasets shipped as code (no download needed): shapes and patterns.

Each image shows one shape whose *geometry* decides the class: disk, ring, square, hollow square, triangle,
plus, diagonal cross, horizontal stripes, vertical stripes, checkerboard. Everything else is nuisance that is
independent of the class: foreground and background colours, position, scale, rotation (full for shapes where it
does not change the class, +-15 degrees where orientation *is* the class: plus vs cross, horizontal vs vertical
stripes), a background colour gradient, an optional small distractor blob and additive Gaussian pixel noise.

The ``patterns`` variant (``tiled=True``, the quick-start's dataset) draws the same ten motifs small and repeats
them on a randomly rotated and offset lattice over the whole image, so that the class shows everywhere in the
image, as texture, rather than in one object's outline.

Images are rendered in batches with signed distance functions (:mod:`dfkd.data.sdf2d`) on coordinate grids, with
anti-aliased edges. Image ``i`` depends only on ``(seed, i)``: indices are grouped in fixed chunks of
:data:`CHUNK_SIZE`, each drawn from its own generator seeded by a hash of ``(seed, chunk)``, so
``make_shapes(100, s)[0][:50]`` equals ``make_shapes(50, s)[0]``. The train and test splits of
:class:`ShapesDataset` use disjoint index ranges (see :data:`SPLIT_OFFSETS`). Labels cycle through the classes
(``label = index % 10``), so any prefix is balanced to within one image per class.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor
from torch.utils.data import Dataset

from dfkd.data import sdf2d

CHUNK_SIZE = 1000
"""Images per independently seeded generation chunk (fixed: changing it changes every image); a multiple of 10."""

SPLIT_OFFSETS: dict[str, int] = {"train": 0, "test": 2**31}
"""First image index of each split; the ranges never overlap for any realistic split size."""

DEFAULT_SPLIT_SIZES: dict[str, int] = {"train": 20_000, "test": 5_000}

# Per-channel statistics of make_shapes(50_000, seed=0, image_size=32): images.mean(dim=(0, 2, 3)) and
# images.std(dim=(0, 2, 3)) (rounded to 4 decimals); tests/data/test_shapes_dataset.py recomputes them.
SHAPES_MEAN: tuple[float, float, float] = (0.4990, 0.5001, 0.4997)
SHAPES_STD: tuple[float, float, float] = (0.2875, 0.2871, 0.2867)
# The same for the tiled variant, make_shapes(50_000, seed=0, image_size=32, tiled=True) ("patterns").
PATTERNS_MEAN: tuple[float, float, float] = (0.5006, 0.4996, 0.4985)
PATTERNS_STD: tuple[float, float, float] = (0.2650, 0.2651, 0.2650)

TILE_PERIOD = 2.6
"""Lattice period of the ``patterns`` variant, in motif half-sizes (the motif fills ~75% of its tile)."""

_DEG = math.pi / 180.0
SdfFn = Callable[[Tensor, Tensor, Tensor], Tensor]
"""``(px, py, t) -> signed distance`` in local units; ``t`` in [0, 1) is a per-image shape parameter."""


@dataclass(frozen=True)
class ShapeKind:
    """How one class is drawn: its distance function and how it may be rotated (radians)."""

    sdf: SdfFn
    rotation_base: float = 0.0
    rotation_jitter: float = math.pi  # rotation = base + uniform(-jitter, jitter)


def _ring(px: Tensor, py: Tensor, t: Tensor) -> Tensor:
    return sdf2d.annulus(px, py, 1.0, 0.14 + 0.12 * t)


def _hollow_square(px: Tensor, py: Tensor, t: Tensor) -> Tensor:
    return sdf2d.frame(px, py, 0.85, 0.15 + 0.1 * t)


def _plus(px: Tensor, py: Tensor, t: Tensor) -> Tensor:
    return sdf2d.plus(px, py, 1.0, 0.2 + 0.1 * t)


def _horizontal_stripes(px: Tensor, py: Tensor, t: Tensor) -> Tensor:
    return sdf2d.intersect(sdf2d.stripes(py, 0.28 + 0.16 * t), sdf2d.box(px, py, 0.9, 0.9))


def _vertical_stripes(px: Tensor, py: Tensor, t: Tensor) -> Tensor:
    return sdf2d.intersect(sdf2d.stripes(px, 0.28 + 0.16 * t), sdf2d.box(px, py, 0.9, 0.9))


def _checkerboard(px: Tensor, py: Tensor, t: Tensor) -> Tensor:
    cell = 0.36 + 0.1 * t  # a 4 x 4 board of whole cells: cell edges lie on multiples of `cell`
    return sdf2d.intersect(sdf2d.checkerboard(px, py, cell), sdf2d.box(px, py, 2 * cell, 2 * cell))


_ORIENTED = 15 * _DEG
SHAPE_KINDS: dict[str, ShapeKind] = {
    "disk": ShapeKind(lambda px, py, t: sdf2d.circle(px, py, 1.0)),
    "ring": ShapeKind(_ring),
    "square": ShapeKind(lambda px, py, t: sdf2d.box(px, py, 0.85, 0.85)),
    "hollow_square": ShapeKind(_hollow_square),
    "triangle": ShapeKind(lambda px, py, t: sdf2d.equilateral_triangle(px, py, 1.0)),
    "plus": ShapeKind(_plus, rotation_jitter=_ORIENTED),
    "cross": ShapeKind(_plus, rotation_base=45 * _DEG, rotation_jitter=_ORIENTED),
    "horizontal_stripes": ShapeKind(_horizontal_stripes, rotation_jitter=_ORIENTED),
    "vertical_stripes": ShapeKind(_vertical_stripes, rotation_jitter=_ORIENTED),
    "checkerboard": ShapeKind(_checkerboard),
}
SHAPE_CLASSES: tuple[str, ...] = tuple(SHAPE_KINDS)
assert CHUNK_SIZE % len(SHAPE_CLASSES) == 0, "rendering slices classes as strided views of whole chunks"

# Column layout of the uniform draws per image (fixed: reordering changes every image).
_CX, _CY, _SCALE, _ROT, _SHAPE_T, _FG, _BG, _GRAD, _NOISE, _BLOB, _BLOB_XY, _BLOB_R, _BLOB_RGB, _BLOB_A = (
    0,
    1,
    2,
    3,
    4,
    slice(5, 8),
    slice(8, 11),
    slice(11, 14),
    14,
    15,
    slice(16, 18),
    18,
    slice(19, 22),
    22,
)
_NUM_UNIFORMS = 23


def _chunk_generator(seed: int, chunk: int) -> torch.Generator:
    digest = hashlib.blake2b(f"dfkd-shapes:{seed}:{chunk}".encode(), digest_size=8).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest, "little") & (2**63 - 1))


def _render_chunk(seed: int, chunk: int, image_size: int, tiled: bool = False) -> tuple[Tensor, Tensor]:
    """Render the :data:`CHUNK_SIZE` images of one chunk: float images in [0, 1] and int64 labels.

    ``tiled``: the class motif is repeated on a rotated, offset lattice over the whole image (``patterns``)
    instead of drawn once (``shapes``)."""
    gen = _chunk_generator(seed, chunk) if not tiled else _chunk_generator(seed + 7_919_000, chunk)
    n, size = CHUNK_SIZE, image_size
    u = torch.rand(n, _NUM_UNIFORMS, generator=gen)
    noise = torch.randn(n, 3, size, size, generator=gen)
    labels = (chunk * CHUNK_SIZE + torch.arange(n)) % len(SHAPE_CLASSES)

    def per_image(column: Tensor) -> Tensor:
        return column.view(n, 1, 1)

    coords = (torch.arange(size, dtype=torch.float32) + 0.5) / size * 2 - 1
    gy, gx = coords.view(1, size, 1), coords.view(1, 1, size)

    # Geometry: scale is the half size in normalised [-1, 1] units; the centre keeps most of the shape inside.
    scale = 0.45 + 0.35 * u[:, _SCALE] if not tiled else 0.16 + 0.12 * u[:, _SCALE]
    reach = (1 - 0.85 * scale) * 0.9
    cx, cy = (2 * u[:, _CX] - 1) * reach, (2 * u[:, _CY] - 1) * reach
    kinds = [SHAPE_KINDS[name] for name in SHAPE_CLASSES]
    base = torch.tensor([k.rotation_base for k in kinds])[labels]
    jitter = torch.tensor([k.rotation_jitter for k in kinds])[labels]
    angle = base + jitter * (2 * u[:, _ROT] - 1)
    cos, sin = per_image(torch.cos(angle)), per_image(torch.sin(angle))
    dx, dy = gx - per_image(cx), gy - per_image(cy)
    s = per_image(scale)
    px, py = (cos * dx + sin * dy) / s, (-sin * dx + cos * dy) / s
    if tiled:  # wrap local coordinates onto a lattice of period TILE_PERIOD motif half-sizes
        px = torch.remainder(px + TILE_PERIOD / 2, TILE_PERIOD) - TILE_PERIOD / 2
        py = torch.remainder(py + TILE_PERIOD / 2, TILE_PERIOD) - TILE_PERIOD / 2

    # Labels cycle through the classes, so class k is the strided view [:, k] of a (n / K, K, ...) reshape.
    classes = len(kinds)
    distance = torch.empty(n // classes, classes, size, size)
    px, py = px.view(-1, classes, size, size), py.view(-1, classes, size, size)
    shape_t = u[:, _SHAPE_T].view(-1, classes, 1, 1)
    for index, kind in enumerate(kinds):
        distance[:, index] = kind.sdf(px[:, index], py[:, index], shape_t[:, index])
    distance = distance.view(n, size, size)
    alpha = (0.5 - distance * s * (size / 2)).clamp(0, 1).unsqueeze(1)  # anti-aliased coverage per pixel

    # Colours: each foreground channel differs from the background by at least 0.25 (cyclically).
    bg = u[:, _BG]
    fg = (bg + 0.25 + 0.5 * u[:, _FG]) % 1.0
    grad = (u[:, _GRAD] * 2 - 1) * torch.tensor([1.0, 1.0, 0.25])  # direction x, y and amplitude
    ramp = (grad[:, 0:1, None] * gx + grad[:, 1:2, None] * gy).unsqueeze(1) * grad[:, 2].view(n, 1, 1, 1)
    images = torch.lerp(bg.view(n, 3, 1, 1) + ramp, fg.view(n, 3, 1, 1), alpha)

    # Distractor: a small blob of a random colour on half of the images, possibly over the shape.
    blob_xy = u[:, _BLOB_XY] * 1.8 - 0.9
    blob_r = 0.1 + 0.1 * u[:, _BLOB_R]
    blob_d = sdf2d.circle(gx - per_image(blob_xy[:, 0]), gy - per_image(blob_xy[:, 1]), per_image(blob_r))
    blob_alpha = (0.5 - blob_d * (size / 2)).clamp(0, 1).unsqueeze(1)
    blob_alpha = blob_alpha * (0.5 + 0.5 * u[:, _BLOB_A]).view(n, 1, 1, 1) * (u[:, _BLOB] < 0.5).view(n, 1, 1, 1)
    images = torch.lerp(images, u[:, _BLOB_RGB].view(n, 3, 1, 1), blob_alpha)

    sigma = 0.02 + 0.06 * u[:, _NOISE]
    images = images.addcmul_(noise, sigma.view(n, 1, 1, 1)).clamp_(0, 1)
    return images, labels


def iter_shape_chunks(
    n: int, seed: int, image_size: int = 32, *, offset: int = 0, tiled: bool = False
) -> Iterator[tuple[Tensor, Tensor]]:
    """Yield ``(images, labels)`` pieces covering image indices ``offset .. offset + n - 1`` in order."""
    if n < 0 or offset < 0:
        raise ValueError(f"make_shapes: n and offset must be >= 0, got n={n}, offset={offset}")
    if image_size < 8:
        raise ValueError(f"make_shapes: image_size must be >= 8 pixels, got {image_size}")
    start, stop = offset, offset + n
    for chunk in range(start // CHUNK_SIZE, -(-stop // CHUNK_SIZE)):
        images, labels = _render_chunk(seed, chunk, image_size, tiled)
        lo = max(start - chunk * CHUNK_SIZE, 0)
        hi = min(stop - chunk * CHUNK_SIZE, CHUNK_SIZE)
        yield images[lo:hi], labels[lo:hi]


def make_shapes(
    n: int, seed: int, image_size: int = 32, *, offset: int = 0, tiled: bool = False
) -> tuple[Tensor, Tensor]:
    """Render ``n`` images: float32 ``(n, 3, image_size, image_size)`` in [0, 1] and int64 labels ``(n,)``.

    ``offset`` selects the first image index; image ``i`` is the same whatever ``n`` and ``offset`` are.
    """
    pieces = list(iter_shape_chunks(n, seed, image_size, offset=offset, tiled=tiled))
    if not pieces:
        return torch.empty(0, 3, image_size, image_size), torch.empty(0, dtype=torch.int64)
    return torch.cat([p[0] for p in pieces]), torch.cat([p[1] for p in pieces])


class ShapesDataset(Dataset[tuple[Tensor, int]]):
    """The shapes dataset as a map-style dataset yielding ``(float image in [0, 1], label)``; with ``tiled``,
    the ``patterns`` variant (each motif repeated on a lattice).

    Images are rendered once at construction (about a second for 20k images) and stored as uint8
    (``self.images``, ``self.labels``). ``transform`` is applied to the float image tensor.
    """

    def __init__(
        self,
        split: Literal["train", "test"] = "train",
        n: int | None = None,
        seed: int = 0,
        image_size: int = 32,
        transform: Callable[[Tensor], Tensor] | None = None,
        tiled: bool = False,
    ) -> None:
        if split not in SPLIT_OFFSETS:
            raise ValueError(f"ShapesDataset: split must be one of {sorted(SPLIT_OFFSETS)}, got {split!r}")
        self.split = split
        self.classes: list[str] = list(SHAPE_CLASSES)
        self.seed = seed
        self.image_size = image_size
        self.transform = transform
        count = DEFAULT_SPLIT_SIZES[split] if n is None else n
        images, labels = [], []
        chunks = iter_shape_chunks(count, seed, image_size, offset=SPLIT_OFFSETS[split], tiled=tiled)
        for chunk_images, chunk_labels in chunks:
            images.append((chunk_images * 255).round_().to(torch.uint8))
            labels.append(chunk_labels)
        self.images = torch.cat(images) if images else torch.empty(0, 3, image_size, image_size, dtype=torch.uint8)
        self.labels = torch.cat(labels) if labels else torch.empty(0, dtype=torch.int64)

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        image = self.images[index].float().div_(255)
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.labels[index])

"""A small folder of random images in ImageFolder layout: real-image input for checks that measure cost, not
quality (GAN rounds in the GPU check, the reproduction's smoke mode)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def write_random_image_folder(root: Path, per_class: int, *, classes: int = 10, size: int = 32, seed: int = 0) -> Path:
    """``root/class_<k>/<i>.png`` (``classes`` x ``per_class`` RGB images of uniform noise); returns ``root``."""
    rng = np.random.default_rng(seed)
    for k in range(classes):
        folder = root / f"class_{k}"
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / f"{i:04d}.png")
    return root

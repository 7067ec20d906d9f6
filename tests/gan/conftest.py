"""Tiny generated data for the GAN tests: a two-class image folder of coloured blobs (16x16 PNGs)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

TINY = [
    "model.resolution=16",
    "model.ngf=8",
    "model.ndf=8",
    "model.nz=8",
    "train.batch_size=8",
    "fid.enabled=false",
    "logging.log_every=1",
    "logging.checkpoint_every=0",
    "logging.image_every=0",
    "logging.grid_size=16",
    "run.device=cpu",
]
"""Overrides that shrink any GAN recipe to a few-second CPU run on :func:`blob_folder`."""


def write_blob_folder(root: Path, per_class: int = 24, size: int = 16, seed: int = 0) -> Path:
    """``root/{disk,square}/*.png``: a bright disk or square on a dark background, random colour and place."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    for label, shape in enumerate(("disk", "square")):
        folder = root / shape
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            cy, cx = rng.uniform(4, size - 4, 2)
            radius = rng.uniform(2, 4)
            inside = (
                ((yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2)
                if label == 0
                else ((abs(yy - cy) <= radius) & (abs(xx - cx) <= radius))
            )
            image = np.full((size, size, 3), rng.uniform(0, 60, 3))
            image[inside] = rng.uniform(150, 255, 3)
            Image.fromarray(image.astype(np.uint8)).save(folder / f"{i:03d}.png")
    return root


@pytest.fixture(scope="session")
def blob_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_blob_folder(tmp_path_factory.mktemp("blobs") / "data")


@pytest.fixture(autouse=True)
def _no_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DFKD_NO_PROGRESS", "1")


@pytest.fixture(autouse=True, scope="session")
def _one_thread() -> Iterator[None]:
    """These networks are tiny: a second thread only adds synchronisation, and it costs seconds per test when
    another process keeps the cores busy."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

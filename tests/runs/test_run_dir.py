"""RunDir: metrics rows, truncation on resume, fixed-range image grids, summary, TensorBoard."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dfkd.runs.run_dir import RunDir


def test_layout_and_metrics_rows(tmp_path: Path) -> None:
    run = RunDir("exp", root=tmp_path, tensorboard=False)
    assert run.path == tmp_path / "exp" and run.path.is_dir()
    assert run.last_checkpoint == tmp_path / "exp" / "checkpoints" / "last.pt"
    assert run.best_checkpoint.name == "best.pt" and run.tb_dir.name == "tb" and run.images_dir.name == "images"
    run.log_metrics(1, {"train/loss": torch.tensor(0.5), "lr": 1, "acc": np.float32(0.25)})
    run.log_metrics(2, {"train/loss": 0.25})
    lines = run.metrics_path.read_text().splitlines()
    assert json.loads(lines[0]) == {"step": 1, "train/loss": 0.5, "lr": 1.0, "acc": 0.25}
    assert isinstance(json.loads(lines[0])["lr"], float)
    with pytest.raises(TypeError, match="metric 'bad'"):
        run.log_metrics(3, {"bad": torch.zeros(2)})


def test_truncate_drops_rows_after_checkpoint_and_torn_lines(tmp_path: Path) -> None:
    run = RunDir("exp", root=tmp_path, tensorboard=False)
    for step in range(1, 7):
        run.log_metrics(step, {"x": step})
    with run.metrics_path.open("a") as fh:
        fh.write('{"step": 7, "x"')  # a crash in the middle of a line
    assert run.truncate_metrics(after_step=4) == 3
    assert [row["step"] for row in run.read_metrics()] == [1, 2, 3, 4]
    assert run.truncate_metrics(after_step=4) == 0


def test_images_use_a_fixed_range(tmp_path: Path) -> None:
    run = RunDir("exp", root=tmp_path, tensorboard=False)
    images = torch.zeros(4, 3, 6, 6)
    images[0] = -1.0  # black in [-1, 1]
    images[1] = 1.0  # white
    images[2] = 0.0  # mid grey, NOT stretched to the extremes
    images[3] = 5.0  # out of range: clipped to white
    png = run.log_images("samples", 10, images, nrow=4)
    assert png == run.images_dir / "samples_00000010.png"
    pixels = np.asarray(Image.open(png).convert("RGB"))
    tiles = [pixels[2:8, 2 + 8 * i : 8 + 8 * i] for i in range(4)]  # padding 2 around 6x6 tiles
    assert [int(t.min()) for t in tiles] == [0, 255, 128, 255]
    assert [int(t.max()) for t in tiles] == [0, 255, 128, 255]
    grey = run.log_images("unit", 1, torch.full((1, 1, 4, 4), 0.5), value_range=(0.0, 1.0))
    assert int(np.asarray(Image.open(grey)).max()) == 128


def test_summary_is_written_atomically(tmp_path: Path) -> None:
    run = RunDir("exp", root=tmp_path, tensorboard=False)
    assert run.read_summary() is None
    run.write_summary({"acc_best": 0.5, "acc_last": 0.4})
    assert run.read_summary() == {"acc_best": 0.5, "acc_last": 0.4}


def test_tensorboard_writer_is_lazy_and_closed(tmp_path: Path) -> None:
    with RunDir("exp", root=tmp_path) as run:
        assert not run.tb_dir.exists()
        run.log_metrics(1, {"train/loss": 1.0})
        run.log_images("samples", 1, torch.zeros(2, 3, 4, 4))
        assert run._writer is not None
    assert run._writer is None
    assert list(run.tb_dir.glob("events.out.tfevents.*"))


def test_bad_run_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="run name"):
        RunDir("a/b", root=tmp_path)

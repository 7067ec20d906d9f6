"""`torchrun --standalone --nproc_per_node=2 -m dfkd distill|gan|train-teacher` on CPU (Gloo), tiny settings:
one run directory, one metrics row per step, ``world_size`` 2 in the summary, a teacher trained once, resume."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.distill.conftest import tiny_recipe
from tests.gan.conftest import TINY, write_blob_folder

REPO = Path(__file__).resolve().parents[2]
WORLD = 2


def torchrun(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DFKD_NO_PROGRESS": "1", "OMP_NUM_THREADS": "1"}
    env.pop("WORLD_SIZE", None)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={WORLD}", "-m", "dfkd"]
    done = subprocess.run([*command, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def steps_logged(run: Path) -> list[int]:
    return [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]


def training_rows(run: Path) -> list[dict]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in row.items() if k.startswith(("step", "train/", "eval/student"))} for row in rows]


def summary(run: Path) -> dict:
    return json.loads((run / "summary.json").read_text())


def teacher_recipe(tmp_path: Path, output: Path) -> Path:
    recipe = {
        "run": {"name": "teacher", "root": str(tmp_path / "runs"), "threads": 1},
        "data": {"name": "shapes", "max_train_items": 128, "max_test_items": 32},
        "model": {"arch": "simple_cnn", "kwargs": {"width": 4, "depth": 2}},
        "train": {"epochs": 1, "batch_size": 32, "optimizer": {"name": "sgd", "lr": 0.05}},
        "logging": {"log_every": 1, "eval_every": 0, "checkpoint_every": 2},
        "output": str(output),
    }
    path = tmp_path / "teacher.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


@pytest.mark.slow
def test_distill_trains_the_missing_teacher_once_and_resumes(tmp_path: Path) -> None:
    teacher = tmp_path / "trained-teacher.pt"
    recipe = tiny_recipe(
        tmp_path,
        teacher={"checkpoint": str(teacher), "train_if_missing": True,
                 "teacher_recipe": str(teacher_recipe(tmp_path, teacher))},
        loss={"priors": {"bn": 1.0, "balance": 1.0}},
        replay={"capacity": 32, "steps": 1},
    )  # fmt: skip
    done = torchrun("distill", str(recipe), cwd=tmp_path)
    assert done.stdout.count("training the teacher first") == 1  # rank 0 alone prints
    runs = tmp_path / "runs"
    assert sorted(p.name for p in runs.iterdir()) == ["teacher", "tiny"]  # the teacher trained once, one run
    assert steps_logged(runs / "teacher") == [1, 2, 3, 4]  # 128 images / global batch 32
    assert summary(runs / "teacher")["world_size"] == WORLD
    assert teacher.is_file()
    assert steps_logged(runs / "tiny") == [1, 2, 3, 4]
    first = summary(runs / "tiny")
    assert first["world_size"] == WORLD and first["steps"] == 4 and first["images_seen"] == 4 * 8 * 3
    assert (runs / "tiny" / "student_last.pt").is_file()

    torchrun("distill", "--resume", str(runs / "tiny"), "steps=6", cwd=tmp_path)
    assert steps_logged(runs / "tiny") == [1, 2, 3, 4, 5, 6]
    resumed = summary(runs / "tiny")
    assert resumed["world_size"] == WORLD and resumed["steps"] == 6 and resumed["stopped"] == "completed"

    torchrun("distill", str(recipe), "steps=6", "run.name=straight", cwd=tmp_path)  # the same 6 steps in one go
    assert training_rows(runs / "straight") == training_rows(runs / "tiny")  # every rank resumed its own streams


@pytest.mark.slow
def test_gan_runs_once_per_step_and_resumes(tmp_path: Path) -> None:
    data = write_blob_folder(tmp_path / "blobs")
    recipe = REPO / "recipes" / "gan" / "cifar10" / "dcgan-sym-one.yaml"
    fid = [
        "fid.enabled=true",
        "fid.extractor=pixels:4",
        "fid.num_samples=32",
        "fid.num_real=40",
        "fid.every=2",
        "fid.kid_subsets=5",
        "fid.kid_subset_size=16",
        "fid.batch_size=16",
        f"fid.cache_dir={tmp_path / 'cache'}",
    ]
    settings = [*TINY, *fid, f"data.name={data}", "train.steps=3", f"run.root={tmp_path / 'runs'}", "run.name=gan",
                "logging.checkpoint_every=1"]  # fmt: skip
    torchrun("gan", str(recipe), *settings, cwd=tmp_path)
    run = tmp_path / "runs" / "gan"
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["gan"]
    assert steps_logged(run) == [1, 2, 3]
    first = summary(run)
    assert first["world_size"] == WORLD and first["images_seen"] == 3 * 8 * 1
    assert "fid" in first and (run / "checkpoints" / "best.pt").is_file()  # rank 0 evaluated, all agreed
    assert len(list((tmp_path / "cache").glob("*.pt"))) == 1

    torchrun("gan", "--resume", str(run), "train.steps=5", cwd=tmp_path)
    assert steps_logged(run) == [1, 2, 3, 4, 5]
    assert summary(run)["steps"] == 5 and summary(run)["world_size"] == WORLD


@pytest.mark.slow
def test_train_teacher_writes_one_teacher(tmp_path: Path) -> None:
    output = tmp_path / "teacher.pt"
    torchrun("train-teacher", str(teacher_recipe(tmp_path, output)), cwd=tmp_path)
    run = tmp_path / "runs" / "teacher"
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["teacher"]
    assert steps_logged(run) == [1, 2, 3, 4]
    assert summary(run)["world_size"] == WORLD and summary(run)["stopped"] == "completed"
    assert output.is_file()

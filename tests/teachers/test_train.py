"""`dfkd train-teacher` end to end on generated shapes: teacher file, accuracy, resume."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dfkd.teachers import TeacherRequest, load_teacher
from dfkd.teachers.train import train_teacher


def _recipe(tmp_path: Path) -> Path:
    recipe = {
        "run": {"name": "teacher", "root": str(tmp_path / "runs"), "threads": 1},
        "data": {"name": "shapes", "max_train_items": 256, "max_test_items": 64},
        "model": {"arch": "simple_cnn", "kwargs": {"width": 4, "depth": 2}},
        "train": {
            "epochs": 2,
            "batch_size": 64,
            "optimizer": {"name": "sgd", "lr": 0.05},
            "lr_schedule": {"name": "multistep", "milestones": [1]},
        },
        "logging": {"log_every": 1, "eval_every": 0, "checkpoint_every": 2},
        "output": str(tmp_path / "teacher.pt"),
    }
    path = tmp_path / "teacher.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


def test_train_teacher_writes_a_complete_teacher_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DFKD_NO_PROGRESS", "1")
    info, summary = train_teacher(str(_recipe(tmp_path)))
    assert summary["steps"] == 8 and summary["test_acc_last"] == info.accuracy  # 256/64 = 4 steps per epoch
    model, loaded = load_teacher(TeacherRequest(str(tmp_path / "teacher.pt")))
    assert loaded.arch == "simple_cnn" and loaded.num_classes == 10 and loaded.dataset == "shapes"
    assert loaded.mean is not None and loaded.input_size == (3, 32, 32) and loaded.sha256 == info.sha256


def test_train_teacher_resumes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DFKD_NO_PROGRESS", "1")
    recipe = str(_recipe(tmp_path))
    info, summary = train_teacher(recipe, ["logging.max_wall_s=0.001"])
    assert summary["steps"] < 8
    assert info is None and not (tmp_path / "teacher.pt").exists()  # a half-trained teacher is never written
    _, summary = train_teacher(None, ["logging.max_wall_s=null"], resume=str(tmp_path / "runs" / "teacher"))
    assert summary["steps"] == 8


def test_an_existing_teacher_file_is_overwritten_only_with_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from dfkd.cli import main

    monkeypatch.setenv("DFKD_NO_PROGRESS", "1")
    recipe = str(_recipe(tmp_path))
    output = tmp_path / "teacher.pt"
    output.write_bytes(b"my precious teacher")
    assert main(["train-teacher", recipe]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"output={output}: the teacher file already exists; pass --force" in err[0]
    assert output.read_bytes() == b"my precious teacher" and not (tmp_path / "runs").exists()  # nothing trained
    assert main(["train-teacher", recipe, "--force"]) == 0
    _, info = load_teacher(TeacherRequest(str(output)))
    assert info.arch == "simple_cnn"


@pytest.mark.parametrize("where", ["directory", "under_a_file"])
def test_a_bad_output_is_refused_before_training(tmp_path: Path, where: str) -> None:
    from dfkd.config.load import RecipeError

    (tmp_path / "teachers").mkdir()
    (tmp_path / "file").write_text("x")
    output = tmp_path / "teachers" if where == "directory" else tmp_path / "file" / "t.pt"
    expected = "is a directory" if where == "directory" else "is a file, not a directory"
    with pytest.raises(RecipeError, match=f"output={output}: .*{expected}"):
        train_teacher(str(_recipe(tmp_path)), [f"output={output}"], force=True)
    assert not (tmp_path / "runs").exists()


def test_a_diverged_teacher_is_never_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dfkd.engine import NonFiniteError
    from dfkd.teachers.train import TeacherGame

    monkeypatch.setenv("DFKD_NO_PROGRESS", "1")
    original = TeacherGame.train_step

    def diverging(self: TeacherGame, step: int):  # type: ignore[no-untyped-def]
        out = original(self, step)
        if step == 3:
            next(p for p in self.model.parameters()).data.fill_(float("nan"))
        return out

    monkeypatch.setattr(TeacherGame, "train_step", diverging)
    with pytest.raises(NonFiniteError, match=r"checkpoints/last.pt \(step 2\), kept unchanged"):
        train_teacher(str(_recipe(tmp_path)), ["logging.checkpoint_every=1"])
    assert not (tmp_path / "teacher.pt").exists()

"""End-to-end distillation runs on tiny models: every method, the run layout, resume bit-exactness, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml

from dfkd.config.load import RecipeError
from dfkd.data.errors import DataNotFoundError
from dfkd.distill.job import run_distill, run_distill_with_baseline
from dfkd.runs.checkpoint import load_checkpoint
from dfkd.runs.session import WALL_CLOCK_KEYS
from dfkd.teachers import TeacherLoadError, TeacherRequest, load_teacher

REQUIRED_SUMMARY = {"method", "teacher_acc", "student_acc_best", "student_acc_last", "steps", "wall_s", "images_per_s"}


def test_onestage_run_writes_the_documented_layout(recipe_factory, tmp_path: Path) -> None:
    summary = run_distill(str(recipe_factory()))
    run = Path(summary["run_dir"])
    assert REQUIRED_SUMMARY <= set(summary)
    assert summary["method"] == "onestage" and summary["steps"] == 4
    for name in (
        "recipe.yaml",
        "metrics.jsonl",
        "summary.json",
        "checkpoints/last.pt",
        "checkpoints/best.pt",
        "student_last.pt",
        "student_best.pt",
    ):
        assert (run / name).is_file(), name
    assert any((run / "tb").iterdir()) and any((run / "images").glob("*.png"))
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    train_keys = set().union(*rows)
    expected = {"train/critic_loss", "train/generator_loss", "train/guarded", "train/gamma_mean", "eval/student_acc"}
    assert expected <= train_keys
    assert json.loads((run / "summary.json").read_text())["student_acc_last"] == summary["student_acc_last"]
    student, info = load_teacher(TeacherRequest(str(run / "student_last.pt")))
    assert info.arch == "simple_cnn" and info.accuracy == pytest.approx(summary["student_acc_last"])


@pytest.mark.slow
@pytest.mark.parametrize("method", ["dfad", "zskt", "noise"])
def test_every_method_runs(recipe_factory, method: str) -> None:
    extra = {"loss": {"discrepancy": "kl", "attention_beta": 250.0}} if method == "zskt" else {}
    summary = run_distill(str(recipe_factory(method=method, **extra)))
    assert summary["method"] == method and summary["steps"] == 4
    assert 0.0 <= summary["student_acc_best"] <= 1.0 and summary["skipped_steps"] == 0


@pytest.mark.slow
def test_priors_and_kl_with_onestage(recipe_factory) -> None:
    summary = run_distill(str(recipe_factory(loss={"discrepancy": "kl", "priors": {"bn": 1.0, "balance": 5.0}})))
    assert summary["skipped_steps"] == 0


def _rows(run: Path) -> list[dict]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in row.items() if k not in WALL_CLOCK_KEYS} for row in rows]


def test_resume_is_bit_identical_on_cpu(recipe_factory, tmp_path: Path) -> None:
    recipe = str(recipe_factory(run={"name": "full", "root": str(tmp_path / "runs"), "threads": 1}))
    full = Path(run_distill(recipe)["run_dir"])
    part = Path(run_distill(recipe, ["run.name=part", "steps=2"])["run_dir"])
    resumed = Path(run_distill(None, ["steps=4"], resume=str(part))["run_dir"])
    assert resumed == part
    a = load_checkpoint(full / "checkpoints" / "last.pt")["game"]
    b = load_checkpoint(part / "checkpoints" / "last.pt")["game"]
    for network in ("student", "generator"):
        for key, value in a[network].items():
            assert torch.equal(value, b[network][key]), (network, key)
    assert _rows(full) == _rows(part)


def test_resume_refuses_a_changed_recipe(recipe_factory) -> None:
    run = Path(run_distill(str(recipe_factory(steps=2)))["run_dir"])
    from dfkd.runs.session import SessionError

    with pytest.raises(SessionError, match="batch_size"):
        run_distill(None, ["batch_size=4"], resume=str(run))


def test_resume_refuses_another_precision(recipe_factory, monkeypatch: pytest.MonkeyPatch) -> None:
    from dfkd import runtime
    from dfkd.runs.session import SessionError

    monkeypatch.setattr(runtime, "native_bf16", lambda device: False)  # `auto` is fp32 on this machine ...
    run = Path(run_distill(str(recipe_factory(steps=1, run={"name": "auto", "precision": "auto"})))["run_dir"])
    monkeypatch.setattr(runtime, "native_bf16", lambda device: True)  # ... and bf16 on the one resuming it
    with pytest.raises(SessionError, match=r"precision.*saved fp32, now bf16"):
        run_distill(None, ["steps=2"], resume=str(run))


def test_best_checkpoint_leaves_out_the_replay_memory(recipe_factory) -> None:
    summary = run_distill(str(recipe_factory(steps=2, replay={"capacity": 32, "steps": 1})))
    run = Path(summary["run_dir"])
    last = load_checkpoint(run / "checkpoints" / "last.pt")["game"]
    best = load_checkpoint(run / "checkpoints" / "best.pt")["game"]
    assert isinstance(last["memory"], dict) and last["memory"]["size"] > 0  # resuming needs it
    assert best["memory"] is None and set(best) == set(last)  # everything else is there
    assert (run / "student_best.pt").is_file()


def test_a_second_run_never_overwrites_the_first(recipe_factory) -> None:
    recipe = str(recipe_factory(steps=1))
    first, second = run_distill(recipe)["run_dir"], run_distill(recipe)["run_dir"]
    assert Path(second).name == Path(first).name + "-2"


def test_noise_control_makes_as_many_student_updates_on_as_many_images(recipe_factory) -> None:
    replay = {"capacity": 32, "steps": 2}
    logging = {"log_every": 1, "eval_every": 2, "checkpoint_every": 1, "image_every": 2, "max_wall_s": 1000.0}
    summary, baseline = run_distill_with_baseline(
        str(recipe_factory(steps=2, student_steps=2, replay=replay, noise_baseline=True, logging=logging))
    )
    assert baseline is not None and baseline["method"] == "noise"
    assert baseline["steps"] == summary["steps"] == 2
    assert baseline["images_seen"] == summary["images_seen"]  # 2 rounds x (2 student + 2 replay steps) x batch
    control = yaml.safe_load((Path(baseline["run_dir"]) / "recipe.yaml").read_text())
    assert control["student_steps"] == 4 and control["replay"]["capacity"] == 0
    assert control["logging"]["max_wall_s"] is None  # no wall-time cap may cut the promised updates short
    assert Path(baseline["run_dir"]).name == Path(summary["run_dir"]).name + "-noise"


def test_missing_teacher_error_says_how_to_get_one(recipe_factory, tmp_path: Path) -> None:
    with pytest.raises(TeacherLoadError, match="dfkd train-teacher"):
        run_distill(str(recipe_factory(teacher={"checkpoint": str(tmp_path / "absent.pt")})))
    assert not (tmp_path / "runs").exists()  # nothing is created before the inputs check out


def test_cifar_absent_gives_the_data_error(recipe_factory, tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match="download"):
        run_distill(str(recipe_factory(data={"name": "cifar10", "root": str(tmp_path / "nodata")})))


def test_teacher_classes_must_match_the_data(recipe_factory, tmp_path: Path) -> None:
    with pytest.raises(TeacherLoadError, match="100"):
        run_distill(str(recipe_factory(teacher={"checkpoint": str(tmp_path / "teacher.pt"), "num_classes": 100})))


def test_recipe_errors_name_file_and_key(recipe_factory) -> None:
    path = recipe_factory(student={"arch": "simple_cnn", "optimizer": {"name": "sgd", "lr": "fast"}})
    with pytest.raises(RecipeError, match=r"recipe.yaml.*student.optimizer.lr"):
        run_distill(str(path))
    with pytest.raises(RecipeError, match="unknown generator prior"):
        run_distill(str(recipe_factory(loss={"priors": {"bogus": 1.0}})))


def test_missing_teacher_is_trained_and_an_unrelated_old_teacher_run_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dfkd.distill.config import TeacherSection
    from dfkd.distill.job import ensure_teacher
    from dfkd.teachers.train import train_teacher
    from tests.teachers.test_train import _recipe as tiny_teacher_recipe

    monkeypatch.setenv("DFKD_NO_PROGRESS", "1")
    recipe = str(tiny_teacher_recipe(tmp_path))
    # an interrupted training of the same teacher recipe but another output: not this teacher's run
    train_teacher(recipe, ["logging.max_wall_s=0.001", f"output={tmp_path / 'other.pt'}"])
    wanted = tmp_path / "wanted.pt"
    _, info = ensure_teacher(TeacherSection(checkpoint=str(wanted), train_if_missing=True, teacher_recipe=recipe))
    assert wanted.is_file() and not (tmp_path / "other.pt").exists() and info.arch == "simple_cnn"
    assert (tmp_path / "runs" / "teacher-2" / "summary.json").is_file()  # a new run; the old one untouched


def test_an_interrupted_training_of_the_same_teacher_is_continued(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dfkd.distill.config import TeacherSection
    from dfkd.distill.job import ensure_teacher
    from dfkd.teachers.train import train_teacher
    from tests.teachers.test_train import _recipe as tiny_teacher_recipe

    monkeypatch.setenv("DFKD_NO_PROGRESS", "1")
    recipe = str(tiny_teacher_recipe(tmp_path))
    wanted = tmp_path / "teacher.pt"  # the tiny recipe's own output
    train_teacher(recipe, ["logging.max_wall_s=0.001", f"output={wanted}"])
    assert not wanted.exists()
    ensure_teacher(TeacherSection(checkpoint=str(wanted), train_if_missing=True, teacher_recipe=recipe))
    assert wanted.is_file() and not (tmp_path / "runs" / "teacher-2").exists()


def _flat(num_classes: int = 10) -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, num_classes))


def test_bn_prior_with_a_teacher_without_batchnorm_is_a_clear_error(recipe_factory, tmp_path: Path) -> None:
    from dfkd.teachers import TeacherLoadError

    torch.save(_flat().state_dict(), tmp_path / "flat.pt")  # bare weights of a user model without BatchNorm
    teacher = {
        "checkpoint": str(tmp_path / "flat.pt"),
        "arch": "tests.distill.test_job:_flat",
        "mean": [0.5] * 3,
        "std": [0.25] * 3,
    }
    recipe = recipe_factory(teacher=teacher, loss={"priors": {"bn": 1.0}})
    with pytest.raises(TeacherLoadError, match=r"flat.pt: the teacher has no BatchNorm layers .*loss.priors.bn=0"):
        run_distill(str(recipe))
    assert not (tmp_path / "runs" / "tiny").exists()  # stopped before anything was written

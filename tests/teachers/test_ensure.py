"""Getting a job's teacher: a directory is an error (never a reason to train one), and the teacher must fit the
data it meets."""

from __future__ import annotations

from pathlib import Path

import pytest

from dfkd.data.datasets import dataset_spec
from dfkd.distill.config import TeacherSection
from dfkd.teachers import TeacherInfo, TeacherLoadError
from dfkd.teachers.ensure import ensure_teacher, match_input_size


def test_a_directory_as_teacher_checkpoint_is_an_error_not_a_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("a teacher was trained for a directory")

    monkeypatch.setattr("dfkd.teachers.ensure.train_teacher", no_training)
    folder = tmp_path / "teachers"
    folder.mkdir()
    with pytest.raises(TeacherLoadError, match=r"teachers: teacher.checkpoint is a directory; expected a teacher file"):
        ensure_teacher(TeacherSection(checkpoint=str(folder), train_if_missing=True))
    assert list(folder.iterdir()) == []


def test_distill_job_still_offers_ensure_teacher() -> None:
    from dfkd.distill import job

    assert job.ensure_teacher is ensure_teacher


def test_recorded_input_size_must_match_the_data() -> None:
    shapes = dataset_spec("shapes")  # 3x32x32
    info = TeacherInfo("simple_cnn", 10, (3, 32, 32), None, None)
    assert match_input_size(info, shapes, "t.pt") is info
    with pytest.raises(
        TeacherLoadError,
        match=r"t.pt: the teacher takes 1x28x28 inputs .* shapes are 3x32x32 "
        r"\(data.name\)",
    ):
        match_input_size(TeacherInfo("simple_cnn", 10, (1, 28, 28), None, None), shapes, "t.pt")
    with pytest.raises(TeacherLoadError, match="3x64x64 inputs"):
        match_input_size(TeacherInfo("simple_cnn", 10, (3, 64, 64), None, None), shapes, "t.pt")


def test_bare_weights_take_the_datas_input_size() -> None:
    info = TeacherInfo("simple_cnn", 10, None, None, None)
    assert match_input_size(info, dataset_spec("shapes", image_size=16), "w.pt").input_size == (3, 16, 16)


def test_distill_refuses_a_teacher_of_another_input_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dfkd.distill.job import run_distill
    from dfkd.models import create_model
    from dfkd.teachers import save_teacher
    from tests.distill.conftest import tiny_recipe

    monkeypatch.setenv("DFKD_NO_PROGRESS", "1")
    model = create_model("simple_cnn", num_classes=10, width=4, depth=2)
    save_teacher(
        tmp_path / "teacher.pt",
        model,
        TeacherInfo("simple_cnn", 10, (3, 64, 64), None, None, arch_kwargs={"width": 4, "depth": 2}),
    )
    with pytest.raises(TeacherLoadError, match=r"teacher.pt: the teacher takes 3x64x64 inputs"):
        run_distill(str(tiny_recipe(tmp_path)))
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("mean", "std", "message"),
    [
        ((0.5, 0.5), (0.2, 0.2, 0.2), r"mean has 2 value\(s\) for 3-channel inputs \(teacher.mean\)"),
        ((0.5, 0.5, 0.5), (0.2, 0.0, 0.2), r"std must be finite numbers > 0 \(teacher.std\)"),
        ((0.5, float("nan"), 0.5), (0.2, 0.2, 0.2), r"mean must be finite numbers \(teacher.mean\)"),
    ],
)
def test_the_input_normalisation_must_fit_the_channels_and_be_finite(
    mean: tuple[float, ...], std: tuple[float, ...], message: str
) -> None:
    info = TeacherInfo("simple_cnn", 10, (3, 32, 32), mean, std)
    with pytest.raises(TeacherLoadError, match=message):
        match_input_size(info, dataset_spec("shapes"), "t.pt")

"""``dfkd eval``: its errors name its own flags, --mean/--std/--arch-kwargs, image folders of any image size.

Tiny image folders stand in for datasets (building the generated ``shapes`` split takes seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from dfkd.cli import main
from dfkd.data.shapes import SHAPES_MEAN, SHAPES_STD
from dfkd.evaluation import evaluate_checkpoint
from dfkd.models import create_model
from dfkd.teachers import TeacherInfo, save_teacher

KWARGS = {"width": 4, "depth": 2}


def _model(num_classes: int = 10) -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model("simple_cnn", num_classes=num_classes, **KWARGS)


def _teacher(path: Path, input_size: tuple[int, int, int] = (3, 32, 32), num_classes: int = 10) -> Path:
    info = TeacherInfo("simple_cnn", num_classes, input_size, SHAPES_MEAN, SHAPES_STD, arch_kwargs=KWARGS)
    save_teacher(path, _model(num_classes), info)
    return path


def _folder(root: Path, sizes: list[tuple[int, int]]) -> Path:
    for index, size in enumerate(sizes):
        directory = root / "test" / f"class{index % 10}"
        directory.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", size, (20 * index, 100, 200)).save(directory / f"{index}.png")
    return root


def _error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("dfkd eval: error: ") and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    return err


def test_errors_name_the_commands_flags_not_recipe_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = str(_folder(tmp_path / "photos", [(32, 32)] * 10))
    torch.save(_model().state_dict(), tmp_path / "bare.pt")
    err = _error(capsys, ["eval", str(tmp_path / "bare.pt"), "--data", data])
    assert "give it with --arch" in err and "teacher." not in err
    err = _error(capsys, ["eval", str(tmp_path / "bare.pt"), "--data", data, "--arch", "simple_cnn"])
    assert "--arch-kwargs" in err and "teacher." not in err  # default width: the layers' sizes differ
    teacher = _teacher(tmp_path / "t.pt")
    err = _error(capsys, ["eval", str(teacher), "--data", data, "--std", "1", "1", "1"])
    assert "--std=[1.0, 1.0, 1.0] but the file records" in err and "teacher." not in err
    grey = TeacherInfo("simple_cnn", 10, (1, 32, 32), (0.5,), (0.25,), arch_kwargs={**KWARGS, "in_chans": 1})
    save_teacher(tmp_path / "grey.pt", create_model("simple_cnn", num_classes=10, in_chans=1, **KWARGS), grey)
    err = _error(capsys, ["eval", str(tmp_path / "grey.pt"), "--data", data])
    assert "takes 1x32x32 inputs" in err and "are 3x32x32 (--data)" in err
    err = _error(capsys, ["eval", str(_teacher(tmp_path / "c5.pt", num_classes=5)), "--data", data])
    assert "number of classes mismatch: 10 expected (--data), the checkpoint has 5" in err
    err = _error(capsys, ["eval", str(tmp_path), "--data", data])
    assert "is a directory" in err
    err = _error(capsys, ["eval", str(teacher), "--data", "nope"])
    assert "unknown dataset 'nope'" in err


def test_bare_weights_with_flags_and_the_normalisation_note(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = str(_folder(tmp_path / "photos", [(32, 32)] * 10))
    torch.save(_model().state_dict(), tmp_path / "bare.pt")
    argv = [
        "eval",
        str(tmp_path / "bare.pt"),
        "--data",
        data,
        "--arch",
        "simple_cnn",
        "--arch-kwargs",
        "{width: 4, depth: 2}",
    ]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "top-1 accuracy" in captured.out
    assert f"does not record its input mean / std: using {data}'s (pass --mean / --std" in captured.err
    assert main([*argv, "--mean", "0.5", "0.5", "0.5", "--std", "0.25", "0.25", "0.25"]) == 0
    assert "note" not in capsys.readouterr().err
    result = evaluate_checkpoint(
        str(tmp_path / "bare.pt"), data, arch="simple_cnn", arch_kwargs=KWARGS, mean=(0.5,) * 3, std=(0.25,) * 3
    )
    assert result.info.mean == (0.5,) * 3 and result.info.std == (0.25,) * 3 and result.from_dataset == ()
    assert result.info.input_size == (3, 32, 32)  # bare weights: the data's
    recorded = evaluate_checkpoint(str(_teacher(tmp_path / "t.pt")), data)
    assert recorded.info.mean == SHAPES_MEAN and recorded.from_dataset == ()


def test_bad_arch_kwargs_are_an_argument_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["eval", "t.pt", "--data", "shapes", "--arch-kwargs", "[1, 2]"])
    assert "--arch-kwargs: expected a mapping" in capsys.readouterr().err


def test_an_image_folder_of_mixed_sizes_is_resized_to_the_checkpoints_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _folder(tmp_path / "photos", [(48, 48), (64, 40), (20, 30)] + [(32, 32)] * 7)
    teacher = _teacher(tmp_path / "t.pt")
    assert main(["eval", str(teacher), "--data", str(folder)]) == 0
    assert "on 10 " in capsys.readouterr().out
    (folder / "test" / "class1" / "1.png").write_bytes(b"garbage")
    err = _error(capsys, ["eval", str(teacher), "--data", str(folder)])
    assert str(folder / "test" / "class1" / "1.png") in err and "corrupt or truncated" in err

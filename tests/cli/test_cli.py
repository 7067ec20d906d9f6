"""The command line: parses, calls the library, prints user errors without a traceback."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from dfkd.cli import COMMANDS, main
from tests.distill.conftest import tiny_recipe, write_tiny_teacher


def test_every_subcommand_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    for command in COMMANDS:
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0
    assert "distill" in capsys.readouterr().out


def test_audit_json_has_the_documented_keys(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["audit", "--losses", "hinge,kd/adversarial", "--json"])
    rows = json.loads(capsys.readouterr().out)
    assert code == 0
    keys = {"loss", "critic", "dtype", "rel_err_critic", "rel_err_generator", "exact_expected"}
    assert all(keys <= set(row) for row in rows)
    assert {(r["loss"], r["critic"]) for r in rows} == {
        ("hinge", "gn"),
        ("hinge", "bn"),
        ("kd/adversarial", "student-gn"),
        ("kd/adversarial", "student-bn"),
    }
    hinge_gn = next(r for r in rows if (r["loss"], r["critic"]) == ("hinge", "gn"))
    hinge_bn = next(r for r in rows if (r["loss"], r["critic"]) == ("hinge", "bn"))
    assert hinge_gn["exact_expected"] and max(hinge_gn["rel_err_critic"], hinge_gn["rel_err_generator"]) <= 1e-10
    assert not hinge_bn["exact_expected"] and hinge_bn["rel_err_generator"] > 1e-3


def test_audit_table_and_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--losses", "wgan", "--critics", "gn"]) == 0
    assert "PASS" in capsys.readouterr().out
    assert main(["audit", "--losses", "nope"]) == 2
    assert "unknown loss" in capsys.readouterr().err


def test_distill_then_eval_the_exported_student(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DFKD_NO_PROGRESS", "1")
    recipe = tiny_recipe(tmp_path, steps=2)
    assert main(["distill", str(recipe), "batch_size=4"]) == 0
    out = capsys.readouterr().out
    assert "teacher" in out and "student, onestage" in out and "run directory" in out
    student = tmp_path / "runs" / "tiny" / "student_last.pt"
    assert main(["eval", str(student), "--data", "shapes", "--max-items", "32"]) == 0
    assert "top-1 accuracy" in capsys.readouterr().out


def test_user_errors_exit_2_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recipe = tiny_recipe(tmp_path)
    assert main(["distill", str(recipe), "stepz=3"]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'steps'" in err and "Traceback" not in err
    assert main(["distill", str(recipe), "data.name=cifar10", f"data.root={tmp_path / 'none'}"]) == 2
    assert "data.download=true" in capsys.readouterr().err
    write_tiny_teacher(tmp_path / "bare.pt")
    assert main(["eval", str(tmp_path / "bare.pt"), "--data", "cifar10", "--root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "pass --download" in err and "data.download" not in err  # eval names its own options


def run_cli(argv: list[str]) -> int:
    """``main(argv)``'s exit status, also when argparse exits."""
    try:
        return main(argv)
    except SystemExit as exit_info:
        return int(exit_info.code or 0)


def one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run the command, assert exit status 2 and exactly one line on stderr without a traceback; return it."""
    code = run_cli(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize(
    ("overrides", "fragments"),
    [
        (["data.name=nope"], ["key 'data.name'", "one of cifar10"]),
        (["student.arch=nope"], ["key 'student.arch'", "a dfkd model"]),
        (["loss.objective=nope"], ["key 'loss.objective'", "adversarial"]),
        (["student.optimizer.weight_decay=-1"], ["key 'student.optimizer.weight_decay'", ">= 0"]),
        (["student.optimizer.name=adam", "student.optimizer.betas=[2,2]"], ["betas[0]'", "betas[1]'", "< 1"]),
        (["student.kwargs.width=abc"], ["key 'student.kwargs.width'", "an integer"]),
        (["student.kwargs.width=0"], ["simple_cnn", "width", "must be positive"]),  # the constructor refuses it
        (["logging.max_wall_s=-1"], ["key 'logging.max_wall_s'", "> 0"]),
        ([f"run.seed={2**70}"], ["key 'run.seed'", "64 bits"]),
        (["loss.attention_beta=1"], ["method=onestage", "loss.attention_beta"]),
        (["loss.objective=log_adversarial", "loss.priors.bn=1"], ["method=onestage", "asymmetric", "loss.priors"]),
        (["steps=true"], ["key 'steps'", "an integer, got True"]),
        (["data.max_items=0"], ["key 'data.max_items'", ">= 1"]),
        (["student.optimizer.lr=.inf"], ["key 'student.optimizer.lr'", "finite"]),
        (["loss.discrepancy=kl", "loss.temperature=1e-6"], ["key 'loss.temperature'"]),
        (["run.device=cuda"], ["run.device='cuda'", "CUDA is not available", "run.device=cpu"]),
        (["run.device=cuda:7"], ["run.device='cuda:7'"]),
    ],
)
def test_recipe_mistakes_are_one_line_and_leave_no_run_directory(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    overrides: list[str],
    fragments: list[str],
) -> None:
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)  # the same answer on a GPU machine
    recipe = tiny_recipe(tmp_path, steps=1)
    line = one_line_error(capsys, ["distill", str(recipe), *overrides])
    assert line.startswith("dfkd distill: error: ")
    for fragment in fragments:
        assert fragment in line
    assert not (tmp_path / "runs").exists()


def test_argument_mistakes_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    line = one_line_error(capsys, ["audit", "--batch-size", "0"])
    assert line.startswith("dfkd audit: error: argument --batch-size: expected an integer >= 1, got '0'")
    assert "--n" in one_line_error(capsys, ["sample", "x.pt", "--n", "-3"])
    recipe = tiny_recipe(tmp_path)
    assert "--resume" in one_line_error(capsys, ["distill", str(recipe), "--resume", str(tmp_path)])
    assert "give a recipe" in one_line_error(capsys, ["gan"])
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    assert "--device='cuda' but CUDA is not available" in one_line_error(capsys, ["sample", "x.pt", "--device", "cuda"])


def test_paths_under_a_regular_file_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    recipe = tiny_recipe(tmp_path, steps=1)
    line = one_line_error(capsys, ["distill", str(recipe), f"run.root={blocker / 'runs'}"])
    assert f"run.root={blocker / 'runs'}" in line and f"{blocker} is a file, not a directory" in line
    line = one_line_error(capsys, ["sample", str(tmp_path / "missing.pt"), "--out", str(blocker / "grid.png")])
    assert f"--out {blocker / 'grid.png'}" in line and "is a file, not a directory" in line


@pytest.mark.parametrize(
    ("error", "phrase"),
    [
        (errno.EROFS, "read-only file system"),
        (errno.ENOSPC, "no space left on device"),
        (errno.ENOTDIR, "a part of this path is a file, not a directory"),
    ],
)
def test_file_system_errors_while_writing_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, error: int, phrase: str
) -> None:
    def refuse(cfg: object, path: object) -> None:
        raise OSError(error, os.strerror(error), str(path))

    monkeypatch.setattr("dfkd.runs.launch.dump_recipe", refuse)
    recipe = tiny_recipe(tmp_path, steps=1)
    line = one_line_error(capsys, ["distill", str(recipe)])
    assert str(tmp_path / "runs" / "tiny" / "recipe.yaml") in line and phrase in line


def test_a_read_only_run_root_is_refused_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_statvfs = os.statvfs

    class ReadOnly:
        def __init__(self, path: object) -> None:
            self.f_flag = real_statvfs(path).f_flag | os.ST_RDONLY  # type: ignore[arg-type]

    monkeypatch.setattr(os, "statvfs", ReadOnly)
    recipe = tiny_recipe(tmp_path, steps=1)
    line = one_line_error(capsys, ["distill", str(recipe)])
    assert "run.root=" in line and "read-only file system" in line
    assert not (tmp_path / "runs").exists()


def test_gan_recipe_mistakes_leave_no_run_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.gan.conftest import TINY
    from tests.gan.helpers import recipe_path

    base = ["gan", str(recipe_path("dcgan-asym", "one")), *TINY, f"run.root={tmp_path}"]
    line = one_line_error(capsys, [*base, "model.norm=bn", "engine.coupling=error"])
    assert "engine.coupling=error refuses train.stage=one" in line
    assert "data.name" in one_line_error(capsys, [*base, "data.name=nope"])
    line = one_line_error(capsys, [*base, f"data.name={tmp_path / 'no-such-folder'}"])
    assert "no-such-folder" in line
    assert not any(tmp_path.iterdir())


def test_which_errors_are_one_line() -> None:
    from dfkd.cli._errors import user_error_line
    from dfkd.config.load import RecipeError

    assert user_error_line(RecipeError("a.yaml: key 'x': expected 1\nb.yaml: key 'y'")) == (
        "a.yaml: key 'x': expected 1; b.yaml: key 'y'"
    )
    assert user_error_line(OSError(errno.EROFS, "Read-only file system", "/mnt/runs/x")) == (
        "cannot write /mnt/runs/x: read-only file system"
    )
    assert user_error_line(OSError(errno.ENOSPC, "No space left on device")) == "cannot write: no space left on device"
    denied = PermissionError(errno.EACCES, "Permission denied", "/root/x")
    assert user_error_line(denied) == "/root/x: permission denied"
    assert user_error_line(OSError(errno.EIO, "Input/output error", "/dev/x")) is None  # not the user's to fix
    assert user_error_line(ValueError("a bug")) is None and user_error_line(KeyError("k")) is None

"""The command line: parses, calls the library, prints user errors without a traceback."""
from __future__ import annotations

import json
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
        ("hinge", "gn"), ("hinge", "bn"), ("kd/adversarial", "student-gn"), ("kd/adversarial", "student-bn")
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


def test_distill_then_eval_the_exported_student(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
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

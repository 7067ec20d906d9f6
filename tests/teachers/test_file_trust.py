"""Nothing a checkpoint names is ever imported or called: architectures recorded in files must be registered
model names, a file's keyword arguments reach only registered builders, pickled globals are refused."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import torch

from dfkd.cli import main
from dfkd.models import create_model
from dfkd.runs.checkpoint import CheckpointError
from dfkd.teachers import FORMAT, TeacherInfo, TeacherLoadError, TeacherRequest, load_teacher, save_teacher
from tests.teachers.user_models import tiny_net


def _marker_command(marker: Path) -> str:
    return f"touch {marker}"


# (recorded architecture, recorded keyword arguments) that would run a command if called
def _hostile(marker: Path) -> list[tuple[str, dict[str, object]]]:
    command = _marker_command(marker)
    return [
        ("os:system", {"command": command}),
        ("posix:system", {"command": command}),
        ("subprocess:getoutput", {"cmd": command}),
        ("subprocess:check_call", {"args": ["touch", str(marker)]}),
        ("subprocess:Popen", {"args": ["touch", str(marker)]}),
        ("builtins:exec", {"source": f"open({str(marker)!r}, 'w')"}),
    ]


def _write_hostile_file(path: Path, arch: str, kwargs: dict[str, object]) -> Path:
    model = tiny_net(num_classes=5)
    save_teacher(path, model, TeacherInfo(arch, 5, (3, 32, 32), None, None, arch_kwargs=kwargs))
    return path


@pytest.mark.parametrize("case", range(6))
def test_a_callable_recorded_in_a_file_is_never_called(
    tmp_path: Path, case: int, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = tmp_path / "MARKER"
    arch, kwargs = _hostile(marker)[case]
    file = _write_hostile_file(tmp_path / "evil.pt", arch, kwargs)
    with pytest.raises(TeacherLoadError, match=rf"refused: the file records the architecture '{arch}'.*teacher.arch"):
        load_teacher(TeacherRequest(str(file)))
    assert main(["eval", str(file), "--data", "shapes", "--max-items", "8"]) == 2
    err = capsys.readouterr().err
    assert "refused" in err and "--arch" in err and "teacher.arch" not in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not marker.exists()


def test_distill_refuses_a_file_naming_a_callable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dfkd.distill.job import run_distill
    from tests.distill.conftest import tiny_recipe

    monkeypatch.setenv("DFKD_NO_PROGRESS", "1")
    marker = tmp_path / "MARKER"
    _write_hostile_file(tmp_path / "teacher.pt", "os:system", {"command": _marker_command(marker)})
    with pytest.raises(TeacherLoadError, match="refused"):
        run_distill(str(tiny_recipe(tmp_path)))
    assert not marker.exists()


def test_a_users_own_callable_is_imported_only_when_the_user_names_it(tmp_path: Path) -> None:
    model = tiny_net(num_classes=5)
    info = TeacherInfo("tests.teachers.user_models:tiny_net", 5, (3, 32, 32), None, None)
    save_teacher(tmp_path / "user.pt", model, info)
    with pytest.raises(TeacherLoadError, match="refused"):
        load_teacher(TeacherRequest(str(tmp_path / "user.pt")))
    loaded, got = load_teacher(TeacherRequest(str(tmp_path / "user.pt"), arch="tests.teachers.user_models:tiny_net"))
    assert got.arch == "tests.teachers.user_models:tiny_net"
    x = torch.randn(2, 3, 32, 32)
    assert torch.allclose(model.eval()(x), loaded(x))


def test_a_files_kwargs_never_reach_a_callable_the_user_names(tmp_path: Path) -> None:
    marker = tmp_path / "MARKER"
    file = _write_hostile_file(tmp_path / "evil.pt", "os:system", {"command": _marker_command(marker)})
    # the user names another callable: the recorded one differs, nothing is called
    with pytest.raises(TeacherLoadError, match="architecture mismatch"):
        load_teacher(TeacherRequest(str(file), arch="tests.teachers.user_models:tiny_net"))
    # a file recording the user's callable with keyword arguments: they must come from the user
    save_teacher(
        tmp_path / "kw.pt",
        tiny_net(num_classes=5),
        TeacherInfo("tests.teachers.user_models:tiny_net", 5, (3, 32, 32), None, None, arch_kwargs={"num_classes": 5}),
    )
    with pytest.raises(TeacherLoadError, match=r"keyword arguments read from a file .*teacher.arch_kwargs"):
        load_teacher(TeacherRequest(str(tmp_path / "kw.pt"), arch="tests.teachers.user_models:tiny_net"))
    _, info = load_teacher(
        TeacherRequest(
            str(tmp_path / "kw.pt"), arch="tests.teachers.user_models:tiny_net", arch_kwargs={"num_classes": 5}
        )
    )
    assert info.arch_kwargs == {"num_classes": 5}
    assert not marker.exists()


@pytest.mark.parametrize(
    "loader",
    [{"pretrained": True}, {"checkpoint_path": "elsewhere.pt"}, {"pretrained_cfg_overlay": {"file": "elsewhere.pt"}}],
)
def test_a_files_kwargs_cannot_make_timm_fetch_or_read_weights(tmp_path: Path, loader: dict[str, object]) -> None:
    torch.manual_seed(0)
    model = create_model("resnet10t", num_classes=3)
    save_teacher(tmp_path / "t.pt", model, TeacherInfo("resnet10t", 3, (3, 32, 32), None, None, arch_kwargs=loader))
    with pytest.raises(TeacherLoadError, match=rf"refused: the file's arch_kwargs set \['{next(iter(loader))}'\]"):
        load_teacher(TeacherRequest(str(tmp_path / "t.pt")))


def test_registered_names_with_recorded_kwargs_still_load(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = create_model("simple_cnn", num_classes=10, width=4, depth=2)
    info = TeacherInfo("simple_cnn", 10, (3, 32, 32), None, None, arch_kwargs={"width": 4, "depth": 2})
    # dfkd itself never writes such a file (save_checkpoint refuses non-finite values): one from elsewhere
    torch.save({"format": FORMAT, "info": info.to_dict(), "state_dict": model.state_dict()}, tmp_path / "t.pt")
    _, info = load_teacher(TeacherRequest(str(tmp_path / "t.pt")))
    assert info.arch == "simple_cnn" and info.arch_kwargs == {"width": 4, "depth": 2}


class _Reduces:
    """Pickles as a call of ``target(*args)``: what a hostile checkpoint holds."""

    def __init__(self, target: object, *args: object) -> None:
        self.target, self.args = target, args

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return self.target, self.args


# pickle protocol 2 writes subprocess.getoutput under its Python 2 name, commands.getoutput
@pytest.mark.parametrize(
    ("target", "name"), [(os.system, f"{os.name}.system"), (subprocess.getoutput, "(subprocess|commands).getoutput")]
)
def test_a_pickled_global_is_refused_and_named(tmp_path: Path, target: object, name: str) -> None:
    marker = tmp_path / "MARKER"
    weights = {"w": torch.zeros(2)}
    torch.save({"state_dict": weights, "payload": _Reduces(target, _marker_command(marker))}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match=rf"evil.pt: refused to load: it contains the Python object {name}\b"):
        load_teacher(TeacherRequest(str(tmp_path / "evil.pt"), arch="simple_cnn"))
    assert not marker.exists()


def test_a_teacher_file_without_info_or_with_bad_info_is_one_clean_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    weights = tiny_net(num_classes=5).state_dict()
    torch.save({"format": FORMAT, "state_dict": weights}, tmp_path / "noinfo.pt")
    with pytest.raises(TeacherLoadError, match="noinfo.pt: .*without its 'info'"):
        load_teacher(TeacherRequest(str(tmp_path / "noinfo.pt")))
    assert main(["eval", str(tmp_path / "noinfo.pt"), "--data", "shapes"]) == 2
    err = capsys.readouterr().err
    assert "'info'" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    bad = {"arch": "simple_cnn", "num_classes": 5, "input_size": "large"}
    torch.save({"format": FORMAT, "info": bad, "state_dict": weights}, tmp_path / "bad.pt")
    with pytest.raises(TeacherLoadError, match=r"bad.pt: info.input_size: expected \[channels, height, width\]"):
        load_teacher(TeacherRequest(str(tmp_path / "bad.pt")))
    torch.save({"format": FORMAT, "info": {"num_classes": 5}, "state_dict": weights}, tmp_path / "noarch.pt")
    with pytest.raises(TeacherLoadError, match=r"noarch.pt: info.arch is missing"):
        load_teacher(TeacherRequest(str(tmp_path / "noarch.pt")))


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_weights_are_refused(tmp_path: Path, value: float) -> None:
    torch.manual_seed(0)
    model = create_model("simple_cnn", num_classes=10, width=4, depth=2)
    with torch.no_grad():
        next(iter(model.parameters()))[0].fill_(value)
    info = TeacherInfo("simple_cnn", 10, (3, 32, 32), None, None, arch_kwargs={"width": 4, "depth": 2})
    # dfkd itself never writes such a file (save_checkpoint refuses non-finite values): one from elsewhere
    torch.save({"format": FORMAT, "info": info.to_dict(), "state_dict": model.state_dict()}, tmp_path / "t.pt")
    with pytest.raises(TeacherLoadError, match=r"t.pt: refused: 1 weight tensor\(s\) hold NaN or infinite"):
        load_teacher(TeacherRequest(str(tmp_path / "t.pt")))
    torch.save(model.state_dict(), tmp_path / "bare.pt")
    with pytest.raises(TeacherLoadError, match="NaN or infinite"):
        load_teacher(TeacherRequest(str(tmp_path / "bare.pt"), arch="simple_cnn", arch_kwargs={"width": 4, "depth": 2}))

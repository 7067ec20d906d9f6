"""Teacher loading from what users actually have, and the errors when it does not fit."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import timm
import torch

from dfkd.models import create_model
from dfkd.runs.checkpoint import CheckpointError
from dfkd.teachers import FORMAT, TeacherInfo, TeacherLoadError, TeacherRequest, load_teacher, save_teacher
from tests.teachers.user_models import tiny_net

SIMPLE_KWARGS = {"width": 4, "depth": 2}


def _simple(num_classes: int = 10) -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model("simple_cnn", num_classes=num_classes, **SIMPLE_KWARGS)


def _same_outputs(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    x = torch.randn(2, 3, 32, 32)
    a.eval()
    b.eval()
    with torch.no_grad():
        return torch.allclose(a(x), b(x))


def test_dfkd_teacher_file_records_everything(tmp_path: Path) -> None:
    model = _simple()
    info = TeacherInfo("simple_cnn", 10, (3, 32, 32), (0.5,) * 3, (0.25,) * 3, 0.93, "shapes", {"width": 4, "depth": 2})
    saved = save_teacher(tmp_path / "t.pt", model, info)
    raw = torch.load(tmp_path / "t.pt", weights_only=True)
    assert raw["format"] == FORMAT and saved.sha256 and raw["info"]["sha256"] == saved.sha256
    loaded, got = load_teacher(TeacherRequest(str(tmp_path / "t.pt")))
    assert got.arch == "simple_cnn" and got.num_classes == 10 and got.accuracy == 0.93
    assert got.mean == (0.5,) * 3 and got.input_size == (3, 32, 32) and not loaded.training
    assert _same_outputs(model, loaded)


def test_recorded_normalisation_wins_and_a_conflicting_recipe_value_is_an_error(tmp_path: Path) -> None:
    info = TeacherInfo("simple_cnn", 10, (3, 32, 32), (0.5,) * 3, (0.25,) * 3, None, "shapes", {"width": 4, "depth": 2})
    save_teacher(tmp_path / "t.pt", _simple(), info)
    _, same = load_teacher(TeacherRequest(str(tmp_path / "t.pt"), mean=(0.5,) * 3))
    assert same.mean == (0.5,) * 3 and same.std == (0.25,) * 3
    with pytest.raises(TeacherLoadError, match=r"t.pt: input normalisation mismatch: .*teacher.std=\[1.0, 1.0, 1.0\]"):
        load_teacher(TeacherRequest(str(tmp_path / "t.pt"), std=(1.0,) * 3))
    torch.save(_simple().state_dict(), tmp_path / "w.pt")  # bare weights record nothing: the recipe's value is used
    _, bare = load_teacher(
        TeacherRequest(
            str(tmp_path / "w.pt"), arch="simple_cnn", arch_kwargs=SIMPLE_KWARGS, mean=(0.1,) * 3, std=(0.2,) * 3
        )
    )
    assert bare.mean == (0.1,) * 3 and bare.std == (0.2,) * 3


@pytest.mark.parametrize("wrap", ["bare", "state_dict", "model", "module_prefix", "compiled_prefix"])
def test_bare_and_wrapped_state_dicts(tmp_path: Path, wrap: str) -> None:
    model = _simple()
    weights = model.state_dict()
    stored = {
        "bare": weights,
        "state_dict": {"state_dict": weights, "epoch": 3},
        "model": {"model": weights},
        "module_prefix": {"state_dict": {f"module.{k}": v for k, v in weights.items()}},
        "compiled_prefix": {f"_orig_mod.module.{k}": v for k, v in weights.items()},
    }[wrap]
    torch.save(stored, tmp_path / "w.pt")
    loaded, info = load_teacher(TeacherRequest(str(tmp_path / "w.pt"), arch="simple_cnn", arch_kwargs=SIMPLE_KWARGS))
    assert info.num_classes == 10 and info.mean is None  # not recorded: the caller supplies it
    assert _same_outputs(model, loaded)


def test_any_timm_model_name(tmp_path: Path) -> None:
    model = timm.create_model("resnet10t", num_classes=7)
    torch.save(model.state_dict(), tmp_path / "timm.pt")
    loaded, info = load_teacher(TeacherRequest(str(tmp_path / "timm.pt"), arch="resnet10t"))
    assert info.num_classes == 7  # inferred from the classifier weights
    assert _same_outputs(model, loaded)


def test_user_model_as_package_module_callable(tmp_path: Path) -> None:
    model = tiny_net(num_classes=5)
    torch.save({"state_dict": model.state_dict()}, tmp_path / "user.pt")
    loaded, info = load_teacher(TeacherRequest(str(tmp_path / "user.pt"), arch="tests.teachers.user_models:tiny_net"))
    assert info.num_classes == 5 and _same_outputs(model, loaded)
    with pytest.raises(TeacherLoadError, match="cannot import"):
        load_teacher(TeacherRequest(str(tmp_path / "user.pt"), arch="tests.teachers.user_models:absent"))
    with pytest.raises(TeacherLoadError, match="'not_installed_pkg'.*must be installed or on PYTHONPATH"):
        load_teacher(TeacherRequest(str(tmp_path / "user.pt"), arch="not_installed_pkg.models:net"))
    with pytest.raises(TeacherLoadError, match="not callable"):
        load_teacher(TeacherRequest(str(tmp_path / "user.pt"), arch="tests.teachers.user_models:NOT_CALLABLE"))


def test_class_mismatch_says_expected_and_found(tmp_path: Path) -> None:
    torch.save(_simple(num_classes=100).state_dict(), tmp_path / "c100.pt")
    request = TeacherRequest(str(tmp_path / "c100.pt"), arch="simple_cnn", arch_kwargs=SIMPLE_KWARGS, num_classes=10)
    with pytest.raises(TeacherLoadError, match=r"10 expected \(teacher.num_classes\), the checkpoint has 100"):
        load_teacher(request)


def test_architecture_mismatch_lists_keys_and_shapes(tmp_path: Path) -> None:
    torch.save(_simple().state_dict(), tmp_path / "w.pt")
    with pytest.raises(TeacherLoadError, match=r"do not fit architecture 'cifar_resnet18'.*missing key.*unexpected"):
        load_teacher(TeacherRequest(str(tmp_path / "w.pt"), arch="cifar_resnet18"))
    with pytest.raises(TeacherLoadError, match="without an architecture; give it with teacher.arch"):
        load_teacher(TeacherRequest(str(tmp_path / "w.pt")))
    info = TeacherInfo("simple_cnn", 10, (3, 32, 32), None, None, arch_kwargs={"width": 4, "depth": 2})
    save_teacher(tmp_path / "t.pt", _simple(), info)
    with pytest.raises(TeacherLoadError, match="architecture mismatch"):
        load_teacher(TeacherRequest(str(tmp_path / "t.pt"), arch="cifar_resnet34"))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_missing_corrupt_and_unsafe_files(tmp_path: Path) -> None:
    with pytest.raises(TeacherLoadError, match="not found"):
        load_teacher(TeacherRequest(str(tmp_path / "absent.pt")))
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="junk.pt"):
        load_teacher(TeacherRequest(str(tmp_path / "junk.pt"), arch="simple_cnn"))
    with open(tmp_path / "evil.pt", "wb") as handle:
        pickle.dump({"state_dict": Path("/etc/passwd")}, handle)  # an arbitrary object: never unpickled
    with pytest.raises(CheckpointError, match="refused|corrupt"):
        load_teacher(TeacherRequest(str(tmp_path / "evil.pt"), arch="simple_cnn"))


def test_tampered_weights_fail_the_sha256_check(tmp_path: Path) -> None:
    info = TeacherInfo("simple_cnn", 10, (3, 32, 32), None, None, arch_kwargs={"width": 4, "depth": 2})
    save_teacher(tmp_path / "t.pt", _simple(), info)
    raw = torch.load(tmp_path / "t.pt", weights_only=True)
    first = next(iter(raw["state_dict"]))
    raw["state_dict"][first] = raw["state_dict"][first] + 1
    torch.save(raw, tmp_path / "t.pt")
    with pytest.raises(TeacherLoadError, match="sha256"):
        load_teacher(TeacherRequest(str(tmp_path / "t.pt")))


def test_a_right_architecture_with_other_sizes_is_not_told_to_change_the_architecture(tmp_path: Path) -> None:
    torch.save(create_model("simple_cnn", num_classes=10, width=8, depth=2).state_dict(), tmp_path / "w.pt")
    with pytest.raises(
        TeacherLoadError,
        match=r"shape mismatch.*layers are those of 'simple_cnn' with other sizes.*"
        r"teacher.arch_kwargs",
    ) as info:
        load_teacher(TeacherRequest(str(tmp_path / "w.pt"), arch="simple_cnn", arch_kwargs={"width": 4, "depth": 2}))
    assert "another architecture" not in str(info.value)


def test_a_directory_is_not_a_teacher_file(tmp_path: Path) -> None:
    with pytest.raises(TeacherLoadError, match="is a directory; expected a teacher file"):
        load_teacher(TeacherRequest(str(tmp_path)))

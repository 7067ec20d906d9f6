"""TeacherInfo.from_dict: a file's ``info`` parsed into typed fields, one ValueError naming the key otherwise."""

from __future__ import annotations

import pytest
import torch

from dfkd.teachers import TeacherInfo

GOOD = {"arch": "simple_cnn", "num_classes": 10, "input_size": [3, 32, 32], "mean": [0.5] * 3, "std": [0.25] * 3}


def test_round_trip_through_to_dict() -> None:
    info = TeacherInfo("simple_cnn", 10, (3, 32, 32), (0.5,) * 3, (0.25,) * 3, accuracy=0.9, arch_kwargs={"width": 4})
    assert TeacherInfo.from_dict(info.to_dict()) == info


def test_values_are_converted_to_their_types() -> None:
    info = TeacherInfo.from_dict({**GOOD, "input_size": torch.Size([1, 28, 28]), "num_classes": torch.tensor(10)})
    assert info.input_size == (1, 28, 28) and type(info.input_size[0]) is int
    assert info.num_classes == 10 and type(info.num_classes) is int
    assert info.mean == (0.5, 0.5, 0.5) and info.accuracy is None and info.arch_kwargs == {}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"num_classes": None}, r"info.num_classes is missing \(expected a number of classes\)"),
        ({"arch": 3}, r"info.arch: expected a model name, got 3"),
        ({"input_size": [3, 32]}, r"info.input_size: expected \[channels, height, width\]"),
        ({"input_size": "332"}, r"info.input_size: expected \[channels, height, width\], got '332'"),
        ({"mean": "0.5"}, r"info.mean: expected a list of per-channel means, got '0.5'"),
        ({"std": [0.2, None, 0.2]}, r"info.std: expected a list of per-channel standard deviations"),
        ({"accuracy": [0.9]}, r"info.accuracy: expected a number, got \[0.9\]"),
        ({"arch_kwargs": [1]}, r"info.arch_kwargs: expected a mapping of keyword arguments"),
    ],
)
def test_a_malformed_value_names_its_key(change: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TeacherInfo.from_dict({**GOOD, **change})


def test_weights_sha256_and_saved_files_do_not_depend_on_the_memory_layout(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from dfkd.models import create_model
    from dfkd.teachers.record import save_teacher, weights_sha256

    model = create_model("simple_cnn", num_classes=10, width=4, depth=2)
    contiguous = {k: v.clone() for k, v in model.state_dict().items()}
    model.to(memory_format=torch.channels_last)
    assert weights_sha256(model.state_dict()) == weights_sha256(contiguous)
    info = save_teacher(tmp_path / "t.pt", model, TeacherInfo("simple_cnn", 10, (3, 32, 32), (0.5,) * 3, (0.25,) * 3))
    assert info.sha256 == weights_sha256(contiguous)
    saved = torch.load(tmp_path / "t.pt", weights_only=True)["state_dict"]
    assert all(tensor.is_contiguous() for tensor in saved.values())  # plain tensors: .view(-1) works on loading

"""Weights are accepted exactly when ``nn.Module.load_state_dict(strict=True)`` accepts them: files from PyTorch
< 0.4.1 lack BatchNorm's ``num_batches_tracked`` buffers, which PyTorch fills in."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import Tensor

from dfkd.models import create_model
from dfkd.teachers import TeacherLoadError, TeacherRequest, load_teacher

KWARGS = {"width": 4, "depth": 2}


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model("simple_cnn", num_classes=10, **KWARGS)


def _without(predicate: Callable[[str], bool], keep_metadata: bool) -> dict[str, Tensor]:
    weights = _model().state_dict()  # an OrderedDict carrying the module versions (_metadata)
    for key in [k for k in weights if predicate(k)]:
        del weights[key]
    return weights if keep_metadata else dict(weights)


def _pre_041(weights: dict[str, Tensor]) -> dict[str, Tensor]:
    """What PyTorch < 0.4.1 saved: BatchNorm layers at module version 1."""
    old = OrderedDict(weights)
    old._metadata = OrderedDict((k, {**v, "version": 1}) for k, v in _model().state_dict()._metadata.items())  # type: ignore[attr-defined]
    return old


CASES = {
    "complete": _without(lambda k: False, keep_metadata=True),
    "no num_batches_tracked, no versions": _without(lambda k: k.endswith("num_batches_tracked"), keep_metadata=False),
    "no num_batches_tracked, PyTorch < 0.4.1": _pre_041(_without(lambda k: k.endswith("num_batches_tracked"), True)),
    "no num_batches_tracked, current versions": _without(lambda k: k.endswith("num_batches_tracked"), True),
    "no running_mean": _without(lambda k: k.endswith("running_mean"), keep_metadata=False),
    "extra key": {**_model().state_dict(), "extra.weight": torch.zeros(1)},
}


def _pytorch_accepts(weights: dict[str, Tensor]) -> bool:
    try:
        _model().load_state_dict(weights, strict=True)
    except RuntimeError:
        return False
    return True


@pytest.mark.parametrize("case", sorted(CASES))
def test_accepts_exactly_what_pytorch_accepts(tmp_path: Path, case: str) -> None:
    weights = CASES[case]
    torch.save(weights, tmp_path / "w.pt")
    request = TeacherRequest(str(tmp_path / "w.pt"), arch="simple_cnn", arch_kwargs=KWARGS)
    if _pytorch_accepts(weights):
        model, _ = load_teacher(request)
        x = torch.rand(2, 3, 32, 32)
        assert torch.equal(model(x), _model().eval()(x))
    else:
        with pytest.raises(TeacherLoadError, match="do not fit"):
            load_teacher(request)


def test_the_old_file_case_is_the_one_pytorch_accepts() -> None:
    assert _pytorch_accepts(CASES["no num_batches_tracked, no versions"])
    assert _pytorch_accepts(CASES["no num_batches_tracked, PyTorch < 0.4.1"])
    assert not _pytorch_accepts(CASES["no running_mean"])


def _wrapped(weights: dict[str, Tensor]) -> OrderedDict[str, Tensor]:
    """As saved from ``nn.DataParallel``: every key and module version under ``module.``."""
    wrapped = OrderedDict((f"module.{k}", v) for k, v in weights.items())
    wrapped._metadata = OrderedDict(  # type: ignore[attr-defined]
        (f"module.{k}" if k else "module", v)
        for k, v in weights._metadata.items()  # type: ignore[attr-defined]
    )
    return wrapped


@pytest.mark.parametrize(
    "case", ["no num_batches_tracked, PyTorch < 0.4.1", "no num_batches_tracked, current versions"]
)
def test_module_versions_survive_a_dataparallel_prefix(tmp_path: Path, case: str) -> None:
    torch.save({"state_dict": _wrapped(CASES[case])}, tmp_path / "w.pt")
    request = TeacherRequest(str(tmp_path / "w.pt"), arch="simple_cnn", arch_kwargs=KWARGS)
    if _pytorch_accepts(CASES[case]):
        load_teacher(request)
    else:
        with pytest.raises(TeacherLoadError, match=r"missing key.*num_batches_tracked"):
            load_teacher(request)

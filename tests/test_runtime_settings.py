"""Speed settings (dfkd.runtime): the CUDA flags (no-ops on a CPU), channels-last on both devices (narrow CPU
BatchNorm kept contiguous), ``precision=auto``, compile fallback, fused optimisers, and the ``runtime`` record in
summary.json."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
import torch
import yaml
from torch import nn

from dfkd import runtime
from dfkd.config.sections import OptimizerSection, RunSection
from dfkd.runs.session import precision_fingerprint
from dfkd.runtime import apply_gpu_settings, build_optimizer, prepare_model, prepare_models

CPU = torch.device("cpu")


@pytest.fixture
def backend_flags():
    """Restore the process-wide backend flags a test changes."""
    matmul, cudnn = torch.backends.cuda.matmul, torch.backends.cudnn
    saved = (matmul.fp32_precision, cudnn.conv.fp32_precision, cudnn.benchmark)
    yield
    matmul.fp32_precision, cudnn.conv.fp32_precision, cudnn.benchmark = saved


def _conv_net() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(8, 4))  # fmt: skip


def test_gpu_settings_change_nothing_on_a_cpu(backend_flags: None) -> None:
    before = (torch.backends.cuda.matmul.fp32_precision, torch.backends.cudnn.benchmark)
    record = apply_gpu_settings(RunSection(tf32=True, cudnn_benchmark=True, channels_last=True), CPU)
    assert (torch.backends.cuda.matmul.fp32_precision, torch.backends.cudnn.benchmark) == before
    assert record["device"] == "cpu" and record["precision"] == "fp32"
    assert not any(record[key] for key in ("tf32", "cudnn_benchmark"))
    assert record["channels_last"] is True  # requested; applied per network where it pays (see below)
    assert record["fused_optimizers"] == ("cpu" in runtime.fused_kernel_devices())


def test_gpu_settings_on_cuda_set_tf32_and_cudnn_autotuning(
    backend_flags: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The flags can be set without a GPU; only the device's name needs one.
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "a GPU")
    record = apply_gpu_settings(RunSection(precision="bf16"), torch.device("cuda"))
    assert torch.backends.cuda.matmul.fp32_precision == "tf32" and torch.backends.cudnn.conv.fp32_precision == "tf32"
    assert torch.backends.cudnn.benchmark is True
    assert record["tf32"] and record["cudnn_benchmark"] and record["channels_last"] and record["fused_optimizers"]
    assert record["device_name"] == "a GPU" and record["precision"] == "bf16"
    apply_gpu_settings(RunSection(tf32=False, cudnn_benchmark=False), torch.device("cuda"))
    assert torch.backends.cuda.matmul.fp32_precision == "ieee" and torch.backends.cudnn.benchmark is False


def _wide_conv_net() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(16, 4))  # fmt: skip


def test_cpu_channels_last_keeps_narrow_batchnorm_contiguous_and_changes_no_output() -> None:
    torch.manual_seed(0)
    model, reference = _conv_net(), _conv_net()
    reference.load_state_dict(model.state_dict())
    weight = model[0].weight
    applied = prepare_model(model, RunSection(), CPU)
    assert applied == {"channels_last": True, "compiled": False, "contiguous_batchnorms": 1}  # BatchNorm of 8
    assert model[0].weight is weight and weight.is_contiguous(memory_format=torch.channels_last)
    seen: list[bool] = []
    model[1].register_forward_hook(lambda module, args, output: seen.append(args[0].is_contiguous()))
    x = torch.randn(4, 3, 8, 8)
    out = model[:2](x)
    assert seen == [True] and out.is_contiguous(memory_format=torch.channels_last)  # computed contiguous, handed on
    torch.testing.assert_close(model(x), reference(x))
    model(x).square().sum().backward()
    reference(x).square().sum().backward()
    for ours, theirs in zip(model.parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(ours.grad, theirs.grad, rtol=1e-5, atol=1e-6)
    prepare_model(model, RunSection(), CPU)
    assert len(model[1]._forward_pre_hooks) == 1  # prepared twice: hooked once
    assert list(model.state_dict()) == list(reference.state_dict())


def test_channels_last_on_a_cpu_for_2d_conv_nets_only() -> None:
    assert prepare_model(_wide_conv_net(), RunSection(), CPU)["contiguous_batchnorms"] == 0
    assert not runtime.channels_last_pays(nn.Sequential(nn.Linear(4, 4)), CPU)
    volumetric = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Conv3d(4, 4, 3))  # channels-last is a 4-D layout
    assert prepare_model(volumetric, RunSection(), CPU)["channels_last"] is False
    assert prepare_model(_wide_conv_net(), RunSection(channels_last=False), CPU)["channels_last"] is False


def test_channels_last_only_for_conv_nets_on_cuda() -> None:
    # The decision and the conversion are device-independent: a CPU model stands in for one already on the GPU.
    model, mlp = _conv_net(), nn.Sequential(nn.Linear(4, 4))
    weight = model[0].weight
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    assert prepare_model(model, RunSection(), torch.device("cuda"))["channels_last"] is True
    assert model[0].weight is weight and weight.is_contiguous(memory_format=torch.channels_last)
    assert optimizer.param_groups[0]["params"][0] is weight  # the optimiser still holds the same parameters
    assert prepare_model(mlp, RunSection(), torch.device("cuda"))["channels_last"] is False
    assert prepare_model(_conv_net(), RunSection(channels_last=False), torch.device("cuda"))["channels_last"] is False


def test_compile_falls_back_with_a_warning_where_it_cannot_compile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "compile_unavailable", lambda device: "no compiler here")
    model = _conv_net()
    with pytest.warns(RuntimeWarning, match="run.compile=true: no compiler here; running without compilation"):
        applied = prepare_model(model, RunSection(compile=True, channels_last=False), CPU)
    assert applied == {"channels_last": False, "compiled": False, "compile_fallback": "no compiler here"}
    assert model._compiled_call_impl is None
    model(torch.randn(2, 3, 8, 8))


@pytest.mark.slow
def test_compile_keeps_outputs_and_state_dict_keys() -> None:
    if runtime.compile_unavailable(CPU) is not None:
        pytest.skip(f"torch.compile unavailable: {runtime.compile_unavailable(CPU)}")
    torch.manual_seed(0)
    model = _conv_net().eval()
    x = torch.randn(2, 3, 8, 8)
    expected, keys = model(x), list(model.state_dict())
    assert prepare_model(model, RunSection(compile=True), CPU)["compiled"] is True
    torch.testing.assert_close(model(x), expected, rtol=1e-4, atol=1e-5)
    assert list(model.state_dict()) == keys  # no `_orig_mod.` prefix: checkpoints and exported students stay loadable


def test_optimizers_are_fused_where_pytorch_has_the_kernels() -> None:
    params = list(_conv_net().parameters())
    fused_here = "cpu" in runtime.fused_kernel_devices()
    for name in ("sgd", "adam"):
        optimizer = build_optimizer(params, OptimizerSection(name=name))
        assert bool(optimizer.defaults.get("fused")) == fused_here
    assert not build_optimizer(params, OptimizerSection(name="rmsprop")).defaults.get("fused")  # no fused kernel


def test_prepare_models_records_every_network() -> None:
    record = prepare_models(RunSection(), CPU, student=_conv_net(), generator=_conv_net())
    assert set(record["models"]) == {"student", "generator"}
    assert json.loads(json.dumps(record)) == record


def test_teacher_summary_records_the_runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dfkd.teachers.train import train_teacher

    monkeypatch.setenv("DFKD_NO_PROGRESS", "1")
    recipe = {
        "run": {"name": "teacher", "root": str(tmp_path / "runs"), "threads": 1},
        "data": {"name": "shapes", "max_train_items": 64, "max_test_items": 32},
        "model": {"arch": "simple_cnn", "kwargs": {"width": 4, "depth": 2}},
        "train": {"epochs": 1, "batch_size": 32},
        "logging": {"log_every": 1, "eval_every": 0, "checkpoint_every": 0},
        "output": str(tmp_path / "teacher.pt"),
    }
    path = tmp_path / "teacher.yaml"
    path.write_text(yaml.safe_dump(recipe))
    _, summary = train_teacher(str(path))
    saved = json.loads((tmp_path / "runs" / "teacher" / "summary.json").read_text())
    assert saved["runtime"] == summary["runtime"]
    assert saved["runtime"]["device"] == "cpu" and saved["runtime"]["channels_last"] is True  # requested
    expected = {"channels_last": True, "compiled": False, "contiguous_batchnorms": 2}  # BatchNorm of 4 and 8
    assert saved["runtime"]["models"] == {"model": expected}


def test_distillation_and_gan_summaries_record_the_runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dfkd.distill.job import run_distill
    from dfkd.gan.job import run_gan
    from tests.distill.conftest import tiny_recipe
    from tests.gan.conftest import TINY, write_blob_folder
    from tests.gan.helpers import recipe_path

    monkeypatch.setenv("DFKD_NO_PROGRESS", "1")
    distill = run_distill(str(tiny_recipe(tmp_path / "distill")), ["steps=2", "run.device=cpu"])
    assert set(distill["runtime"]["models"]) == {"teacher", "student", "generator"}
    folder = write_blob_folder(tmp_path / "blobs", per_class=8)
    overrides = [*TINY, f"data.name={folder}", f"run.root={tmp_path / 'gan'}", "train.steps=2"]
    gan = run_gan(str(recipe_path("dcgan-sym", "one")), overrides)
    assert set(gan["runtime"]["models"]) == {"generator", "critic"} and gan["runtime"]["device"] == "cpu"
    for summary in (distill, gan):
        assert json.loads((Path(summary["run_dir"]) / "summary.json").read_text())["runtime"] == summary["runtime"]


@pytest.mark.parametrize(("native", "expected"), [(True, torch.bfloat16), (False, None)])
def test_auto_precision_is_bf16_only_where_the_cpu_computes_it_natively(
    native: bool, expected: torch.dtype | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    for probe in runtime.CPU_BF16_FEATURES:
        monkeypatch.setattr(torch.cpu, probe, lambda native=native: native, raising=False)
    assert runtime.native_bf16(CPU) is native
    assert runtime.autocast_dtype(RunSection(precision="auto"), CPU) is expected
    record = runtime.gpu_settings(RunSection(precision="auto"), CPU)
    assert record["precision"] == ("bf16" if native else "fp32") and record["precision_requested"] == "auto"
    for explicit, dtype in (("fp32", None), ("bf16", torch.bfloat16), ("fp16", torch.float16)):
        assert runtime.autocast_dtype(RunSection(precision=explicit), CPU) is dtype  # never overridden
    assert precision_fingerprint(RunSection(precision="auto"), CPU).value == ("bf16" if native else "fp32")


@pytest.mark.parametrize("native", [True, False])
def test_auto_precision_on_cuda_asks_for_native_bf16_not_emulation(
    native: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[dict] = []

    def is_bf16_supported(**kwargs: bool) -> bool:
        asked.append(kwargs)
        return native

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", is_bf16_supported)
    monkeypatch.setattr(torch.cuda, "device", lambda device: contextlib.nullcontext())  # no GPU needed
    assert runtime.resolve_precision("auto", torch.device("cuda")) == ("bf16" if native else "fp32")
    assert asked == [{"including_emulation": False}]


def test_auto_precision_reaches_the_distillation_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.distill.test_teacher_passes import _game

    monkeypatch.setattr(runtime, "native_bf16", lambda device: True)
    game, _ = _game(run={"precision": "auto"})
    assert game.engine.config.autocast_dtype is torch.bfloat16 and game.autocast_dtype is torch.bfloat16

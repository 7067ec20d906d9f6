"""Without torchrun every distributed helper is the single-process identity; rank 0's followers write nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.distributed as dist
from torch import nn

from dfkd.config.load import RecipeError
from dfkd.data.batches import TensorBatches
from dfkd.distributed import (
    any_rank,
    data_parallel,
    from_main,
    is_main,
    load_rank_state,
    local_batch,
    process_group_from_env,
    rank,
    rank_seed,
    rank_states,
    run_on_main,
    sync_batchnorm,
    world_size,
)
from dfkd.distributed.batches import sharded_batches
from dfkd.distributed.moments import batch_mean, batch_moments
from dfkd.distributed.run_dir import FollowerRunDir


def test_no_process_group_without_world_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    with process_group_from_env():
        assert not dist.is_initialized()
        assert (world_size(), rank(), is_main()) == (1, 0, True)
    monkeypatch.setenv("WORLD_SIZE", "1")  # torchrun --nproc_per_node=1: a plain single process too
    with process_group_from_env():
        assert not dist.is_initialized()


def test_helpers_are_identities() -> None:
    assert any_rank(True) and not any_rank(False)
    assert from_main(lambda: 7) == 7 and run_on_main(lambda: 8) == 8
    assert rank_seed(123) == 123 and local_batch(10, "batch_size") == 10
    module = nn.Linear(2, 2)
    assert data_parallel(module, torch.device("cpu")) is module
    assert sync_batchnorm(module, torch.device("cpu")) is module
    generator = torch.Generator().manual_seed(5)
    state = rank_states(generator)
    assert isinstance(state, torch.Tensor) and torch.equal(state, generator.get_state())  # checkpoint format kept
    expected = torch.rand(3, generator=generator)
    load_rank_state(generator, state, seed=5)
    assert torch.equal(torch.rand(3, generator=generator), expected)


def test_moments_are_the_plain_ones() -> None:
    x = torch.randn(6, 3, 4, 4)
    ((mean, var),) = batch_moments([x])
    expected_var, expected_mean = torch.var_mean(x, dim=[0, 2, 3], unbiased=False)
    assert torch.equal(mean, expected_mean) and torch.equal(var, expected_var)
    probs = torch.rand(5, 4)
    assert torch.equal(batch_mean(probs), probs.mean(dim=0))


def test_sharded_batches_are_plain_batches_in_one_process() -> None:
    images, labels = torch.zeros(8, 3, 4, 4), torch.arange(8)
    batches = sharded_batches(images, labels, 4, key="train.batch_size", seed=0)
    assert type(batches) is TensorBatches and batches.batch_size == 4


def test_global_batch_must_split_evenly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("dfkd.distributed.modules.world_size", lambda: 3)
    with pytest.raises(RecipeError, match=r"train\.batch_size=8: expected a multiple of the number of processes \(3\)"):
        local_batch(8, "train.batch_size")
    assert local_batch(9, "train.batch_size") == 3


def test_sync_batchnorm_needs_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("dfkd.distributed.modules.active", lambda: True)
    with pytest.raises(RecipeError, match="run.sync_batchnorm"):
        sync_batchnorm(nn.Sequential(nn.BatchNorm2d(2)), torch.device("cpu"))


def test_follower_run_dir_writes_nothing(tmp_path: Path) -> None:
    run = FollowerRunDir("run", root=tmp_path / "runs")
    run.log_metrics(1, {"train/loss": 1.0})
    run.log_images("samples", 1, torch.zeros(2, 3, 4, 4))
    run.write_summary({"steps": 1})
    assert run.truncate_metrics(0) == 0
    run.flush()
    run.close()
    assert not (tmp_path / "runs").exists()
    assert run.last_checkpoint == tmp_path / "runs" / "run" / "checkpoints" / "last.pt"  # reads the real files

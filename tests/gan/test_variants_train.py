"""Every variant trains a few rounds in both stages on tiny generated data, through `dfkd gan`'s own path."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from dfkd.gan.job import run_gan
from dfkd.runs.run_dir import RunDir
from tests.gan.helpers import VARIANTS, recipe_path, tiny_game, tiny_overrides


@pytest.mark.parametrize("stage", ["one", "two"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_trains_without_nan(variant: str, stage: str, blob_folder: Path, tmp_path: Path) -> None:
    summary = run_gan(
        str(recipe_path(variant, stage)), tiny_overrides(blob_folder, "train.steps=3", f"run.root={tmp_path}")
    )
    assert summary["stage"] == stage and summary["steps"] == 3
    assert summary.get("skipped_steps", 0) == 0
    rows = RunDir(Path(summary["run_dir"]).name, root=tmp_path).read_metrics()
    assert len(rows) == 3
    for row in rows:
        for key, value in row.items():
            assert math.isfinite(value), (key, value)
    checkpoint = torch.load(Path(summary["run_dir"]) / "checkpoints" / "last.pt", weights_only=True)
    for name in ("generator", "critic"):
        assert all(t.isfinite().all() for t in checkpoint["game"][name].values() if t.is_floating_point())


@pytest.mark.parametrize("stage", ["one", "two"])
def test_weight_clipping_holds_whenever_the_generator_sees_the_critic(stage: str, blob_folder: Path) -> None:
    game = tiny_game("wgan", stage, blob_folder, "train.critic_steps=1")
    largest: list[float] = []
    game.critic.register_forward_pre_hook(
        lambda module, args: largest.append(max(float(p.detach().abs().max()) for p in module.parameters()))
    )
    game.train_step(1)  # first critic forwards see the N(0, 0.02) init; every later one the clipped critic
    game.train_step(2)
    clip = game.recipe.loss.clip
    # forwards: step 1 scores real and fake with the initial critic; everything after (in two stages: the
    # generator half of step 1 too) sees the clipped critic
    assert largest[0] > clip and largest[1] > clip
    assert len(largest) == (4 if stage == "one" else 6)
    assert all(value <= clip for value in largest[2:])
    assert all(float(p.detach().abs().max()) <= clip for p in game.critic.parameters())


def test_fisher_multiplier_moves_and_reaches_the_objective(blob_folder: Path) -> None:
    game = tiny_game("fishergan", "one", blob_folder)
    assert game.loss.lam == 0.0  # type: ignore[attr-defined]
    scalars = game.train_step(1)
    lam = game.loss.lam  # type: ignore[attr-defined]
    assert lam != 0.0 and scalars["fisher_lambda"] == lam
    assert game.engine.objective.losses.keywords["lam"] == lam  # type: ignore[attr-defined]


def test_conditional_batches_carry_labels(blob_folder: Path) -> None:
    game = tiny_game("cgan", "one", blob_folder)
    batch = game._draw()
    assert batch.fake_labels is not None and batch.real_labels is not None
    assert int(batch.fake_labels.max()) <= 1 and batch.real.min() >= -1 and batch.real.max() <= 1
    assert game.sample_images().shape == (16, 3, 16, 16)

"""``dfkd gan``: open the run, load the real images, prepare FID/KID, play the game, write the summary.

Every run writes ``runs/<name>/``: ``recipe.yaml`` (resolved), ``metrics.jsonl``, ``tb/`` (TensorBoard),
``images/samples_<step>.png`` (fixed-z grids), ``checkpoints/last.pt`` and ``best.pt`` (lowest FID; full state,
resumable, readable by ``dfkd sample``) and ``summary.json``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from dfkd.data.loading import flips_keep_labels, load_split
from dfkd.data.spec import DatasetSpec
from dfkd.distributed import run_on_main
from dfkd.distributed.batches import sharded_batches
from dfkd.gan.config import CHANGEABLE_ON_RESUME, GanRecipe
from dfkd.gan.evaluation import GanEvaluator
from dfkd.gan.game import GanGame
from dfkd.gan.networks import generator_spec
from dfkd.losses import GAN_LOSSES
from dfkd.runs.launch import plan_run
from dfkd.runs.run_dir import RunDir
from dfkd.runs.session import SessionConfig, precision_fingerprint, recipe_fingerprint, run_session
from dfkd.runtime import apply_run_settings


class GanSetupError(ValueError):
    """The recipe cannot run on this data (e.g. a conditional model on a single-class folder)."""


def _check_classes(recipe: GanRecipe, num_classes: int) -> None:
    if recipe.model.conditional and num_classes < 2:
        raise GanSetupError(
            f"model.conditional=true needs labelled data with at least 2 classes, but data.name="
            f"{recipe.data.name!r} has {num_classes}. For an image folder, put each class in its own sub-folder "
            "(e.g. CelebA split by an attribute such as Male / not Male), or set model.conditional=false"
        )


def _session_config(recipe: GanRecipe) -> SessionConfig:
    fid, logging = recipe.fid, recipe.logging
    return SessionConfig(
        steps=recipe.train.steps,
        eval_every=fid.every if fid.enabled else 0,
        log_every=logging.log_every,
        checkpoint_every=logging.checkpoint_every,
        image_every=logging.image_every or recipe.train.steps,  # 0: a grid at the end only
        best_metric="fid" if fid.enabled else None,
        best_mode="min",
        max_wall_s=logging.max_wall_s,
    )


def _final_summary(summary: dict[str, Any], run: RunDir) -> dict[str, Any]:
    """Add the headline numbers: ``fid``/``kid`` (last evaluation) and the last logged training losses."""
    out = dict(summary)
    for name in ("fid", "kid", "kid_std"):
        if f"{name}_last" in out:
            out[name] = out[f"{name}_last"]
    for row in reversed(run.read_metrics()):
        if "train/critic_loss" in row:
            out["critic_loss"] = row["train/critic_loss"]
            out["generator_loss"] = row.get("train/generator_loss")
            break
    return out


@dataclass(frozen=True)
class GanSetup:
    """What :func:`build_game` prepared: the game, the data's spec and the number of real images loaded."""

    game: GanGame
    spec: DatasetSpec
    num_images: int
    channels: int


def build_game(recipe: GanRecipe, device: torch.device) -> GanSetup:
    """Load the real images, prepare FID/KID (before any training: missing weights stop here) and build the game.

    The run settings (seed, threads) must already be applied (:func:`dfkd.runtime.apply_run_settings`).
    """
    data, model = recipe.data, recipe.model
    images, labels, spec = load_split(
        data.name, "train", root=data.root, download=data.download, max_items=data.max_items,
        seed=recipe.run.seed, image_size=model.resolution,
    )  # fmt: skip
    _check_classes(recipe, spec.num_classes)
    evaluator = None
    if recipe.fid.enabled:
        evaluator = run_on_main(  # torchrun: rank 0 alone evaluates
            lambda: GanEvaluator.prepare(recipe.fid, images, data.name, model.resolution, device)
        )
    batches = sharded_batches(  # under torchrun: this rank's share of each global batch
        images, labels, recipe.train.batch_size, key="train.batch_size", device=device, seed=recipe.run.seed,
        augment=data.augment, hflip=flips_keep_labels(data.name),
        channels_last=device.type == "cuda" and recipe.run.channels_last,
    )  # fmt: skip
    torch.manual_seed(recipe.run.seed)  # initialisation does not depend on what ran before
    channels = int(images.shape[1])
    game = GanGame(recipe, device, batches, spec.num_classes, channels, evaluator)
    return GanSetup(game, spec, int(images.shape[0]), channels)


def run_gan(recipe_path: str | None, overrides: Sequence[str] = (), *, resume: str | None = None) -> dict[str, Any]:
    """Run (or resume, from ``runs/<name>``) one GAN training; returns its summary (also in summary.json)."""
    plan = plan_run(GanRecipe, recipe_path, overrides, resume=resume, changeable=CHANGEABLE_ON_RESUME)
    recipe, resuming = plan.recipe, plan.resuming
    device = apply_run_settings(recipe.run)
    setup = build_game(recipe, device)  # data, FID weights and networks first: a bad setup leaves no run directory
    run = plan.open()
    game, spec, channels = setup.game, setup.spec, setup.channels
    runtime = game.runtime  # the speed settings the game applied, for summary.json
    evaluator, data, model = game.evaluator, recipe.data, recipe.model
    loss = GAN_LOSSES.get(recipe.loss.name)
    exactness = game.engine.exactness()
    print(
        f"gan: {recipe.loss.name} ({'symmetric' if loss.symmetric else 'asymmetric'}), stage {recipe.train.stage}, "
        f"critic_steps {recipe.train.critic_steps}, critic norm {model.norm}"
        f"{', conditional' if model.conditional else ''}; {setup.num_images} images of {data.name} at "
        f"{model.resolution}px on {device}"
        + (f"; one-stage update: {exactness}" if recipe.train.stage == "one" else "")
    )
    if evaluator is not None:
        print(
            f"FID/KID: {recipe.fid.extractor} on {evaluator.num_samples} generated vs {evaluator.num_real} real "
            f"images{'' if evaluator.comparable else ' (swapped extractor: NOT comparable with published numbers)'}"
        )
    meta = {
        "loss": recipe.loss.name,
        "stage": recipe.train.stage,
        "symmetric": loss.symmetric,
        "critic_steps": recipe.train.critic_steps,
        "critic_norm": model.norm,
        "conditional": model.conditional,
        "exactness": exactness,
        "dataset": data.name,
        "resolution": model.resolution,
        "batch_size": recipe.train.batch_size,
        "device": str(device),
        "run_dir": str(run.path),
        "generator": generator_spec(model, channels, spec.num_classes),
        "runtime": runtime,
    }
    if evaluator is not None:
        meta.update(
            fid_extractor=recipe.fid.extractor,
            fid_comparable=evaluator.comparable,
            fid_num_samples=evaluator.num_samples,
            fid_num_real=evaluator.num_real,
        )
    fingerprints = {
        "recipe": recipe_fingerprint(recipe, CHANGEABLE_ON_RESUME),
        "precision": precision_fingerprint(recipe.run, device),
    }
    summary = run_session(game, run, _session_config(recipe), resume=resuming, meta=meta, fingerprints=fingerprints)
    summary = _final_summary(summary, run)
    run.write_summary(summary)
    run.close()
    return summary


def format_summary(summary: dict[str, Any]) -> str:
    """A few lines for the terminal."""
    parts = [
        f"{summary['loss']} stage {summary['stage']}: {summary['steps']} steps in {float(summary['wall_s']):.1f} s "
        f"({float(summary['images_per_s']):.0f} images/s)",
    ]
    if "critic_loss" in summary:
        parts.append(f"last losses: critic {summary['critic_loss']:.4g}, generator {summary['generator_loss']:.4g}")
    if "fid" in summary:
        note = "" if summary.get("fid_comparable") else f" [{summary.get('fid_extractor')}: not comparable]"
        parts.append(
            f"FID {summary['fid']:.4g} (best {summary.get('fid_best', float('nan')):.4g}), "
            f"KID {summary['kid']:.4g} +- {summary.get('kid_std', float('nan')):.2g}{note}"
        )
    if summary.get("skipped_steps"):
        parts.append(f"skipped (non-finite) updates: {summary['skipped_steps']}")
    parts.append(f"run directory: {summary['run_dir']}")
    return "\n".join(parts)

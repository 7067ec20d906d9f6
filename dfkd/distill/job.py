"""``dfkd distill``: open the run, get the teacher (training it on first use), play the game, export the student.

Every run writes ``runs/<name>/``: ``recipe.yaml`` (resolved), ``metrics.jsonl``, ``tb/`` (TensorBoard),
``images/`` (generated samples), ``checkpoints/last.pt`` (full state, resumable) and ``best.pt`` (the state at the
best evaluation, without the replay memory),
``student_last.pt`` and ``student_best.pt`` (teacher-format files usable by ``dfkd eval`` or as a teacher),
and ``summary.json``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import torch
from torch import nn

from dfkd.config.load import load_recipe
from dfkd.data.loading import load_split
from dfkd.data.spec import DatasetSpec
from dfkd.distill.config import CHANGEABLE_ON_RESUME, DistillRecipe
from dfkd.distill.critic import running_stat_batchnorms
from dfkd.distill.game import DistillGame
from dfkd.distributed import is_main
from dfkd.recipes import packaged_recipe
from dfkd.runs.checkpoint import load_checkpoint
from dfkd.runs.launch import holds_run, plan_run
from dfkd.runs.session import Fingerprint, SessionConfig, precision_fingerprint, recipe_fingerprint, run_session
from dfkd.runtime import apply_run_settings
from dfkd.teachers.ensure import ensure_teacher, match_input_size
from dfkd.teachers.load import TeacherLoadError
from dfkd.teachers.record import TeacherInfo, save_teacher, weights_sha256


def _check_bn_prior(recipe: DistillRecipe, teacher: nn.Module) -> None:
    if recipe.loss.priors.get("bn") and not running_stat_batchnorms(teacher):
        raise TeacherLoadError(
            f"{recipe.teacher.checkpoint}: the teacher has no BatchNorm layers with running statistics, which the "
            "BN-statistics prior needs (loss.priors.bn); set loss.priors.bn=0"
        )


def _complete_info(info: TeacherInfo, spec: DatasetSpec, checkpoint: str) -> TeacherInfo:
    if info.num_classes != spec.num_classes:
        raise TeacherLoadError(
            f"{checkpoint}: the teacher has {info.num_classes} classes but the evaluation data {spec.name!r} has "
            f"{spec.num_classes} (data.name)"
        )
    if info.mean is None or info.std is None:
        print(
            f"{checkpoint} does not record its input normalisation: using {spec.name}'s mean/std "
            "(set teacher.mean / teacher.std if the teacher was trained otherwise)"
        )
        info = replace(info, mean=spec.mean, std=spec.std)
    return match_input_size(info, spec, checkpoint)


def teacher_fingerprint(checkpoint: str, info: TeacherInfo, teacher: nn.Module) -> Fingerprint:
    """The teacher's weights sha256, so that a run is never resumed against a teacher file that changed."""
    sha = info.sha256 or weights_sha256({k: v.detach() for k, v in teacher.state_dict().items()})
    return Fingerprint(
        sha,
        f"the teacher file {checkpoint} (weights sha256)",
        "Resuming would continue the distillation from another teacher: restore the original teacher file, or "
        "start a new run",
    )


def build_game(recipe: DistillRecipe, device: torch.device) -> tuple[DistillGame, TeacherInfo]:
    """Load the evaluation data and the teacher (training it on first use), check them, build the game.

    The run settings (seed, threads) must already be applied (:func:`dfkd.runtime.apply_run_settings`).
    """
    data = recipe.data
    images, labels, spec = load_split(
        data.name, "test", root=data.root, download=data.download, max_items=data.max_items
    )
    teacher, info = ensure_teacher(recipe.teacher)
    info = _complete_info(info, spec, recipe.teacher.checkpoint)
    _check_bn_prior(recipe, teacher)
    torch.manual_seed(recipe.run.seed)  # model initialisation does not depend on how the teacher was obtained
    return DistillGame(recipe, device, teacher, info, images, labels), info


def export_student(game: DistillGame, info: TeacherInfo, path: Path, accuracy: float | None) -> None:
    if not is_main():  # torchrun: rank 0 writes the run directory
        return
    recipe = game.recipe
    student_info = replace(
        info,
        arch=recipe.student.arch,
        arch_kwargs=dict(recipe.student.kwargs),
        accuracy=accuracy,
        dataset=recipe.data.name,
        sha256=None,
    )
    save_teacher(path, game.student, student_info)


def run_distill(recipe_path: str | None, overrides: Sequence[str] = (), *, resume: str | None = None) -> dict:
    """Run (or resume) one distillation; returns its summary. No recipe and no resume: the quick-start."""
    if recipe_path is None and resume is None:
        recipe_path = packaged_recipe("quickstart")
    plan = plan_run(DistillRecipe, recipe_path, overrides, resume=resume, changeable=CHANGEABLE_ON_RESUME)
    recipe = plan.recipe
    device = apply_run_settings(recipe.run)
    data = recipe.data
    game, info = build_game(recipe, device)
    fingerprints = {
        "recipe": recipe_fingerprint(recipe, CHANGEABLE_ON_RESUME),
        "precision": precision_fingerprint(recipe.run, device),
        "teacher": teacher_fingerprint(recipe.teacher.checkpoint, info, game.teacher),
    }
    runtime = game.runtime  # the speed settings the game applied, recorded in summary.json
    run = plan.open()
    teacher_acc = game.teacher_accuracy()
    exactness = game.engine.exactness()
    print(
        f"{recipe.method}: {recipe.teacher.checkpoint} ({info.arch}, test acc {teacher_acc:.4f} on "
        f"{game.eval_images.shape[0]} {data.name} images) -> {recipe.student.arch}"
        + (f"; one-stage update: {exactness}" if recipe.method == "onestage" else "")
    )
    session = SessionConfig(
        steps=recipe.steps,
        eval_every=recipe.logging.eval_every,
        log_every=recipe.logging.log_every,
        checkpoint_every=recipe.logging.checkpoint_every,
        image_every=recipe.logging.image_every,
        best_metric="student_acc",
        max_wall_s=recipe.logging.max_wall_s,
    )
    meta = {
        "method": recipe.method,
        "teacher_acc": teacher_acc,
        "teacher": recipe.teacher.checkpoint,
        "student_arch": recipe.student.arch,
        "exactness": exactness,
        "device": str(device),
        "run_dir": str(run.path),
        "runtime": runtime,
    }
    summary = run_session(game, run, session, resume=plan.resuming, meta=meta, fingerprints=fingerprints)
    export_student(game, info, run.path / "student_last.pt", summary.get("student_acc_last"))
    if run.best_checkpoint.is_file():
        game.load_state_dict(load_checkpoint(run.best_checkpoint)["game"])
        export_student(game, info, run.path / "student_best.pt", summary.get("student_acc_best"))
    run.close()
    return summary


def control_overrides(recipe: DistillRecipe, rounds: int) -> list[str]:
    """Overrides turning the distillation's recipe into its noise control: as many rounds as the distillation
    made, each with as many student updates on as large batches (its replay steps become ordinary student
    steps on the noise pool), a learning-rate schedule over those rounds, and a generator that never trains."""
    return [
        "method=noise",
        "noise_baseline=false",
        f"steps={rounds}",
        f"student_steps={recipe.student_updates_per_round}",
        "replay.capacity=0",
        "replay.steps=0",
        "logging.max_wall_s=null",  # every update it promises, even where it is slower than the distillation
    ]


def run_distill_with_baseline(
    recipe_path: str | None, overrides: Sequence[str] = (), *, resume: str | None = None
) -> tuple[dict, dict | None]:
    """The distillation, then (if the recipe asks) the control: a fresh student trained on a fixed pool of
    random-noise inputs, labelled by the teacher, in ``runs/<name>-noise``.

    The control makes exactly as many student updates on as many images as the distillation did (see
    :func:`control_overrides`): the same optimisation, only the inputs differ, so what the distilled student knows
    beyond the control's comes from the generator. Its wall time (reported beside the distillation's) is shorter,
    as it needs no generator and the teacher labels the pool once.
    """
    summary = run_distill(recipe_path, overrides, resume=resume)
    run_path = Path(str(summary["run_dir"]))
    resolved = str(run_path / "recipe.yaml")
    recipe = load_recipe(DistillRecipe, resolved)
    if not recipe.noise_baseline or recipe.method == "noise":
        return summary, None
    baseline_path = run_path.parent / f"{run_path.name}-noise"
    if resume and holds_run(baseline_path):
        return summary, run_distill(None, resume=str(baseline_path))
    rounds = int(summary["steps"])
    print(
        f"control: a fresh student on fixed random-noise inputs, as many student updates "
        f"({rounds} rounds x {recipe.student_updates_per_round}) on as many images"
    )
    return summary, run_distill(resolved, [f"run.name={baseline_path.name}", *control_overrides(recipe, rounds)])


def format_report(summary: dict, baseline: dict | None) -> str:
    teacher = float(summary["teacher_acc"])
    best, last = float(summary["student_acc_best"]), float(summary["student_acc_last"])
    lines = [
        "",
        f"{'':32} {'best':>7} {'last':>7} {'last/teacher':>13} {'train wall':>11} {'img/s':>8}",
        f"{'teacher':32} {teacher:>7.4f} {teacher:>7.4f} {'':>13}",
        f"{'student, ' + str(summary['method']):32} {best:>7.4f} {last:>7.4f} {last / teacher:>12.1%} "
        f"{float(summary['wall_s']):>10.0f}s {float(summary['images_per_s']):>8.0f}",
    ]
    if baseline is not None:
        b_best, b_last = float(baseline["student_acc_best"]), float(baseline["student_acc_last"])
        lines.append(
            f"{'student, fixed noise inputs':32} {b_best:>7.4f} {b_last:>7.4f} {b_last / teacher:>12.1%} "
            f"{float(baseline['wall_s']):>10.0f}s {float(baseline['images_per_s']):>8.0f}"
        )
    return "\n".join(lines)

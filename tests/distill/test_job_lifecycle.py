"""`dfkd distill` run lifecycle: what --resume refuses, learning-rate schedules of extended runs and of the noise
control, non-finite students never exported, replay memory across a resume."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import pytest
import torch
import yaml

from dfkd.distill.game import DistillGame
from dfkd.distill.job import run_distill, run_distill_with_baseline
from dfkd.engine import NonFiniteError
from dfkd.runs.checkpoint import load_checkpoint
from dfkd.runs.session import SessionError
from tests.distill.conftest import write_tiny_teacher

COSINE = {"lr_schedule": {"name": "cosine"}}


def _lrs(run: Path, key: str = "train/lr_student") -> list[float]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [row[key] for row in rows if key in row]


def test_resume_refuses_a_hand_edited_recipe(recipe_factory) -> None:
    run = Path(run_distill(str(recipe_factory(steps=2)))["run_dir"])
    saved = yaml.safe_load((run / "recipe.yaml").read_text())
    assert saved["method"] == "onestage"
    saved["method"] = "dfad"
    (run / "recipe.yaml").write_text(yaml.safe_dump(saved))
    with pytest.raises(SessionError, match=r"the recipe \(recipe.yaml\) changed since last.pt was written"):
        run_distill(None, ["steps=4"], resume=str(run))
    assert load_checkpoint(run / "checkpoints" / "last.pt")["session"]["step"] == 2


def test_resume_refuses_a_changed_teacher_file(recipe_factory, tmp_path: Path) -> None:
    run = Path(run_distill(str(recipe_factory(steps=2)))["run_dir"])
    write_tiny_teacher(tmp_path / "teacher.pt", seed=1)  # another teacher under the same name
    with pytest.raises(SessionError, match=r"the teacher file .*teacher.pt \(weights sha256\) changed"):
        run_distill(None, ["steps=4"], resume=str(run))


def test_resume_refuses_fewer_steps_than_done(recipe_factory) -> None:
    run = Path(run_distill(str(recipe_factory(steps=4)))["run_dir"])
    with pytest.raises(SessionError, match="refusing to resume with 2 steps: this run has already done 4"):
        run_distill(None, ["steps=2"], resume=str(run))


def test_an_extended_cosine_run_never_raises_its_learning_rate(recipe_factory) -> None:
    recipe = str(recipe_factory(optim=COSINE, logging={"log_every": 1, "eval_every": 2, "checkpoint_every": 1,
                                                       "max_wall_s": 1e-6}))  # fmt: skip
    run = Path(run_distill(recipe)["run_dir"])  # planned for 4 steps, stopped by the time limit
    done = load_checkpoint(run / "checkpoints" / "last.pt")["session"]["step"]
    assert done < 4
    summary = run_distill(None, ["steps=8", "logging.max_wall_s=null"], resume=str(run))
    assert summary["steps"] == 8
    lrs = _lrs(run)
    assert len(lrs) == 8 and lrs[0] < 0.05
    assert all(later <= earlier for earlier, later in pairwise(lrs)), lrs
    assert lrs[-1] == 0.0 and lrs[done] > 0.0  # decays to 0 at the new end, not at the old one
    assert _lrs(run, "train/lr_generator")[-1] == 0.0


def test_extending_a_finished_cosine_run_is_refused(recipe_factory) -> None:
    run = Path(run_distill(str(recipe_factory(steps=2, optim=COSINE)))["run_dir"])
    with pytest.raises(SessionError, match="refusing to resume: .*ended at step 2 .*learning rate 0.*Start a new run"):
        run_distill(None, ["steps=4"], resume=str(run))


def test_the_noise_control_completes_its_schedule(recipe_factory) -> None:
    summary, baseline = run_distill_with_baseline(str(recipe_factory(steps=3, noise_baseline=True, optim=COSINE)))
    assert baseline is not None and baseline["method"] == "noise"
    control = Path(baseline["run_dir"])
    planned = yaml.safe_load((control / "recipe.yaml").read_text())["steps"]
    assert planned == baseline["total_steps"] == summary["steps"]  # as many rounds as the distillation made
    assert baseline["stopped"] == "completed" and baseline["steps"] == planned
    assert _lrs(control)[-1] == 0.0  # the cosine schedule ran its full course


def _poison_student_at(step_to_poison: int):  # type: ignore[no-untyped-def]
    original = DistillGame.train_step

    def train_step(self: DistillGame, step: int):  # type: ignore[no-untyped-def]
        out = original(self, step)
        if step == step_to_poison:
            name, buffer = next((n, b) for n, b in self.student.named_buffers() if n.endswith("running_var"))
            buffer.fill_(float("inf"))
        return out

    return train_step


def test_a_diverged_student_is_never_checkpointed_or_exported(recipe_factory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(DistillGame, "train_step", _poison_student_at(3))
    with pytest.raises(NonFiniteError) as info:
        run_distill(str(recipe_factory()))  # checkpoints every step; evaluation every 2
    run = Path(str(info.value).split(":")[0])
    message = str(info.value)
    assert "stopped at step 3" in message and "running_var" in message
    assert f"{run / 'checkpoints' / 'last.pt'} (step 2), kept unchanged" in message
    last = load_checkpoint(run / "checkpoints" / "last.pt")
    assert last["session"]["step"] == 2
    assert all(torch.isfinite(t).all() for t in last["game"]["student"].values())
    assert not (run / "student_last.pt").exists() and not (run / "student_best.pt").exists()


def test_the_cli_reports_a_diverged_run_in_one_line(recipe_factory, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    from dfkd.cli import main

    monkeypatch.setattr(DistillGame, "train_step", _poison_student_at(1))
    assert main(["distill", str(recipe_factory())]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "non-finite" in err[0] and "no checkpoint was written before" in err[0]


def test_replay_memory_survives_a_resume_bit_exactly(recipe_factory, tmp_path: Path) -> None:
    replay = {"capacity": 32, "steps": 1, "per_round": 1}
    recipe = str(recipe_factory(replay=replay, run={"name": "full", "root": str(tmp_path / "runs"), "threads": 1}))
    full = Path(run_distill(recipe)["run_dir"])
    part = Path(run_distill(recipe, ["run.name=part", "steps=2"])["run_dir"])
    run_distill(None, ["steps=4"], resume=str(part))
    a = load_checkpoint(full / "checkpoints" / "last.pt")["game"]
    b = load_checkpoint(part / "checkpoints" / "last.pt")["game"]
    assert a["memory"]["size"] == b["memory"]["size"] > 0
    assert torch.equal(a["memory"]["images"], b["memory"]["images"])
    for key, value in a["student"].items():
        assert torch.equal(value, b["student"][key]), key


@pytest.mark.slow
def test_sigterm_stops_dfkd_distill_resumably(recipe_factory, tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    logging = {"log_every": 1, "eval_every": 50, "checkpoint_every": 0, "image_every": 0}
    recipe = str(recipe_factory(steps=60, logging=logging, run={"name": "term", "root": str(tmp_path / "runs"),
                                                                   "threads": 1}))  # fmt: skip
    repo = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [repo, os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen([sys.executable, "-m", "dfkd", "distill", recipe], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    metrics = tmp_path / "runs" / "term" / "metrics.jsonl"
    deadline = time.monotonic() + 300
    while not (metrics.exists() and metrics.read_text().strip()) and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 130 and b"interrupted" in err, err.decode()
    run = tmp_path / "runs" / "term"
    done = load_checkpoint(run / "checkpoints" / "last.pt")["session"]["step"]
    assert 1 <= done < 60, "the signal came too late to test anything"
    resumed = run_distill(None, resume=str(run))
    full = run_distill(recipe, ["run.name=full"])
    assert resumed["steps"] == full["steps"] == 60
    a = load_checkpoint(run / "checkpoints" / "last.pt")["game"]
    b = load_checkpoint(Path(full["run_dir"]) / "checkpoints" / "last.pt")["game"]
    for network in ("student", "generator"):
        for key, value in a[network].items():
            assert torch.equal(value, b[network][key]), (network, key)

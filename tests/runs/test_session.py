"""run_session: bit-identical resume, best/last summary, wall-clock budget, interrupts, resume guard."""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path
from typing import Literal

import numpy as np
import pytest
import torch
from torch import nn

from dfkd.config.base import Section
from dfkd.config.load import dump_recipe, load_recipe, recipe_hash
from dfkd.runs.checkpoint import CheckpointError, load_checkpoint
from dfkd.runs.run_dir import RunDir
from dfkd.runs.session import WALL_CLOCK_KEYS, SessionConfig, SessionError, resume_guard, run_session

N = 12


@pytest.fixture(autouse=True)
def _no_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DFKD_NO_PROGRESS", "1")


class ToyGame:
    """A small MLP fitted by SGD + momentum + StepLR on data from the global RNGs and its own generator."""

    images_per_step = 8

    def __init__(
        self, seed: int = 0, *, fail_at: int = 0, interrupt_at: int = 0, sigint_at: int = 0, sleep: float = 0.0
    ) -> None:
        torch.manual_seed(seed)
        self.model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Dropout(0.2), nn.Linear(16, 1))
        self.opt = torch.optim.SGD(self.model.parameters(), lr=0.05, momentum=0.9)
        self.sched = torch.optim.lr_scheduler.StepLR(self.opt, step_size=3, gamma=0.7)
        self.gen = torch.Generator().manual_seed(seed + 1)
        self.eval_x = torch.linspace(-1, 1, 40).reshape(10, 4)
        self.fail_at, self.interrupt_at, self.sigint_at, self.sleep = fail_at, interrupt_at, sigint_at, sleep

    def train_step(self, step: int) -> dict[str, float | torch.Tensor]:
        if step == self.interrupt_at:
            raise KeyboardInterrupt
        if step == self.fail_at:
            raise RuntimeError("boom")
        if step == self.sigint_at:
            os.kill(os.getpid(), signal.SIGINT)  # arrives mid-step: must be deferred to the step boundary
        if self.sleep:
            time.sleep(self.sleep)
        x = torch.randn(8, 4) + 0.1 * torch.randn(8, 4, generator=self.gen)
        x = x * (1.0 + 0.01 * random.random()) + 0.01 * float(np.random.rand())
        loss = nn.functional.mse_loss(self.model(x), x.sum(1, keepdim=True).sin())
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        self.sched.step()
        return {"loss": loss.detach(), "lr": self.sched.get_last_lr()[0], "skipped": float(step % 5 == 0)}

    def evaluate(self) -> dict[str, float]:
        self.model.eval()
        with torch.no_grad():
            loss = nn.functional.mse_loss(self.model(self.eval_x), self.eval_x.sum(1, keepdim=True).sin())
        self.model.train()
        torch.randn(100)  # evaluation consuming the global RNG must not change training
        random.random()
        return {"neg_loss": -float(loss), "weight_norm": float(self.model[0].weight.detach().norm())}

    def state_dict(self) -> dict:
        return {
            "model": self.model.state_dict(),
            "opt": self.opt.state_dict(),
            "sched": self.sched.state_dict(),
            "gen": self.gen.get_state(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["opt"])
        self.sched.load_state_dict(state["sched"])
        self.gen.set_state(state["gen"])

    def sample_images(self) -> torch.Tensor:
        return torch.tanh(self.model[0].weight[:4].reshape(4, 1, 2, 2) * torch.randn(4, 1, 2, 2))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def config(steps: int = N, **kw: object) -> SessionConfig:
    base: dict = dict(steps=steps, eval_every=4, log_every=2, checkpoint_every=5, image_every=6, best_metric="neg_loss")
    base.update(kw)
    return SessionConfig(**base)


def rows(run: RunDir) -> list[dict]:
    return [{k: v for k, v in row.items() if k not in WALL_CLOCK_KEYS} for row in run.read_metrics()]


def full_run(tmp_path: Path) -> tuple[ToyGame, RunDir, dict]:
    seed_everything(123)
    game, run = ToyGame(), RunDir("full", tmp_path, tensorboard=False)
    return game, run, run_session(game, run, config(), resume=False)


def assert_same_parameters(a: ToyGame, b: ToyGame) -> None:
    for (name, p), q in zip(a.model.state_dict().items(), b.model.state_dict().values(), strict=True):
        assert torch.equal(p, q), name


def resume_fresh(run: RunDir, cfg: SessionConfig) -> ToyGame:
    """Resume as a new process would: different seeds everywhere, a differently initialised game."""
    seed_everything(999)
    game = ToyGame(seed=42)
    run_session(game, run, cfg, resume=True)
    return game


def test_resume_after_stop_is_bit_identical(tmp_path: Path) -> None:
    full, full_dir, _ = full_run(tmp_path)
    seed_everything(123)
    part = RunDir("part", tmp_path, tensorboard=False)
    run_session(ToyGame(), part, config(steps=8), resume=False)
    assert load_checkpoint(part.last_checkpoint)["session"]["step"] == 8
    resumed = resume_fresh(part, config())
    assert_same_parameters(full, resumed)
    assert rows(part) == rows(full_dir)
    assert any("eval/neg_loss" in r for r in rows(full_dir)) and any("train/loss" in r for r in rows(full_dir))


def test_stop_between_evaluations_changes_nothing_but_adds_an_eval_row(tmp_path: Path) -> None:
    full, full_dir, _ = full_run(tmp_path)
    seed_everything(123)
    part = RunDir("part", tmp_path, tensorboard=False)
    run_session(ToyGame(), part, config(steps=7), resume=False)  # final evaluation at 7 draws random numbers
    resumed = resume_fresh(part, config())
    assert_same_parameters(full, resumed)
    got = rows(part)  # rows at 2, 4, 6, then the stop row at 7: open train window (not closed) + evaluation
    assert got[3]["step"] == 7 and set(got[3]) == {
        "step",
        "train/loss",
        "train/lr",
        "train/skipped",
        "eval/neg_loss",
        "eval/weight_norm",
    }
    assert got[:3] + got[4:] == rows(full_dir)


def test_resume_after_crash_drops_later_rows_and_is_bit_identical(tmp_path: Path) -> None:
    full, full_dir, _ = full_run(tmp_path)
    seed_everything(123)
    crashed = RunDir("crashed", tmp_path, tensorboard=False)
    with pytest.raises(RuntimeError, match="boom"):
        run_session(ToyGame(fail_at=8), crashed, config(), resume=False)
    assert load_checkpoint(crashed.last_checkpoint)["session"]["step"] == 5
    assert max(r["step"] for r in crashed.read_metrics()) == 6  # logged after the last checkpoint
    resumed = resume_fresh(crashed, config())
    assert_same_parameters(full, resumed)
    assert rows(crashed) == rows(full_dir)


def test_keyboard_interrupt_writes_last_and_resumes_identically(tmp_path: Path) -> None:
    full, full_dir, _ = full_run(tmp_path)
    seed_everything(123)
    run = RunDir("int", tmp_path, tensorboard=False)
    with pytest.raises(KeyboardInterrupt):
        run_session(ToyGame(interrupt_at=4), run, config(checkpoint_every=0), resume=False)
    assert load_checkpoint(run.last_checkpoint)["session"]["step"] == 3
    assert run.read_summary()["stopped"] == "interrupted"
    resumed = resume_fresh(run, config())
    assert_same_parameters(full, resumed)
    assert rows(run) == rows(full_dir)


@pytest.mark.skipif(
    signal.getsignal(signal.SIGINT) is not signal.default_int_handler, reason="SIGINT handled by someone else"
)
def test_sigint_is_deferred_to_the_end_of_the_step(tmp_path: Path) -> None:
    run = RunDir("sigint", tmp_path, tensorboard=False)
    handler = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        run_session(ToyGame(sigint_at=3), run, config(checkpoint_every=0), resume=False)
    assert load_checkpoint(run.last_checkpoint)["session"]["step"] == 3
    assert signal.getsignal(signal.SIGINT) is handler


def test_summary_reports_best_and_last(tmp_path: Path) -> None:
    _, run, summary = full_run(tmp_path)
    assert summary == run.read_summary()
    evals = [r for r in run.read_metrics() if "eval/neg_loss" in r]
    assert [r["step"] for r in evals] == [4, 8, 12]
    assert all("train_wall_s" in r for r in evals)
    best = max(evals, key=lambda r: r["eval/neg_loss"])
    assert summary["neg_loss_best"] == best["eval/neg_loss"] and summary["best_step"] == best["step"]
    assert summary["weight_norm_best"] == best["eval/weight_norm"]  # metrics of the best checkpoint
    assert summary["neg_loss_last"] == evals[-1]["eval/neg_loss"]
    assert summary["steps"] == N and summary["stopped"] == "completed" and summary["skipped_steps"] == 2
    assert summary["wall_s"] > 0 and summary["images_per_s"] > 0 and summary["images_seen"] == 8 * N
    best_ckpt = load_checkpoint(run.best_checkpoint)
    assert best_ckpt["session"]["step"] == best["step"] and best_ckpt["session"]["best"] == summary["neg_loss_best"]
    assert sorted(p.name for p in run.images_dir.iterdir()) == ["samples_00000006.png", "samples_00000012.png"]


def test_without_best_metric_each_metric_reports_its_own_best(tmp_path: Path) -> None:
    run = RunDir("nobest", tmp_path, tensorboard=False)
    summary = run_session(ToyGame(), run, config(best_metric=None, best_mode="min"), resume=False, meta={"job": "toy"})
    evals = [r for r in run.read_metrics() if "eval/neg_loss" in r]
    assert summary["weight_norm_best"] == min(r["eval/weight_norm"] for r in evals)
    assert summary["job"] == "toy" and not run.best_checkpoint.exists()


def test_max_wall_s_stops_and_checkpoints(tmp_path: Path) -> None:
    run = RunDir("budget", tmp_path, tensorboard=False)
    summary = run_session(ToyGame(sleep=0.02), run, config(steps=1000, max_wall_s=0.06), resume=False)
    assert summary["stopped"] == "max_wall_s" and 1 <= summary["steps"] < 1000
    assert summary["wall_s"] >= 0.06
    assert load_checkpoint(run.last_checkpoint)["session"]["step"] == summary["steps"]
    assert run.read_metrics()[-1]["step"] == summary["steps"]  # final evaluation at the stop
    again = run_session(ToyGame(), run, config(steps=1000, max_wall_s=0.06), resume=True)  # budget already spent
    assert again["steps"] == summary["steps"] and len(run.read_metrics()) == len(rows(run))


def test_fresh_start_over_existing_run_and_resume_without_checkpoint(tmp_path: Path) -> None:
    run = RunDir("r", tmp_path, tensorboard=False)
    with pytest.raises(CheckpointError, match="last.pt: checkpoint not found"):
        run_session(ToyGame(), run, config(steps=2), resume=True)
    run_session(ToyGame(), run, config(steps=2), resume=False)
    with pytest.raises(SessionError, match="already has checkpoints"):
        run_session(ToyGame(), run, config(steps=2), resume=False)


def test_unknown_best_metric(tmp_path: Path) -> None:
    run = RunDir("r", tmp_path, tensorboard=False)
    with pytest.raises(SessionError, match="best_metric 'acc' is not among the evaluated metrics"):
        run_session(ToyGame(), run, config(best_metric="acc"), resume=False)


def test_bad_session_config() -> None:
    with pytest.raises(ValueError, match="SessionConfig.log_every"):
        config(log_every=-1)
    with pytest.raises(ValueError, match="SessionConfig.max_wall_s"):
        config(max_wall_s=0)


class Optim(Section):
    name: Literal["sgd", "adam"] = "sgd"
    lr: float = 0.1


class Recipe(Section):
    steps: int = 10
    optim: Optim = Optim()


def test_resume_guard(tmp_path: Path) -> None:
    run = RunDir("g", tmp_path, tensorboard=False)
    with pytest.raises(SessionError, match="recipe.yaml is missing"):
        resume_guard(run, load_recipe(Recipe, None))
    dump_recipe(load_recipe(Recipe, None, ["optim.lr=1e-3"]), run.recipe_path)
    resume_guard(run, load_recipe(Recipe, None, ["optim.lr=1e-3"]))
    longer = load_recipe(Recipe, None, ["optim.lr=1e-3", "steps=20"])
    resume_guard(run, longer, changeable=["steps"])
    resume_guard(run, recipe_hash(longer, ignore=["steps"]), changeable=["steps"])
    with pytest.raises(SessionError) as info:
        resume_guard(run, load_recipe(Recipe, None, ["optim.lr=0.5", "steps=20"]), changeable=["steps"])
    message = str(info.value)
    assert str(run.path) in message and "optim.lr: 0.001 -> 0.5" in message and "steps:" not in message
    with pytest.raises(SessionError, match="refusing to resume"):
        resume_guard(run, recipe_hash(longer))

"""run_session's lifecycle: non-finite states are never written, SIGTERM/SIGUSR1 stop cleanly and resumably,
stale temporary files are removed, and resuming checks fingerprints and the number of steps."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from dfkd.engine import NonFiniteError
from dfkd.runs.checkpoint import load_checkpoint
from dfkd.runs.run_dir import RunDir
from dfkd.runs.session import Fingerprint, SessionError, run_session
from tests.runs.test_session import (
    ToyGame,
    assert_same_parameters,
    config,
    full_run,
    resume_fresh,
    rows,
    seed_everything,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _no_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DFKD_NO_PROGRESS", "1")


class PoisonedGame(ToyGame):
    """ToyGame whose first layer's weights become inf at step ``poison_at`` (after that step's update)."""

    def __init__(self, poison_at: int, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.poison_at = poison_at

    def train_step(self, step: int) -> dict[str, float | torch.Tensor]:
        out = super().train_step(step)
        if step == self.poison_at:
            with torch.no_grad():
                self.model[0].weight[0, 0] = float("inf")
        return out


class SignalGame(ToyGame):
    """ToyGame that sends itself ``sig`` during step ``at``."""

    def __init__(self, sig: signal.Signals, at: int) -> None:
        super().__init__()
        self.sig, self.at = sig, at

    def train_step(self, step: int) -> dict[str, float | torch.Tensor]:
        if step == self.at:
            os.kill(os.getpid(), self.sig)
        return super().train_step(step)


# ------------------------------------------------------------------------------------------------ non-finite


def test_a_non_finite_state_is_never_written_and_the_error_names_the_last_good_checkpoint(tmp_path: Path) -> None:
    run = RunDir("diverged", tmp_path, tensorboard=False)
    with pytest.raises(NonFiniteError) as info:
        run_session(PoisonedGame(poison_at=7), run, config(), resume=False)  # checkpoints at 5, 10
    message = str(info.value)
    assert f"{run.last_checkpoint} (step 5)" in message and "kept unchanged" in message
    assert "game.model.0.weight" in message and "step 10" in message and "lower the learning rates" in message
    for path in (run.last_checkpoint, run.best_checkpoint):
        state = load_checkpoint(path)
        assert state["session"]["step"] <= 5
        assert all(torch.isfinite(t).all() for t in state["game"]["model"].values())
    assert run.read_summary()["stopped"] == "non_finite"
    assert not [p for p in run.checkpoint_dir.iterdir() if p.name.endswith(".tmp")]


def test_non_finite_before_any_checkpoint_says_none_is_left(tmp_path: Path) -> None:
    run = RunDir("early", tmp_path, tensorboard=False)
    with pytest.raises(NonFiniteError, match="no checkpoint was written before"):
        run_session(PoisonedGame(poison_at=1), run, config(eval_every=0, best_metric=None), resume=False)
    assert not run.last_checkpoint.exists()


def test_a_non_finite_interrupt_checkpoint_is_refused_too(tmp_path: Path) -> None:
    run = RunDir("int", tmp_path, tensorboard=False)
    game = PoisonedGame(poison_at=6, interrupt_at=7)
    with pytest.raises(NonFiniteError, match=r"last.pt \(step 5\)"):
        run_session(game, run, config(eval_every=0, best_metric=None), resume=False)
    assert load_checkpoint(run.last_checkpoint)["session"]["step"] == 5


# ------------------------------------------------------------------------------------------------- signals


@pytest.mark.parametrize("name", ["SIGTERM", "SIGUSR1"])
def test_sigterm_and_sigusr1_are_deferred_to_the_end_of_the_step(tmp_path: Path, name: str) -> None:
    sig = getattr(signal, name)
    if signal.getsignal(sig) is not signal.SIG_DFL:
        pytest.skip(f"{name} is handled by someone else")
    full, full_dir, _ = full_run(tmp_path)
    seed_everything(123)
    run = RunDir("sig", tmp_path, tensorboard=False)
    with pytest.raises(KeyboardInterrupt):
        run_session(SignalGame(sig, at=3), run, config(checkpoint_every=0), resume=False)
    assert signal.getsignal(sig) is signal.SIG_DFL  # the default handler is back
    assert load_checkpoint(run.last_checkpoint)["session"]["step"] == 3
    assert run.read_summary()["stopped"] == "interrupted"
    resumed = resume_fresh(run, config())
    assert_same_parameters(full, resumed)
    assert rows(run) == rows(full_dir)


SCRIPT = """
import sys
import torch
from dfkd.runs.run_dir import RunDir
from dfkd.runs.session import run_session
from tests.runs.test_session import ToyGame, config, seed_everything

torch.set_num_threads(1)
seed_everything(123)
run = RunDir("term", sys.argv[1], tensorboard=False)
run_session(ToyGame(sleep=0.1), run, config(checkpoint_every=0), resume=False)
"""


def test_sigterm_on_a_real_process_leaves_a_resumable_run(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(tmp_path)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    metrics = tmp_path / "term" / "metrics.jsonl"
    deadline = time.monotonic() + 120
    while not (metrics.exists() and metrics.read_text().strip()) and proc.poll() is None:
        assert time.monotonic() < deadline, "the training process logged nothing"
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode != 0, err.decode()
    assert b"SIGTERM: stopping after this step" in out + err
    run = RunDir("term", tmp_path, tensorboard=False)
    done = load_checkpoint(run.last_checkpoint)["session"]["step"]
    assert 2 <= done < 12 and run.read_summary()["stopped"] == "interrupted"
    torch.set_num_threads(1)
    full, full_dir, _ = full_run(tmp_path)
    resumed = resume_fresh(run, config())
    assert_same_parameters(full, resumed)
    assert rows(run) == rows(full_dir)


# --------------------------------------------------------------------------------------- stale temporaries


def test_temporaries_of_killed_writes_are_removed_on_the_next_start(tmp_path: Path) -> None:
    seed_everything(123)
    run = RunDir("tmp", tmp_path, tensorboard=False)
    run_session(ToyGame(), run, config(steps=5), resume=False)
    stale = [run.checkpoint_dir / ".last.pt.k3j_x9a2.tmp", run.path / ".summary.json.abcdefgh.tmp"]
    kept = [run.checkpoint_dir / "notes.tmp", run.checkpoint_dir / ".hidden"]
    for path in stale + kept:
        path.write_bytes(b"partial")
    run_session(ToyGame(), run, config(steps=6), resume=True)
    assert not any(p.exists() for p in stale) and all(p.exists() for p in kept)


# ------------------------------------------------------------------------------------------------- resume


def test_resume_refuses_another_fingerprint_and_fewer_steps(tmp_path: Path) -> None:
    run = RunDir("fp", tmp_path, tensorboard=False)
    teacher = Fingerprint("aaaa", "the teacher file t.pt", "Restore it.")
    run_session(ToyGame(), run, config(steps=6), resume=False, fingerprints={"teacher": teacher})
    assert load_checkpoint(run.last_checkpoint)["fingerprints"] == {"teacher": "aaaa"}
    changed = Fingerprint("bbbb", "the teacher file t.pt", "Restore it.")
    expected = r"the teacher file t.pt changed since last.pt was written \(saved aaaa, now bbbb\)"
    with pytest.raises(SessionError, match=expected):
        run_session(ToyGame(), run, config(steps=8), resume=True, fingerprints={"teacher": changed})
    with pytest.raises(SessionError, match="refusing to resume with 4 steps: this run has already done 6"):
        run_session(ToyGame(), run, config(steps=4), resume=True, fingerprints={"teacher": teacher})
    assert load_checkpoint(run.last_checkpoint)["session"]["step"] == 6  # nothing changed by the refusals
    summary = run_session(ToyGame(), run, config(steps=8), resume=True, fingerprints={"teacher": teacher})
    assert summary["steps"] == 8


class WrongDeviceGame(ToyGame):
    """A game whose saved state cannot be restored here (as a batch stream saved on another kind of device)."""

    def load_state_dict(self, state: dict) -> None:
        raise ValueError("the batch stream was saved on another kind of device than cpu")


def test_a_checkpoint_that_does_not_fit_the_game_is_one_clean_error(tmp_path: Path) -> None:
    run = RunDir("moved", tmp_path, tensorboard=False)
    run_session(ToyGame(), run, config(steps=4), resume=False)
    with pytest.raises(SessionError, match="refusing to resume: the batch stream was saved on another kind"):
        run_session(WrongDeviceGame(), run, config(steps=6), resume=True)

"""The training loop shared by every job (distillation, GAN, teacher training): a :class:`Game` played for
``steps`` rounds, with logging, evaluation, checkpoints, resume and a progress bar.

Steps are numbered from 1; ``train_step(step)`` is called for ``step = 1 .. steps`` and a checkpoint at
``step`` means "steps 1..step are done". What happens after each step, in order:

1. Training scalars are accumulated; every ``log_every`` steps their MEAN over the window since the last row
   is logged as ``train/<name>`` (NaN values are left out of the mean: they mark a value a round does not have,
   e.g. gamma statistics when every sample was guarded; a name with no other value in the window is not logged).
   The open window is saved in checkpoints, so a resumed run logs exactly the rows an uninterrupted run logs. At
   the last step of a session an unfinished window is logged too (without closing it, for the same reason).

   A game may return its scalars as device tensors: they are kept as they are and read all at once when a row is
   logged or a checkpoint written, so a round that does neither never waits for the device. At those points the
   session also waits for the device explicitly (so ``train_wall_s`` counts the device's work) and calls the
   game's optional ``check()`` (e.g. the engine's limit on consecutive skipped updates, which may raise).
2. Every ``eval_every`` steps and at the last step: ``game.evaluate()``, logged as ``eval/<name>`` with
   ``eval_wall_s``. Evaluation and image sampling run with the RNG state saved and restored around them, so
   they never change the training trajectory. If ``best_metric`` improved, ``checkpoints/best.pt``.
3. Train and eval values of one step go into ONE metrics row, with ``train_wall_s`` (training time so far,
   excluding evaluation, checkpoints, logging; accumulated across resumes) and ``images_per_s``.
4. Every ``image_every`` steps and at the last step: a grid of ``game.sample_images()`` (``images/``, TB).
5. Every ``checkpoint_every`` steps and at the last step: ``checkpoints/last.pt`` (atomic).

The session ends after ``steps``, when training time reaches ``max_wall_s`` (a total over resumes), or on
Ctrl-C, SIGTERM or SIGUSR1 (what batch schedulers send before killing a job): the first one stops at the end of
the current step and writes ``last.pt`` (then KeyboardInterrupt propagates: the run is resumable); a second one
stops at once without a checkpoint. A KeyboardInterrupt raised by the game itself also writes ``last.pt`` for
the last completed step, so games must raise it before changing any state. Any other exception propagates
without a checkpoint (the state may be inconsistent; the last periodic one stays).

No checkpoint holds a non-finite value: a state with an inf/NaN in any floating tensor (weights, BatchNorm
statistics, optimiser moments) is refused before writing (one device-side reduction per checkpoint, no
per-step synchronisation), the previous ``last.pt`` / ``best.pt`` stay, and the run stops with
:class:`~dfkd.engine.NonFiniteError` naming the last good checkpoint.

Resuming restores the game, all RNGs and the session counters from ``last.pt`` and drops metrics rows logged
after it; on CPU the resumed run is bit-identical to an uninterrupted one. Checkpoints carry the run's
:class:`Fingerprint` values (e.g. the recipe hash, the teacher's weights sha256); resuming with a different one
is refused, and so is resuming with fewer ``steps`` than the run has already done. Temporary files left by
checkpoint writes that were killed mid-way are deleted when a session starts.
"""

from __future__ import annotations

import json
import logging
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType, MappingProxyType
from typing import Any, Literal, Protocol

import torch
from pydantic import BaseModel
from tqdm import tqdm

from dfkd.config.load import read_yaml_mapping, recipe_to_dict
from dfkd.config.load import recipe_hash as compute_recipe_hash
from dfkd.config.sections import RunSection
from dfkd.diagnostics.host_syncs import explicit_synchronize
from dfkd.distributed import any_rank, from_main, run_on_main, world_size
from dfkd.engine.safety import NonFiniteError
from dfkd.runs.checkpoint import (
    NonFiniteStateError,
    capture_rng_state,
    load_checkpoint,
    restore_rng_state,
    save_checkpoint,
)
from dfkd.runs.run_dir import RunDir, check_scalar, to_float, to_floats
from dfkd.runtime import resolve_precision

logger = logging.getLogger(__name__)

#: Metrics-row keys that depend on the wall clock (differ between otherwise identical runs).
WALL_CLOCK_KEYS: frozenset[str] = frozenset({"train_wall_s", "images_per_s", "eval_wall_s"})
_NO_META: Mapping[str, object] = MappingProxyType({})
#: Rounds whose device-tensor scalars are held before they are read even without a logged row (bounds memory).
MAX_PENDING_ROUNDS = 256


class SessionError(RuntimeError):
    """A session cannot start or resume (existing run, changed recipe, unknown best metric, ...)."""


@dataclass(frozen=True)
class Fingerprint:
    """Something a run depends on, as a hash: saved in every checkpoint; resuming with another one is refused.

    ``what`` names it in the error (e.g. ``"the teacher file checkpoints/t.pt"``); ``hint`` says what to do.
    """

    value: str
    what: str
    hint: str = "Restore the original, or start a new run."


def recipe_fingerprint(recipe: BaseModel, changeable: Iterable[str]) -> Fingerprint:
    """The recipe's hash without the keys that may change on resume: catches a hand-edited ``recipe.yaml``."""
    changeable = tuple(changeable)
    return Fingerprint(
        compute_recipe_hash(recipe, ignore=changeable),
        "the recipe (recipe.yaml)",
        f"Only {', '.join(changeable) or 'no keys'} may change on resume: restore the original values, or start a "
        "new run",
    )


def precision_fingerprint(run: RunSection, device: torch.device) -> Fingerprint:
    """The arithmetic the run computes in: ``run.precision=auto`` resolved on this machine (bf16 or fp32), so a
    run is not resumed in another one on a machine that resolves it otherwise."""
    return Fingerprint(
        resolve_precision(run.precision, device),
        "the run's precision (run.precision resolved on this machine)",
        "Resume on a machine that computes in the same precision, or start a new run",
    )


class Game(Protocol):
    """What :func:`run_session` plays. ``sample_images`` returns images in ``[-1, 1]``; a game whose images
    live in another range sets an attribute ``image_range = (low, high)``. ``evaluate`` must leave the
    models in training mode (as it found them). ``train_step`` may return 0-dim device tensors (preferred: no
    host synchronisation). A game may also define ``check()``, called whenever the session reads the scalars
    (logged rows, checkpoints), to raise on a failure it detects on the device, and ``best_state_dict()``, the
    state ``best.pt`` keeps (default: ``state_dict()``): it may leave out what only resuming needs, since runs
    resume from ``last.pt``."""

    images_per_step: int

    def train_step(self, step: int) -> Mapping[str, float | torch.Tensor]: ...

    def evaluate(self) -> Mapping[str, float]: ...

    def state_dict(self) -> dict: ...

    def load_state_dict(self, state: dict) -> None: ...

    def sample_images(self) -> torch.Tensor | None: ...


@dataclass
class SessionConfig:
    """How long to train and how often to log / evaluate / checkpoint / draw images (0 = never periodically)."""

    steps: int
    eval_every: int
    log_every: int
    checkpoint_every: int
    image_every: int
    best_metric: str | None = None
    best_mode: Literal["max", "min"] = "max"
    max_wall_s: float | None = None

    def __post_init__(self) -> None:
        for name in ("steps", "eval_every", "log_every", "checkpoint_every", "image_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"SessionConfig.{name}: expected an integer >= 0, got {value!r}")
        if self.best_mode not in ("max", "min"):
            raise ValueError(f"SessionConfig.best_mode: expected 'max' or 'min', got {self.best_mode!r}")
        if self.max_wall_s is not None and not self.max_wall_s > 0:
            raise ValueError(
                f"SessionConfig.max_wall_s: expected a positive number of seconds or None, got {self.max_wall_s!r}"
            )


@dataclass
class _State:
    """Session counters; saved as ``checkpoint["session"]`` (plain types only, for weights_only loading)."""

    step: int = 0
    train_wall_s: float = 0.0
    images: int = 0
    skipped: float | None = None
    window_sum: dict[str, float] = field(default_factory=dict)
    window_count: dict[str, int] = field(default_factory=dict)
    last_eval_step: int | None = None
    last_image_step: int | None = None
    last_metrics: dict[str, float] = field(default_factory=dict)
    best: float | None = None
    best_step: int | None = None
    best_metrics: dict[str, float] = field(default_factory=dict)

    def add(self, scalars: Mapping[str, float]) -> None:
        """One round's scalars into the window; NaN values are left out (the name is remembered)."""
        for key, value in scalars.items():
            self.window_sum.setdefault(key, 0.0)
            self.window_count.setdefault(key, 0)
            if math.isnan(value):
                continue
            self.window_sum[key] += value
            self.window_count[key] += 1
        if "skipped" in scalars and not math.isnan(scalars["skipped"]):
            self.skipped = (self.skipped or 0.0) + scalars["skipped"]

    def window_means(self) -> dict[str, float]:
        return {key: total / self.window_count[key] for key, total in self.window_sum.items() if self.window_count[key]}


def _better(value: float, best: float | None, mode: str) -> bool:
    if math.isnan(value):
        return False
    return best is None or (value > best if mode == "max" else value < best)


#: Signals that stop a session cleanly (the first one: at the end of the step, with ``last.pt``).
STOP_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGUSR1") if hasattr(signal, name)
)


class _InterruptGuard:
    """Turns the first Ctrl-C / SIGTERM / SIGUSR1 into a request honoured at the next step boundary; a second
    one stops at once. Installed only in the main thread, and only over the default handlers (a handler that
    someone else installed is left alone)."""

    def __init__(self) -> None:
        self.requested = False
        self.forced = False
        self._previous: dict[signal.Signals, Any] = {}

    def __enter__(self) -> _InterruptGuard:
        if threading.current_thread() is threading.main_thread():
            for sig in STOP_SIGNALS:
                default = signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL
                if signal.getsignal(sig) is default:
                    self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            self.forced = True
            raise KeyboardInterrupt
        self.requested = True
        if signum == signal.SIGINT:
            tqdm.write("interrupted: stopping after this step and saving last.pt (Ctrl-C again to stop now, unsaved)")
        else:
            name = signal.Signals(signum).name
            tqdm.write(f"{name}: stopping after this step and saving last.pt ({name} again to stop now, unsaved)")

    def check(self) -> None:
        if any_rank(self.requested):  # under torchrun every rank stops after the same step
            raise KeyboardInterrupt

    def __exit__(self, *exc: object) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous = {}


@contextmanager
def _rng_isolated() -> Iterator[None]:
    """Run a block (evaluation, image sampling) without changing any RNG stream seen by training."""
    saved = capture_rng_state()
    try:
        yield
    finally:
        restore_rng_state(saved)


def _plain_meta(meta: Mapping[str, object]) -> dict[str, Any]:
    try:
        return json.loads(json.dumps(dict(meta)))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"run_session(meta=...): expected JSON-serialisable values: {exc}") from exc


class _Session:
    """One call of :func:`run_session`; holds the game, run, config and counters together."""

    def __init__(
        self,
        game: Game,
        run: RunDir,
        cfg: SessionConfig,
        meta: dict[str, Any],
        fingerprints: Mapping[str, Fingerprint] | None = None,
    ) -> None:
        self.game, self.run, self.cfg, self.meta = game, run, cfg, meta
        self.fingerprints = dict(fingerprints or {})
        self.state = _State()
        self.bar: Any = None
        self.good: dict[Path, int] = {}  # checkpoints known to be complete and finite -> their step
        self.pending: list[dict[str, torch.Tensor | float]] = []  # rounds' scalars not read yet, in order

    # ------------------------------------------------------------------------------------------ start / end
    def check_resumable(self, ckpt: Mapping[str, Any]) -> None:
        """Refuse to continue from ``ckpt`` with other fingerprints or with fewer steps than already done."""
        saved = ckpt.get("fingerprints") or {}
        for name, now in self.fingerprints.items():
            before = saved.get(name)
            if before is not None and before != now.value:
                raise SessionError(
                    f"{self.run.path}: refusing to resume: {now.what} changed since {self.run.last_checkpoint.name} "
                    f"was written (saved {before}, now {now.value}). {now.hint}"
                )
        if self.cfg.steps < self.state.step:
            raise SessionError(
                f"{self.run.path}: refusing to resume with {self.cfg.steps} steps: this run has already done "
                f"{self.state.step}. Ask for at least {self.state.step} steps"
            )

    def start(self, resume: bool) -> None:
        for leftover in self.run.remove_stale_temporaries():
            logger.info("removed %s, left by an interrupted write", leftover)
        if resume:
            ckpt = load_checkpoint(self.run.last_checkpoint)
            try:
                self.state = _State(**ckpt["session"])
            except TypeError as exc:
                raise SessionError(
                    f"{self.run.last_checkpoint}: key 'session': unexpected session state ({exc})"
                ) from exc
            self.check_resumable(ckpt)
            try:
                self.game.load_state_dict(ckpt["game"])
            except (SessionError, ValueError, RuntimeError, KeyError) as exc:  # a schedule that cannot be extended,
                # a batch stream saved on another kind of device, a state from another game
                raise SessionError(f"{self.run.path}: refusing to resume: {exc}") from exc
            restore_rng_state(ckpt["rng"])
            self.good[self.run.last_checkpoint] = self.state.step
            dropped = self.run.truncate_metrics(after_step=self.state.step)
            logger.info(
                "%s: resumed at step %d (dropped %d later metrics rows)", self.run.path, self.state.step, dropped
            )
        elif self.run.last_checkpoint.exists() or self.run.metrics_path.exists():
            raise SessionError(
                f"{self.run.path}: this run already has checkpoints or metrics; resume it (resume=True) or "
                "choose another run name"
            )
        disable = os.environ.get("DFKD_NO_PROGRESS") == "1" or not sys.stderr.isatty()
        self.bar = tqdm(total=self.cfg.steps, initial=self.state.step, unit="step", dynamic_ncols=True, disable=disable)

    def checkpoint(self, path: Path, *, best: bool = False) -> None:
        """Write the state to ``path`` (refused, with NonFiniteError, if any floating tensor is not finite): the
        full state, or for ``best`` the game's ``best_state_dict()`` where it has one."""
        self.read_pending()
        best_state_dict = getattr(self.game, "best_state_dict", None) if best else None
        state = {
            "game": best_state_dict() if callable(best_state_dict) else self.game.state_dict(),
            "session": asdict(self.state),
            "rng": capture_rng_state(),
            "meta": self.meta,
            "fingerprints": {name: f.value for name, f in self.fingerprints.items()},
        }
        # The state is built on every rank (it gathers per-rank RNG streams); rank 0 writes it, and a refusal
        # (non-finite values, full disk) is raised on every rank.
        run_on_main(lambda: save_checkpoint(path, state))
        self.good[Path(path)] = self.state.step
        self.run.flush()

    def non_finite_error(self, error: NonFiniteError) -> NonFiniteError:
        """``error`` with the step and the last good checkpoint (kept unchanged) added."""
        if self.good:
            path, step = max(self.good.items(), key=lambda item: (item[1], item[0] == self.run.last_checkpoint))
            kept = f"the last good checkpoint is {path} (step {step}), kept unchanged"
        else:
            kept = "no checkpoint was written before, so none is left to resume from"
        advice = ""
        if isinstance(error, NonFiniteStateError):
            advice = "; the training diverged: lower the learning rates or clip the gradients"
        return NonFiniteError(f"{self.run.path}: stopped at step {self.state.step}: {error} ({kept}){advice}")

    def summary(self, stopped: str) -> dict[str, Any]:
        s, cfg = self.state, self.cfg
        out: dict[str, Any] = dict(self.meta)
        out.update(
            steps=s.step,
            total_steps=cfg.steps,
            wall_s=s.train_wall_s,
            images_per_s=s.images / s.train_wall_s if s.train_wall_s > 0 else 0.0,
            images_seen=s.images,
            stopped=stopped,
            world_size=world_size(),
        )
        if cfg.best_metric is not None:
            out.update(best_metric=cfg.best_metric, best_mode=cfg.best_mode, best_step=s.best_step)
        for name, value in s.last_metrics.items():
            if name in s.best_metrics:
                out[f"{name}_best"] = s.best_metrics[name]
            out[f"{name}_last"] = value
        if s.skipped is not None:
            out["skipped_steps"] = int(s.skipped) if float(s.skipped).is_integer() else s.skipped
        return out

    # ------------------------------------------------------------------------------------------------ steps
    def train_one(self) -> dict[str, torch.Tensor | float]:
        """One round; its scalars are kept unread (device tensors stay on the device: no synchronisation)."""
        step = self.state.step + 1
        started = time.perf_counter()
        out = self.game.train_step(step)
        scalars = {key: check_scalar(key, value) for key, value in out.items()}
        self.pending.append(scalars)
        if len(self.pending) >= MAX_PENDING_ROUNDS:
            self.read_pending()
        self.state.train_wall_s += time.perf_counter() - started
        self.state.step = step
        self.state.images += int(self.game.images_per_step)
        self.bar.update(1)
        return scalars

    def read_pending(self) -> None:
        """Add the unread rounds' scalars to the window, in order (one host synchronisation per device)."""
        if not self.pending:
            return
        tensors = [v for scalars in self.pending for v in scalars.values() if isinstance(v, torch.Tensor)]
        floats = iter(to_floats(tensors))
        for scalars in self.pending:
            self.state.add({k: next(floats) if isinstance(v, torch.Tensor) else v for k, v in scalars.items()})
        self.pending = []

    def synchronize(self) -> None:
        """Wait for the device (counted as training time), read the pending scalars, run the game's check."""
        started = time.perf_counter()
        explicit_synchronize()
        self.read_pending()
        check = getattr(self.game, "check", None)
        if callable(check):
            check()
        self.state.train_wall_s += time.perf_counter() - started

    def due(self, final: bool) -> bool:
        """Whether :meth:`after_step` does anything at this step (log, evaluate, draw, checkpoint)."""
        step, cfg = self.state.step, self.cfg
        periods = (cfg.log_every, cfg.eval_every, cfg.image_every, cfg.checkpoint_every)
        return final or any(every and step % every == 0 for every in periods)

    def evaluate(self) -> dict[str, float]:
        s, cfg = self.state, self.cfg
        with _rng_isolated():
            metrics = from_main(lambda: {key: to_float(key, value) for key, value in self.game.evaluate().items()})
        s.last_metrics, s.last_eval_step = metrics, s.step
        if cfg.best_metric is None:  # no best checkpoint: report each metric's own best under best_mode
            for name, value in metrics.items():
                if _better(value, s.best_metrics.get(name), cfg.best_mode):
                    s.best_metrics[name] = value
            return metrics
        if cfg.best_metric not in metrics:
            raise SessionError(
                f"{self.run.path}: best_metric '{cfg.best_metric}' is not among the evaluated metrics "
                f"({', '.join(metrics) or 'none'})"
            )
        if _better(metrics[cfg.best_metric], s.best, cfg.best_mode):
            s.best, s.best_step, s.best_metrics = metrics[cfg.best_metric], s.step, dict(metrics)
            self.checkpoint(self.run.best_checkpoint, best=True)
        return metrics

    def after_step(self, final: bool) -> None:
        s, cfg, step = self.state, self.cfg, self.state.step
        if self.due(final):
            self.synchronize()
        row: dict[str, float] = {}
        if (cfg.log_every and step % cfg.log_every == 0) or (final and s.window_sum):
            row.update({f"train/{k}": v for k, v in s.window_means().items()})
            if cfg.log_every and step % cfg.log_every == 0:
                s.window_sum, s.window_count = {}, {}
        evaluated = False
        if (cfg.eval_every and step % cfg.eval_every == 0) or (final and s.last_eval_step != step):
            started = time.perf_counter()
            row.update({f"eval/{k}": v for k, v in self.evaluate().items()})
            row["eval_wall_s"] = time.perf_counter() - started
            evaluated = True
        if row:
            row["train_wall_s"] = s.train_wall_s
            row["images_per_s"] = s.images / s.train_wall_s if s.train_wall_s > 0 else 0.0
            self.run.log_metrics(step, row)
            self.show(row)
        if cfg.image_every and (step % cfg.image_every == 0 or (final and s.last_image_step != step)):
            self.images()
        if (cfg.checkpoint_every and step % cfg.checkpoint_every == 0) or final:
            self.checkpoint(self.run.last_checkpoint)
        if evaluated:
            self.run.write_summary(self.summary("running"))
            logger.info("step %d/%d: %s", step, cfg.steps, {k: v for k, v in row.items() if k.startswith("eval/")})

    def images(self) -> None:
        with _rng_isolated(), torch.no_grad():
            images = self.game.sample_images()
        if images is not None:
            value_range = tuple(getattr(self.game, "image_range", (-1.0, 1.0)))
            self.run.log_images("samples", self.state.step, images, value_range=value_range)
        self.state.last_image_step = self.state.step

    def show(self, row: Mapping[str, float]) -> None:
        shown = {k.removeprefix("train/"): v for k, v in row.items() if k.startswith("train/")}
        postfix = dict(list(shown.items())[:2])
        name = self.cfg.best_metric or next(iter(self.state.last_metrics), None)
        if name is not None and name in self.state.last_metrics:
            postfix[name] = self.state.last_metrics[name]
        self.bar.set_postfix({k: f"{v:.4g}" for k, v in postfix.items()}, refresh=False)

    # -------------------------------------------------------------------------------------------------- run
    def over_budget(self) -> bool:
        return self.cfg.max_wall_s is not None and any_rank(self.state.train_wall_s >= self.cfg.max_wall_s)

    def play(self, guard: _InterruptGuard) -> str:
        while self.state.step < self.cfg.steps and not self.over_budget():
            self.train_one()
            self.after_step(final=self.state.step >= self.cfg.steps or self.over_budget())
            guard.check()
        if self.state.last_eval_step != self.state.step:  # e.g. resumed a finished run or an exhausted budget
            self.after_step(final=True)
        return "completed" if self.state.step >= self.cfg.steps else "max_wall_s"


def run_session(
    game: Game,
    run: RunDir,
    cfg: SessionConfig,
    *,
    resume: bool,
    meta: Mapping[str, object] = _NO_META,
    fingerprints: Mapping[str, Fingerprint] | None = None,
) -> dict[str, Any]:
    """Play ``game`` for ``cfg.steps`` steps in ``run`` (see the module docstring); returns the summary.

    ``meta`` (JSON-serialisable) is stored in checkpoints and copied into summary.json. ``fingerprints`` are
    stored in checkpoints and compared on resume. With ``resume=True`` the run continues from
    ``checkpoints/last.pt`` (:class:`~dfkd.runs.checkpoint.CheckpointError` if missing; :class:`SessionError`
    if a fingerprint differs or ``cfg.steps`` is below the steps done); with ``resume=False`` a run directory
    that already has metrics or checkpoints is refused. Non-finite state: :class:`~dfkd.engine.NonFiniteError`.
    """
    session = _Session(game, run, cfg, _plain_meta(meta), fingerprints)
    session.start(resume)
    guard = _InterruptGuard()
    try:
        with guard:  # held while last.pt is written: a second signal then stops the write, keeping the old file
            try:
                stopped = session.play(guard)
            except KeyboardInterrupt:
                if not guard.forced:
                    session.checkpoint(run.last_checkpoint)
                    run.write_summary(session.summary("interrupted"))
                raise
    except NonFiniteError as exc:
        run.write_summary(session.summary("non_finite"))
        raise session.non_finite_error(exc) from exc
    finally:
        session.bar.close()
        run.flush()
    summary = session.summary(stopped)
    run.write_summary(summary)
    return summary


# ------------------------------------------------------------------------------------------------- resume


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(_flatten(value, dotted + "."))
        else:
            out[dotted] = value
    return out


def _is_under(key: str, prefixes: Iterable[str]) -> bool:
    return any(key == p or key.startswith(p + ".") for p in prefixes)


def resume_guard(run: RunDir, recipe_hash: str | BaseModel, *, changeable: Iterable[str] = ()) -> None:
    """Refuse to resume ``run`` with a recipe other than the one saved in its ``recipe.yaml``.

    ``recipe_hash`` is either the new recipe itself (then the differing keys are listed) or its hash computed
    as ``dfkd.config.load.recipe_hash(cfg, ignore=changeable)``. Dotted keys in ``changeable`` (e.g.
    ``"steps"``) may differ. Raises :class:`SessionError` naming the run directory.
    """
    changeable = tuple(changeable)
    if not run.recipe_path.is_file():
        raise SessionError(
            f"{run.path}: cannot resume: {run.recipe_path.name} is missing, so the recipe cannot be checked"
        )
    saved = read_yaml_mapping(run.recipe_path)
    saved_hash = compute_recipe_hash(saved, ignore=changeable)
    new_hash = recipe_hash if isinstance(recipe_hash, str) else compute_recipe_hash(recipe_hash, ignore=changeable)
    if saved_hash == new_hash:
        return
    detail = ""
    if isinstance(recipe_hash, BaseModel):
        old, new = _flatten(recipe_to_dict(saved)), _flatten(recipe_to_dict(recipe_hash))
        keys = [k for k in sorted(old.keys() | new.keys()) if old.get(k) != new.get(k) and not _is_under(k, changeable)]
        shown = ", ".join(f"{k}: {old.get(k, '<absent>')!r} -> {new.get(k, '<absent>')!r}" for k in keys[:8])
        detail = f"; changed: {shown}" + (f" (and {len(keys) - 8} more)" if len(keys) > 8 else "")
    allowed = ", ".join(changeable) if changeable else "none"
    raise SessionError(
        f"{run.path}: refusing to resume: the recipe differs from the one this run was started with "
        f"(saved {saved_hash}, now {new_hash}){detail}. Keys that may change on resume: {allowed}. "
        "Start a new run, or restore the original values."
    )

"""What the session games (distillation, GAN, teacher training) share, as small composable pieces.

* :class:`CheckpointedGame`: ``state_dict`` / ``load_state_dict`` from the parts a game names once
  (:meth:`~CheckpointedGame.checkpoint_parts`: a name -> a stateful object, or a list of them), in that order and
  under those keys.
* :class:`AdversarialGame`: what a game on the adversarial engine adds -- the skip check, the end of a round
  (schedulers stepped, statistics summarised, learning rates logged),
* :func:`optimised` (an optimiser with its schedule), :func:`engine_config`, :func:`latent_stream` and
  :class:`RankRng` (the seeded latent generator and its checkpoint part).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

import torch
from torch import Tensor, nn

from dfkd.config.sections import EngineSection, LrScheduleSection, OptimizerSection, RunSection
from dfkd.distributed import load_rank_state, rank_states, reseed_for_rank
from dfkd.engine import AdversarialEngine, EngineConfig, StepStats, summarize
from dfkd.engine.stats import Scalar
from dfkd.runtime import autocast_dtype, build_optimizer, build_scheduler, match_parameter_layouts


class Stateful(Protocol):
    def state_dict(self) -> Any: ...

    def load_state_dict(self, state: Any, /) -> Any: ...


Part = Stateful | Sequence[Stateful]


class RankRng:
    """A game's latent generator as a checkpoint part: every rank's state is saved; on load, a rank the
    checkpoint lacks is reseeded from ``seed`` (:func:`dfkd.distributed.load_rank_state`)."""

    def __init__(self, rng: torch.Generator, seed: int) -> None:
        self.rng, self.seed = rng, seed

    def state_dict(self) -> object:
        return rank_states(self.rng)

    def load_state_dict(self, state: Any, /) -> None:
        load_rank_state(self.rng, state, self.seed)


class CheckpointedGame:
    """Mixin: the game's checkpoint is the state of its :meth:`checkpoint_parts`, loaded back in that order."""

    def checkpoint_parts(self) -> dict[str, Part]:
        raise NotImplementedError

    def state_dict(self) -> dict[str, object]:
        return {
            name: [p.state_dict() for p in part] if isinstance(part, Sequence) else part.state_dict()
            for name, part in self.checkpoint_parts().items()
        }

    def load_state_dict(self, state: dict[str, object]) -> None:
        """Load every part; optimiser state then takes its parameters' memory layout (a checkpoint may come from
        a run whose networks had another one: :func:`~dfkd.runtime.match_parameter_layouts`)."""
        for name, part in self.checkpoint_parts().items():
            pieces = part if isinstance(part, Sequence) else [part]
            saved = state[name] if isinstance(part, Sequence) else [state[name]]
            for piece, piece_state in zip(pieces, saved, strict=True):  # type: ignore[call-overload]
                piece.load_state_dict(piece_state)
                if isinstance(piece, torch.optim.Optimizer):
                    match_parameter_layouts(piece)


class AdversarialGame(CheckpointedGame):
    """Mixin for a game on :class:`~dfkd.engine.AdversarialEngine`: needs ``engine``, ``schedulers`` and
    ``optimizers`` (log name -> optimiser, e.g. ``{"student": ...}`` logs ``lr_student``). Its images are drawn
    with the generator in :func:`~dfkd.data.eval.eval_mode`."""

    engine: AdversarialEngine
    schedulers: list[torch.optim.lr_scheduler.LRScheduler]
    optimizers: dict[str, torch.optim.Optimizer]

    def check(self) -> None:
        """Raise :class:`~dfkd.engine.NonFiniteError` after too many consecutive skipped updates (one host
        synchronisation; the session calls it whenever it reads the scalars)."""
        self.engine.check_skips()

    def finish_round(self, stats: list[StepStats], extra: Mapping[str, Scalar] = {}) -> dict[str, Scalar]:
        """Step the schedulers; the round's summarised statistics, ``extra`` and the learning rates (device
        tensors stay on the device: no host synchronisation)."""
        for scheduler in self.schedulers:
            scheduler.step()
        scalars = summarize(stats)
        scalars.update(extra)
        for name, optimizer in self.optimizers.items():
            scalars[f"lr_{name}"] = optimizer.param_groups[0]["lr"]
        return scalars


def optimised(
    parameters: Iterable[nn.Parameter], optimizer: OptimizerSection, schedule: LrScheduleSection | None, steps: int
) -> tuple[torch.optim.Optimizer, list[torch.optim.lr_scheduler.LRScheduler]]:
    """The recipe's optimiser and its learning-rate schedule over ``steps`` (none when ``schedule`` is None: an
    optimiser that never steps must not be scheduled)."""
    built = build_optimizer(parameters, optimizer)
    return built, [] if schedule is None else [build_scheduler(built, schedule, steps)]


def engine_config(
    run: RunSection,
    engine: EngineSection,
    device: torch.device,
    *,
    critic_clip_norm: float | None,
    generator_clip_norm: float | None,
) -> EngineConfig:
    """The engine's policy for a session game: the run's precision, the recipe's engine section, the skip limit
    checked only when the caller asks (:meth:`AdversarialGame.check`)."""
    return EngineConfig(
        autocast_dtype=autocast_dtype(run, device),
        coupling=engine.coupling,
        max_consecutive_skips=engine.max_consecutive_skips,
        skip_check="caller",
        critic_clip_norm=critic_clip_norm,
        generator_clip_norm=generator_clip_norm,
    )


def latent_stream(seed: int, device: torch.device, grid: int, nz: int) -> tuple[torch.Generator, Tensor]:
    """The game's latent generator seeded with ``seed`` and the ``grid`` fixed codes for image grids, drawn first
    from it (the same on every rank); then, under torchrun, the generator moves to this rank's own stream."""
    rng = torch.Generator(device=device)
    rng.manual_seed(seed)
    fixed_z = torch.randn(grid, nz, generator=rng, device=device)
    reseed_for_rank(rng, seed)
    return rng, fixed_z

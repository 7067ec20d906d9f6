"""Learning-rate schedules (dfkd.runtime.build_scheduler): cosine to 0, and what a resume with another length does."""

from __future__ import annotations

import math
from itertools import pairwise

import pytest
import torch

from dfkd.config.sections import LrScheduleSection
from dfkd.runs.session import SessionError
from dfkd.runtime import build_scheduler

COSINE = LrScheduleSection(name="cosine")


def _schedule(total: int, lr: float = 0.1) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    return optimizer, build_scheduler(optimizer, COSINE, total)


def _play(optimizer: torch.optim.Optimizer, scheduler: torch.optim.lr_scheduler.LRScheduler, steps: int) -> list[float]:
    lrs = []
    for _ in range(steps):
        optimizer.step()
        scheduler.step()
        lrs.append(optimizer.param_groups[0]["lr"])
    return lrs


def test_cosine_decays_to_zero_at_the_end() -> None:
    lrs = _play(*_schedule(4), 4)
    assert lrs == pytest.approx([0.05 * (1 + math.cos(math.pi * t / 4)) for t in range(1, 5)])
    assert lrs[-1] == 0.0


def test_resuming_with_more_steps_continues_the_decay_without_rising() -> None:
    optimizer, scheduler = _schedule(4)
    first = _play(optimizer, scheduler, 2)
    longer_optimizer, longer = _schedule(8)  # the resumed run asks for 8 steps
    longer_optimizer.load_state_dict(optimizer.state_dict())
    longer.load_state_dict(scheduler.state_dict())
    rest = _play(longer_optimizer, longer, 6)
    lrs = first + rest
    assert all(b < a for a, b in pairwise(lrs[:-1])), lrs  # strictly decreasing ...
    assert lrs[-1] == 0.0 and rest[0] == pytest.approx(first[-1] * 0.5 * (1 + math.cos(math.pi / 6)))
    again_optimizer, again = _schedule(8)  # a second resume with the same length changes nothing
    again_optimizer.load_state_dict(longer_optimizer.state_dict())
    again.load_state_dict(longer.state_dict())
    assert again.lr_lambdas[0].__dict__ == longer.lr_lambdas[0].__dict__


def test_extending_a_schedule_that_reached_zero_is_refused() -> None:
    optimizer, scheduler = _schedule(3)
    _play(optimizer, scheduler, 3)
    _, longer = _schedule(6)
    with pytest.raises(SessionError, match="ended at step 3"):
        longer.load_state_dict(scheduler.state_dict())


def test_a_cosine_annealing_state_from_earlier_versions_loads() -> None:
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    old = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=4)
    expected = _play(optimizer, old, 4)
    new_optimizer, new = _schedule(4)
    fresh = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    replay = torch.optim.lr_scheduler.CosineAnnealingLR(fresh, T_max=4)
    _play(fresh, replay, 2)
    new_optimizer.load_state_dict(fresh.state_dict())
    new.load_state_dict(replay.state_dict())
    assert _play(new_optimizer, new, 2) == pytest.approx(expected[2:])


def test_resuming_with_exactly_the_steps_done_leaves_the_schedule_as_it_is() -> None:
    # a run stopped by its wall-time budget or a signal, resumed with steps=<done> to finish it
    optimizer, scheduler = _schedule(8)
    _play(optimizer, scheduler, 5)
    _, same_length_as_done = _schedule(5)
    same_length_as_done.load_state_dict(scheduler.state_dict())  # no replan to an empty schedule, no error
    assert same_length_as_done.lr_lambdas[0].__dict__ == scheduler.lr_lambdas[0].__dict__

"""The games' shared base: checkpoint parts round-trip in order, optimiser/schedule pairs, the latent stream."""

from __future__ import annotations

import copy

import torch
from torch import nn

from dfkd.config.sections import LrScheduleSection, OptimizerSection
from dfkd.runs.game_base import CheckpointedGame, Part, RankRng, latent_stream, optimised


class TinyGame(CheckpointedGame):
    def __init__(self, seed: int) -> None:
        torch.manual_seed(seed)
        self.model = nn.Linear(3, 2)
        self.optimizer, self.schedulers = optimised(
            self.model.parameters(), OptimizerSection(name="sgd", lr=0.1), LrScheduleSection(name="cosine"), 10
        )
        self.rng, self.fixed_z = latent_stream(seed, torch.device("cpu"), 4, 5)

    def checkpoint_parts(self) -> dict[str, Part]:
        parts: dict[str, Part] = {"model": self.model, "optimizer": self.optimizer, "schedulers": self.schedulers}
        return {**parts, "rng": RankRng(self.rng, 0)}

    def step(self) -> None:
        self.model(torch.randn(8, 3, generator=self.rng)).square().mean().backward()
        self.optimizer.step()
        self.optimizer.zero_grad()
        for scheduler in self.schedulers:
            scheduler.step()


def test_checkpoint_parts_round_trip_bit_exactly() -> None:
    game = TinyGame(seed=1)
    game.step()
    state = copy.deepcopy(game.state_dict())  # a checkpoint file holds copies, not the live tensors
    assert list(state) == ["model", "optimizer", "schedulers", "rng"] and len(state["schedulers"]) == 1  # type: ignore[arg-type]
    game.step()
    expected = [p.clone() for p in game.model.parameters()]
    other = TinyGame(seed=2)
    other.load_state_dict(state)
    other.step()
    assert all(torch.equal(a, b) for a, b in zip(other.model.parameters(), expected, strict=True))
    assert other.optimizer.param_groups[0]["lr"] == game.optimizer.param_groups[0]["lr"] < 0.1


def test_an_unscheduled_optimiser_keeps_its_learning_rate() -> None:
    optimizer, schedulers = optimised(nn.Linear(2, 2).parameters(), OptimizerSection(name="sgd", lr=0.5), None, 10)
    assert schedulers == [] and optimizer.param_groups[0]["lr"] == 0.5


def test_latent_stream_draws_the_fixed_codes_first_from_the_seed() -> None:
    rng, fixed_z = latent_stream(7, torch.device("cpu"), 3, 4)
    reference = torch.Generator().manual_seed(7)
    assert torch.equal(fixed_z, torch.randn(3, 4, generator=reference))
    assert torch.equal(torch.randn(2, generator=rng), torch.randn(2, generator=reference))  # single process


class ConvGame(CheckpointedGame):
    """A conv net with a fused SGD (momentum) optimiser: the state whose layout must follow the weights'."""

    def __init__(self, memory_format: torch.memory_format) -> None:
        torch.manual_seed(0)
        self.model = nn.Conv2d(3, 4, 3).to(memory_format=memory_format)
        self.optimizer, _ = optimised(self.model.parameters(), OptimizerSection(name="sgd", lr=0.1), None, 10)

    def checkpoint_parts(self) -> dict[str, Part]:
        return {"model": self.model, "optimizer": self.optimizer}

    def step(self, seed: int) -> None:
        x = torch.randn(2, 3, 6, 6, generator=torch.Generator().manual_seed(seed))
        self.optimizer.zero_grad()
        self.model(x).square().mean().backward()
        self.optimizer.step()


def test_optimizer_state_takes_the_layout_of_the_weights_it_is_loaded_into() -> None:
    # A run saved with contiguous weights, resumed where the weights are channels-last (e.g. saved by an earlier
    # release): the fused kernel must not pair momentum and weights in the wrong element order.
    saved = ConvGame(torch.contiguous_format)
    saved.step(1)
    state = copy.deepcopy(saved.state_dict())
    resumed = ConvGame(torch.channels_last)
    resumed.load_state_dict(state)
    weight = resumed.model.weight
    momentum = resumed.optimizer.state[weight]["momentum_buffer"]
    expected = saved.optimizer.state[saved.model.weight]["momentum_buffer"]
    assert momentum.stride() == weight.stride() and torch.equal(momentum, expected)
    saved.step(2)
    resumed.step(2)
    torch.testing.assert_close(resumed.model.weight, saved.model.weight, rtol=1e-6, atol=1e-7)

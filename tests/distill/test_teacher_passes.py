"""What a distillation round costs in teacher forwards, counted through the real method path
(DistillGame.train_step), and that reusing the teacher's outputs changes no number."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from dfkd.config.load import RecipeError
from dfkd.distill.config import DistillRecipe
from dfkd.distill.game import DistillGame
from dfkd.models import create_model
from dfkd.teachers.record import TeacherInfo


@pytest.fixture(autouse=True)
def _one_thread():  # type: ignore[no-untyped-def]
    """Tiny networks: threads only add overhead (the games here are built without the run's settings)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class CountingTeacher(nn.Module):
    """A teacher network that counts its forwards, plain or with features."""

    def __init__(self) -> None:
        super().__init__()
        self.network = create_model("simple_cnn", num_classes=10, width=4, depth=2)
        self.forwards = 0

    def forward(self, x: Tensor) -> Tensor:
        self.forwards += 1
        return self.network(x)

    def forward_with_features(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        self.forwards += 1
        return self.network.forward_with_features(x)


def _game(**top: object) -> tuple[DistillGame, CountingTeacher]:
    torch.manual_seed(0)
    teacher = CountingTeacher()
    info = TeacherInfo("simple_cnn", 10, (3, 32, 32), (0.5,) * 3, (0.25,) * 3)
    recipe: dict[str, object] = {
        "teacher": {"checkpoint": "unused.pt"},
        "student": {"arch": "simple_cnn", "kwargs": {"width": 4, "depth": 2}},
        "generator": {"arch": "dfad_generator", "kwargs": {"nz": 8, "ngf": 4}},
        "batch_size": 4,
        "noise_pool": 16,
        "steps": 10,
    }
    recipe.update(top)
    g = torch.Generator().manual_seed(1)
    images, labels = torch.rand(8, 3, 32, 32, generator=g), torch.randint(10, (8,), generator=g)
    game = DistillGame(DistillRecipe.model_validate(recipe), torch.device("cpu"), teacher, info, images, labels)
    return game, teacher


def _forwards_per_round(game: DistillGame, teacher: CountingTeacher) -> list[int]:
    counts = []
    for step in range(2):
        before = teacher.forwards
        game.train_step(step)
        counts.append(teacher.forwards - before)
    return counts


ZSKT = {"method": "zskt", "loss": {"discrepancy": "kl", "attention_beta": 250.0}}
REPLAY = {"replay": {"capacity": 16, "steps": 3, "per_round": 2}}


@pytest.mark.parametrize(
    ("recipe", "expected"),
    [
        ({**ZSKT, "student_steps": 10}, 2),  # one generator update + one pass reused by all 10 student steps
        ({**ZSKT, "student_steps": 1}, 2),
        ({"method": "zskt", "student_steps": 4, "loss": {"priors": {"bn": 1.0}}}, 2),
        ({"method": "dfad", "student_steps": 5}, 6),  # 5 student steps on fresh fakes + 1 generator step
        ({"method": "onestage", "student_steps": 5}, 5),  # 4 student-only steps + 1 joint step
        ({"method": "onestage", "student_steps": 2, **REPLAY}, 2 + 2),  # + 2 stored batches, 0 per replay step
        ({**ZSKT, "student_steps": 10, "loss": {"discrepancy": "kl"}, **REPLAY}, 2 + 2),
    ],
)
def test_teacher_forwards_per_round(recipe: dict, expected: int) -> None:
    game, teacher = _game(**recipe)
    assert _forwards_per_round(game, teacher) == [expected, expected]


def test_the_noise_control_labels_its_pool_once() -> None:
    game, teacher = _game(method="noise", student_steps=3, noise_pool=16)
    assert _forwards_per_round(game, teacher) == [4, 0]  # the 16-image pool in chunks of the batch (4), then none


def test_the_noise_control_with_attention_transfer_runs_the_teacher_per_step() -> None:
    game, teacher = _game(method="noise", student_steps=3, loss={"discrepancy": "kl", "attention_beta": 250.0})
    assert _forwards_per_round(game, teacher) == [3, 3]  # features for a whole pool are not kept


def _without_reuse(game: DistillGame) -> None:
    """Make every student step run the teacher afresh on its batch (drop the precomputed pass)."""
    critic_step = game.engine.critic_step
    game.engine.critic_step = lambda batch, fake=None, precomputed=None: critic_step(batch, fake)  # type: ignore[method-assign]


def _states(game: DistillGame) -> list[Tensor]:
    return [*game.student.state_dict().values(), *game.generator.state_dict().values()]


@pytest.mark.parametrize(
    "recipe", [{**ZSKT, "student_steps": 10}, {"method": "zskt", "student_steps": 3, "loss": {"priors": {"bn": 1.0}}}]
)
def test_zskt_reuse_changes_no_number(recipe: dict) -> None:
    reused, reused_teacher = _game(**recipe)
    fresh, fresh_teacher = _game(**recipe)
    _without_reuse(fresh)
    assert _forwards_per_round(fresh, fresh_teacher) == [recipe["student_steps"] + 2] * 2  # the old, missed cache
    assert _forwards_per_round(reused, reused_teacher) == [2, 2]
    for a, b in zip(_states(reused), _states(fresh), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize(
    "recipe",
    [
        {"method": "onestage", "student_steps": 2, **REPLAY},  # replay memory: logits stored with the samples
        {"method": "noise", "student_steps": 3},  # the noise control: the pool labelled once
    ],
)
def test_stored_teacher_logits_match_fresh_teacher_passes(recipe: dict) -> None:
    reused, _ = _game(**recipe)
    fresh, _ = _game(**recipe)
    _without_reuse(fresh)
    for step in range(2):
        reused.train_step(step)
        fresh.train_step(step)
    for a, b in zip(_states(reused), _states(fresh), strict=True):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("recipe", [{**ZSKT, "student_steps": 2}, {"student_steps": 2, **REPLAY}])
def test_reused_teacher_passes_run_in_the_runs_precision(recipe: dict) -> None:
    game, teacher = _game(**recipe, run={"precision": "bf16"})
    assert _forwards_per_round(game, teacher) == [2 + (2 if "replay" in recipe else 0)] * 2


def test_replay_with_attention_transfer_is_a_recipe_error() -> None:
    with pytest.raises(RecipeError, match=r"replay.*loss.attention_beta"):
        _game(**ZSKT, **REPLAY)

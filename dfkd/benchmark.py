"""Side-by-side cost of one-stage and two-stage training rounds, measured in one process.

Each contender is a full training round of a real game (distillation or GAN) built from a recipe, differing
only in ``method`` (distillation) or ``train.stage`` (GAN). Rounds are timed in interleaved blocks (A B, B A,
A B, ...) so that drifting machine load affects both alike, and the report gives medians and **ratios**:
absolute times on a shared machine mean little, the ratio of two measured side by side does.

Beside each measured ratio the report gives:

* the ratio **predicted** from the measured cost of each network pass (:mod:`dfkd.diagnostics.pass_costs`, the
  paper's Eq. 17 analysis with the generator forward reused in two-stage rounds);
* each contender's **engine overhead**: its rounds against a minimal hand-written loop doing the same passes on
  the same networks (:mod:`dfkd.diagnostics.hand_loop`), timed in the same interleaved blocks;
* its **host synchronisations per round** (:mod:`dfkd.diagnostics.host_syncs`; rounds alone, no logging).

Weights do not change the cost: when the teacher's checkpoint is absent, a randomly initialised teacher stands in
for it (of ``teacher.arch``, or of the architecture in the teacher recipe that ``train_if_missing`` would train),
so benchmarks need neither data for the teacher nor a trained teacher.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from dfkd.config.load import RecipeError, load_recipe
from dfkd.diagnostics.hand_loop import HAND_ROUNDS
from dfkd.diagnostics.host_syncs import HostSyncCounter, explicit_synchronize
from dfkd.diagnostics.pass_costs import UNITS, BenchModules, RoundShape, measure_pass_costs, predicted_round_cost
from dfkd.runtime import apply_run_settings

if TYPE_CHECKING:  # the games and recipes are imported only when a benchmark builds them
    from torch import nn

    from dfkd.data.spec import DatasetSpec
    from dfkd.distill.config import DistillRecipe
    from dfkd.distill.game import DistillGame
    from dfkd.gan.game import GanGame
    from dfkd.teachers.record import TeacherInfo

#: The round plan (dfkd.diagnostics.pass_costs.ROUND_PLANS) of each distillation method and GAN stage with one.
DISTILL_PLANS = {"onestage": "one-stage", "dfad": "fresh-two-stage"}
GAN_PLANS = {"one": "one-stage", "two": "two-stage"}
HAND = " (hand)"


@dataclass
class Contender:
    """One way of training, as a callable that runs one round; ``plan``/``modules``/``shape`` (optional) give
    its passes per round, for the predicted cost and the hand-written reference loop."""

    name: str
    round: Callable[[int], object]
    images_per_round: int
    plan: str | None = None
    modules: BenchModules | None = None
    shape: RoundShape | None = None


@dataclass(frozen=True)
class _Planned:
    """A contender whose passes per round are known (plan, modules and shape all given)."""

    name: str
    images_per_round: int
    plan: str
    modules: BenchModules
    shape: RoundShape

    @classmethod
    def of(cls, c: Contender) -> _Planned | None:
        if c.plan is None or c.modules is None or c.shape is None:
            return None
        return cls(c.name, c.images_per_round, c.plan, c.modules, c.shape)

    def hand_round(self) -> Callable[[int], object]:
        """The hand-written loop doing the same passes on the same networks (the step number is unused)."""
        run_round, modules = HAND_ROUNDS.get(self.plan), self.modules
        return lambda step: run_round(modules)


@dataclass
class Timing:
    name: str
    seconds_per_round: list[float]
    images_per_round: int
    syncs_per_round: float | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.seconds_per_round)

    @property
    def images_per_s(self) -> float:
        return self.images_per_round / self.median

    @property
    def spread(self) -> float:
        """(max - min) / median of the blocks' seconds per round."""
        return (max(self.seconds_per_round) - min(self.seconds_per_round)) / self.median


def time_interleaved(
    contenders: Sequence[Contender], *, rounds: int, repeats: int, warmup: int, device: torch.device
) -> list[Timing]:
    """Seconds per round of each contender: ``repeats`` blocks of ``rounds`` rounds, alternating the order.

    Host synchronisations made inside the rounds are counted too (``Timing.syncs_per_round``)."""
    step = 0
    for contender in contenders:
        for _ in range(warmup):
            step += 1
            contender.round(step)
    samples: dict[str, list[float]] = {c.name: [] for c in contenders}
    syncs: dict[str, int] = {c.name: 0 for c in contenders}
    for repeat in range(repeats):
        order = contenders if repeat % 2 == 0 else list(reversed(contenders))
        for contender in order:
            explicit_synchronize(device)
            start = time.perf_counter()
            with HostSyncCounter() as counter:
                for _ in range(rounds):
                    step += 1
                    contender.round(step)
            explicit_synchronize(device)
            samples[contender.name].append((time.perf_counter() - start) / rounds)
            syncs[contender.name] += counter.total
    return [Timing(c.name, samples[c.name], c.images_per_round, syncs[c.name] / (rounds * repeats)) for c in contenders]


def format_timings(timings: Sequence[Timing], baseline: str) -> str:
    """A table of medians with each contender's speed-up over ``baseline`` (its s/round over theirs)."""
    reference = next(t for t in timings if t.name == baseline)
    title = f"speed-up vs {baseline}"
    width = len(title) + 2
    lines = [f"{'contender':<12} {'s/round (median)':>17} {'spread':>8} {'images/s':>10} {title:>{width}}"]
    for t in timings:
        lines.append(
            f"{t.name:<12} {t.median:>17.4f} {t.spread:>8.0%} {t.images_per_s:>10.0f} "
            f"{reference.median / t.median:>{width - 1}.3f}x"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- full report
@dataclass
class BenchReport:
    """Everything one ``dfkd bench`` measured: timings (contenders and their hand-written loops), pass costs."""

    contenders: list[Contender]
    timings: dict[str, Timing]
    pass_costs: dict[str, float] | None
    baseline: str
    device: str = "cpu"
    predicted: dict[str, float] = field(default_factory=dict)

    def engine_overhead(self, name: str) -> float | None:
        hand = self.timings.get(name + HAND)
        return None if hand is None else self.timings[name].median / hand.median - 1

    def pairs(self) -> list[dict[str, object]]:
        """One record per contender compared with the baseline (the JSON objects of ``dfkd bench --json``)."""
        base = self.timings[self.baseline]
        out = []
        for contender in self.contenders:
            if contender.name == self.baseline:
                continue
            names = [contender.name, self.baseline]
            timing = self.timings[contender.name]
            predicted = None
            if contender.name in self.predicted and self.baseline in self.predicted:
                predicted = self.predicted[self.baseline] / self.predicted[contender.name]
            out.append(
                {
                    "contender": contender.name,
                    "baseline": self.baseline,
                    "device": self.device,
                    "measured_ratio": base.median / timing.median,
                    "predicted_ratio": predicted,
                    "engine_overhead": {n: self.engine_overhead(n) for n in names},
                    "syncs_per_round": {n: self.timings[n].syncs_per_round for n in names},
                    "seconds_per_round": {n: self.timings[n].median for n in names},
                    "hand_seconds_per_round": {
                        n: self.timings[n + HAND].median if n + HAND in self.timings else None for n in names
                    },
                    "pass_seconds": self.pass_costs,
                }
            )
        return out

    def to_json_lines(self) -> str:
        return "\n".join(json.dumps(pair) for pair in self.pairs())

    def format(self) -> str:
        base = self.timings[self.baseline]
        title = f"vs {self.baseline}"
        lines = [
            f"{'contender':<12} {'s/round':>9} {'spread':>7} {'images/s':>9} {'syncs/round':>11} "
            f"{'engine overhead':>15} {'speed-up ' + title:>{len(title) + 10}} {'predicted':>9}"
        ]
        for contender in self.contenders:
            t = self.timings[contender.name]
            overhead = self.engine_overhead(contender.name)
            predicted = None
            if contender.name in self.predicted and self.baseline in self.predicted:
                predicted = self.predicted[self.baseline] / self.predicted[contender.name]
            lines.append(
                f"{t.name:<12} {t.median:>9.4f} {t.spread:>7.0%} {t.images_per_s:>9.0f} "
                f"{t.syncs_per_round or 0:>11.2f} "
                f"{'-' if overhead is None else f'{overhead:+.1%}':>15} "
                f"{base.median / t.median:>{len(title) + 9}.3f}x {'-' if predicted is None else f'{predicted:.3f}x':>9}"
            )
        if self.pass_costs:
            lines.append(
                "pass costs (ms): "
                + ", ".join(f"{u} {1e3 * v:.2f}" for u, v in self.pass_costs.items())
                + "  (G: generator, D: critic; ng: no grad, fb: forward+backward, p/i: backward to "
                "parameters/input)"
            )
        lines.append(
            "engine overhead: rounds against a minimal hand-written loop on the same networks; predicted: "
            "from the pass costs (Eq. 17 analysis); syncs: host synchronisations inside the rounds"
        )
        return "\n".join(lines)


def run_benchmark(
    contenders: Sequence[Contender],
    *,
    rounds: int,
    repeats: int,
    warmup: int,
    device: torch.device,
    baseline: str | None = None,
    pass_repeats: int = 5,
) -> BenchReport:
    """Time the contenders and their hand-written loops side by side, measure pass costs, predict the ratios."""
    for name, value, low in (("rounds", rounds, 1), ("repeats", repeats, 1), ("warmup", warmup, 0)):
        if not isinstance(value, int) or value < low:
            raise ValueError(f"--{name}: expected an integer >= {low}, got {value!r}")
    planned = [p for p in map(_Planned.of, contenders) if p is not None]
    hands = [Contender(p.name + HAND, p.hand_round(), p.images_per_round) for p in planned]
    timed = time_interleaved([*contenders, *hands], rounds=rounds, repeats=repeats, warmup=warmup, device=device)
    costs = None
    predicted: dict[str, float] = {}
    if planned:  # same networks in every contender: one table, the mean over them
        tables = [measure_pass_costs(p.modules, repeats=pass_repeats, device=device) for p in planned]
        costs = {unit: statistics.fmean(t[unit] for t in tables) for unit in UNITS}
        predicted = {p.name: predicted_round_cost(p.plan, p.shape, costs) for p in planned}
    return BenchReport(
        contenders=list(contenders),
        timings={t.name: t for t in timed},
        pass_costs=costs,
        baseline=baseline or contenders[-1].name,
        device=str(device),
        predicted=predicted,
    )


# ---------------------------------------------------------------------------------------------- distillation
def _stand_in_teacher(recipe: DistillRecipe, data_spec: DatasetSpec) -> tuple[nn.Module, TeacherInfo]:
    """The recipe's teacher if its checkpoint exists, else a random one of ``teacher.arch`` -- or of the teacher
    recipe's architecture when the teacher would be trained on first use (same cost)."""
    from dfkd.distill.job import _complete_info
    from dfkd.models import create_model
    from dfkd.recipes import packaged_recipe
    from dfkd.teachers.config import TeacherRecipe
    from dfkd.teachers.ensure import ensure_teacher
    from dfkd.teachers.record import TeacherInfo

    cfg = recipe.teacher
    if Path(cfg.checkpoint).is_file():
        teacher, info = ensure_teacher(cfg)
        return teacher, _complete_info(info, data_spec, cfg.checkpoint)
    arch, kwargs = cfg.arch, cfg.arch_kwargs or {}
    if arch is None and cfg.train_if_missing:
        teacher_recipe = load_recipe(TeacherRecipe, cfg.teacher_recipe or packaged_recipe("quickstart-teacher"), [])
        arch, kwargs = teacher_recipe.model.arch, teacher_recipe.model.kwargs
    if arch is None:
        raise RecipeError(
            f"teacher.checkpoint {cfg.checkpoint} does not exist: set teacher.arch (e.g. teacher.arch=cifar_resnet34) "
            "so that a randomly initialised teacher of that architecture can stand in for the benchmark"
        )
    num_classes = cfg.num_classes or data_spec.num_classes
    teacher = create_model(arch, num_classes=num_classes, **kwargs)  # the critic freezes it
    size = data_spec.image_size
    info = TeacherInfo(arch, num_classes, (data_spec.channels, size, size), data_spec.mean, data_spec.std)
    return teacher, info


def _modules(game: DistillGame | GanGame, critic_steps: int) -> BenchModules:
    engine = game.engine
    return BenchModules(
        generator=engine.generator,
        critic=engine.critic,
        generator_optimizer=engine.generator_optimizer,
        critic_optimizer=engine.critic_optimizer,
        objective=engine.objective,
        critic_penalty=engine.critic_penalty,
        draw=game._draw,
        critic_steps=critic_steps,
        autocast_dtype=engine.config.autocast_dtype,
    )


def distill_contenders(
    recipe_path: str, overrides: Sequence[str], methods: Sequence[str]
) -> tuple[list[Contender], torch.device]:
    """One :class:`~dfkd.distill.game.DistillGame` per method, from the same recipe and seed."""
    from dfkd.data import dataset_spec
    from dfkd.distill.config import DistillRecipe
    from dfkd.distill.game import DistillGame

    contenders, device = [], torch.device("cpu")
    for method in methods:
        recipe = load_recipe(DistillRecipe, recipe_path, [*overrides, f"method={method}"])
        device = apply_run_settings(recipe.run)
        spec = dataset_spec(recipe.data.name, recipe.data.root)
        teacher, info = _stand_in_teacher(recipe, spec)  # its input size is the data's
        eval_images = torch.zeros(8, spec.channels, spec.image_size, spec.image_size, dtype=torch.uint8)
        game = DistillGame(recipe, device, teacher, info, eval_images, torch.zeros(8, dtype=torch.long))
        plan = DISTILL_PLANS.get(method) if game.memory is None else None  # replay steps are not in the plans
        contenders.append(
            Contender(
                method,
                game.train_step,
                game.images_per_step,
                plan,
                _modules(game, recipe.student_steps),
                RoundShape(recipe.student_steps, real=False),
            )
        )
    return contenders, device


# ---------------------------------------------------------------------------------------------- GAN
def gan_contenders(
    recipe_path: str, overrides: Sequence[str], stages: Sequence[str]
) -> tuple[list[Contender], torch.device]:
    """One :class:`~dfkd.gan.game.GanGame` per stage, from the same recipe and seed (FID/KID off)."""
    from dfkd.gan.config import GanRecipe
    from dfkd.gan.job import build_game

    contenders, device = [], torch.device("cpu")
    for stage in stages:
        recipe = load_recipe(GanRecipe, recipe_path, [*overrides, f"train.stage={stage}", "fid.enabled=false"])
        device = apply_run_settings(recipe.run)
        game = build_game(recipe, device).game  # its networks prepared (channels-last, compile) by the game
        steps = recipe.train.critic_steps
        shape = RoundShape(steps, real=True, generator_uses_real=game.engine.objective.generator_uses_real)
        contenders.append(
            Contender(
                f"{stage}-stage",
                game.train_step,
                game.images_per_step,
                GAN_PLANS.get(stage),
                _modules(game, steps),
                shape,
            )
        )
    return contenders, device

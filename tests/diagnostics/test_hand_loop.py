"""The hand-written rounds (the yardstick of the engine's overhead) perform the same updates as the engine's rounds,
in the run's precision."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from dfkd.benchmark import Contender, distill_contenders, gan_contenders
from dfkd.diagnostics.hand_loop import HAND_ROUNDS
from dfkd.diagnostics.pass_costs import BenchModules
from dfkd.engine import AdversarialEngine, EngineConfig, one_stage_round, two_stage_round
from tests.distill.conftest import tiny_recipe
from tests.gan.conftest import write_blob_folder
from tests.gan.helpers import recipe_path, tiny_overrides

ENGINE_ROUNDS: dict[str, Callable[[AdversarialEngine, BenchModules], object]] = {
    "one-stage": lambda e, m: one_stage_round(e, m.draw, critic_steps=m.critic_steps),
    "two-stage": lambda e, m: two_stage_round(e, m.draw, critic_steps=m.critic_steps, reuse_fake=True),
    "fresh-two-stage": lambda e, m: two_stage_round(e, m.draw, critic_steps=m.critic_steps, reuse_fake=False),
}


def _distill(tmp_path: Path, method: str, *overrides: str) -> Contender:
    return distill_contenders(str(tiny_recipe(tmp_path)), list(overrides), [method])[0][0]


def _gan(tmp_path: Path, variant: str, stage: str) -> Contender:
    folder = tmp_path / "blobs"
    if not folder.exists():
        write_blob_folder(folder, per_class=8)
    overrides = tiny_overrides(folder, "train.critic_steps=2")
    return gan_contenders(str(recipe_path(variant, stage)), overrides, [stage])[0][0]


CASES = {
    "distill onestage (symmetric, joint update)": lambda tmp: _distill(tmp, "onestage"),
    "distill dfad (fresh two-stage)": lambda tmp: _distill(tmp, "dfad"),
    "gan dcgan-asym one-stage (per-sample gamma)": lambda tmp: _gan(tmp, "dcgan-asym", "one"),
    "gan wgan-gp two-stage (penalty, shared forward)": lambda tmp: _gan(tmp, "wgan-gp", "two"),
    "gan cgan one-stage (labels)": lambda tmp: _gan(tmp, "cgan", "one"),
}


def _state(m: BenchModules) -> dict[str, torch.Tensor]:
    return {**{f"G.{k}": v for k, v in m.generator.state_dict().items()},
            **{f"D.{k}": v for k, v in m.critic.state_dict().items()}}  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_hand_round_performs_the_engine_rounds_update(case: str, tmp_path: Path) -> None:
    """Two identical games (same recipe and seed): one trained by the engine's round, one by the hand round."""
    engine_side, hand_side = CASES[case](tmp_path), CASES[case](tmp_path)
    assert engine_side.plan is not None and engine_side.modules is not None and hand_side.modules is not None
    m = engine_side.modules
    before = {k: v.clone() for k, v in _state(m).items()}
    assert all(torch.equal(v, _state(hand_side.modules)[k]) for k, v in before.items())
    engine = AdversarialEngine(m.generator, m.critic, m.objective, m.generator_optimizer, m.critic_optimizer,  # type: ignore[arg-type]
                               EngineConfig(), m.critic_penalty)  # fmt: skip
    for step in range(2):
        torch.manual_seed(step)  # the same global draws (e.g. the gradient penalty's interpolation) on both sides
        ENGINE_ROUNDS[engine_side.plan](engine, m)
        torch.manual_seed(step)
        HAND_ROUNDS.get(engine_side.plan)(hand_side.modules)
    ours, theirs = _state(hand_side.modules), _state(m)
    for name, value in theirs.items():
        torch.testing.assert_close(ours[name], value, rtol=1e-4, atol=1e-6, msg=name)
    changed = [name for name, value in theirs.items() if not torch.equal(value, before[name])]
    assert any(n.startswith("G.") for n in changed) and any(n.startswith("D.") for n in changed)  # both learned


@pytest.mark.parametrize("method", ["onestage", "dfad"])
def test_hand_rounds_train_the_same_networks(method: str, tmp_path: Path) -> None:
    contender = _distill(tmp_path, method)
    assert contender.plan is not None and contender.modules is not None
    params = contender.modules.generator_params + contender.modules.critic_params
    before = [p.detach().clone() for p in params]
    HAND_ROUNDS.get(contender.plan)(contender.modules)
    assert all(p.isfinite().all() for p in params)
    assert sum(not torch.equal(a, b) for a, b in zip(before, params, strict=True)) > len(params) // 2


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_hand_rounds_run_in_the_runs_precision(precision: str, tmp_path: Path) -> None:
    """The networks' forwards run under the engine's autocast; float16 gradients go through a GradScaler."""
    contender = _distill(tmp_path, "onestage", f"run.precision={precision}")
    modules = contender.modules
    assert modules is not None and modules.autocast_dtype == {"bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    assert modules.scaler.is_enabled() == (precision == "fp16")
    dtypes: list[torch.dtype] = []
    modules.generator.register_forward_hook(lambda module, args, out: dtypes.append(out.dtype))
    params = modules.generator_params
    before = [p.detach().clone() for p in params]
    HAND_ROUNDS.get("one-stage")(modules)
    assert dtypes and set(dtypes) == {modules.autocast_dtype}
    assert all(p.isfinite().all() for p in params)
    assert any(not torch.equal(a, b) for a, b in zip(before, params, strict=True))

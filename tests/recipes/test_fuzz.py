"""A seeded fuzzer over the quick-start recipe: every mutation either runs or is refused with one clean line.

Each case takes the packaged quick-start recipe (shrunk to tiny networks and a tiny teacher file), applies one
mutation -- a deleted key, a misspelt key, a value of another type, NaN/inf, a negative or a huge number -- and
runs ``dfkd distill RECIPE`` in-process. A case must end in one of two ways:

* refused: exit status 2, exactly one line on stderr (no traceback), and no run directory;
* accepted: the run starts (its directory holds the resolved recipe). Training is stopped right there, except
  for the first few accepted cases, which train one real step end to end and export the student.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import dfkd.distill.job as distill_job
from dfkd.cli import main
from dfkd.recipes import packaged_recipe
from tests.distill.conftest import write_tiny_teacher

SEED = 20240601
CASES = 100
END_TO_END = 5  # accepted cases that train one real step and export the student

Path_ = tuple[str, ...]

TINY = {
    "run": {"name": "fuzz", "root": "runs", "threads": 1},
    "data": {"max_items": 32, "batch_size": 32},
    "teacher": {"train_if_missing": False},
    "student": {"kwargs": {"width": 4, "depth": 2}},
    "generator": {"kwargs": {"nz": 8, "ngf": 4}},
    "steps": 1,
    "batch_size": 8,
    "student_steps": 2,
    "logging": {"log_every": 1, "eval_every": 1, "checkpoint_every": 1, "image_every": 1},
}
"""Shrinks the quick-start to seconds; ``teacher.checkpoint`` is set to a tiny teacher file by the test."""

# Replacement values by the type of the value they replace ("type swaps").
OTHER_TYPES: dict[type, list[Any]] = {
    bool: ["maybe", 7, 0.5, [True], None],
    int: ["abc", True, 0.5, [1, 2], {"a": 1}, None],
    float: ["abc", False, [0.1], {"a": 1.0}, None, 3],
    str: [7, 2.5, True, ["x"], {"a": "b"}, None],
    dict: ["abc", [1, 2], 3, None],
    list: ["abc", 3, {"a": 1}, None],
}
NON_FINITE = [math.nan, math.inf, -math.inf]
NEGATIVE = [-1, -0.5, -1e-3]
HUGE = [1e300, -1e300, 2**70]


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def base_recipe(teacher: Path) -> dict[str, Any]:
    quickstart = yaml.safe_load(Path(packaged_recipe("quickstart")).read_text())
    return _merge(_merge(quickstart, TINY), {"teacher": {"checkpoint": str(teacher)}})


def _keys(tree: dict[str, Any], prefix: Path_ = ()) -> Iterator[Path_]:
    for key, value in tree.items():
        yield (*prefix, key)
        if isinstance(value, dict):
            yield from _keys(value, (*prefix, key))


def _parent(tree: dict[str, Any], path: Path_) -> dict[str, Any]:
    for key in path[:-1]:
        tree = tree[key]
    return tree


def _value_of(tree: dict[str, Any], path: Path_) -> Any:
    return _parent(tree, path)[path[-1]]


def mutate(base: dict[str, Any], rng: random.Random) -> tuple[str, dict[str, Any]]:
    """One random mutation of ``base``: (a description, the mutated recipe)."""
    recipe = copy.deepcopy(base)
    kind = rng.choice(["delete", "misspell", "type", "non-finite", "negative", "huge"])
    paths = list(_keys(recipe))
    if kind in ("non-finite", "negative", "huge"):  # mostly where a number is read
        numbers = [p for p in paths if type(_value_of(recipe, p)) in (int, float)]
        paths = numbers if rng.random() < 0.8 else paths
    path = rng.choice(paths)
    parent, key, dotted = _parent(recipe, path), path[-1], ".".join(path)
    if kind == "delete":
        del parent[key]
        return f"delete {dotted}", recipe
    if kind == "misspell":
        parent[key + "x"] = parent.pop(key)
        return f"misspell {dotted}", recipe
    pool = {"type": OTHER_TYPES[type(parent[key])], "non-finite": NON_FINITE, "negative": NEGATIVE, "huge": HUGE}[kind]
    parent[key] = rng.choice(pool)
    return f"{dotted}={parent[key]!r} ({kind})", recipe


def cases() -> list[tuple[str, dict[str, Any]]]:
    rng = random.Random(SEED)
    base = base_recipe(Path("TEACHER"))
    return [mutate(base, rng) for _ in range(CASES)]


class RunStarted(Exception):
    """Raised instead of training: the run got as far as its first step."""


def test_every_mutation_runs_or_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DFKD_NO_PROGRESS", "1")
    teacher = write_tiny_teacher(tmp_path / "teacher.pt")
    real_session = distill_job.run_session
    budget = {"end_to_end": END_TO_END}

    def session(game, run, config, **kwargs):  # type: ignore[no-untyped-def]
        assert (run.path / "recipe.yaml").is_file()
        if budget["end_to_end"] <= 0:
            raise RunStarted(str(run.path))
        return real_session(game, run, dataclasses.replace(config, steps=1), **kwargs)  # one real step

    monkeypatch.setattr(distill_job, "run_session", session)
    outcomes = {"refused": 0, "started": 0, "trained": 0}
    for number, (description, recipe) in enumerate(cases()):
        text = yaml.safe_dump(recipe).replace("TEACHER", str(teacher))
        case = tmp_path / f"case{number:03d}"
        case.mkdir()
        (case / "recipe.yaml").write_text(text)
        monkeypatch.chdir(case)  # relative paths (run.root and its default) stay inside the case
        try:
            code = main(["distill", "recipe.yaml"])
        except RunStarted:
            outcomes["started"] += 1
            capsys.readouterr()
            continue
        err = capsys.readouterr().err
        if code == 0:
            outcomes["trained"] += 1
            budget["end_to_end"] -= 1
            assert list(case.glob("runs/*/student_last.pt")), description
            continue
        lines = err.splitlines()
        assert code == 2 and len(lines) == 1 and "Traceback" not in err, f"{description}: exit {code}\n{err}"
        assert lines[0].startswith("dfkd distill: error: "), description
        assert sorted(p.name for p in case.iterdir()) == ["recipe.yaml"], f"{description}: left a run directory"
        outcomes["refused"] += 1
    assert outcomes["trained"] == END_TO_END
    assert outcomes["refused"] >= 40 and outcomes["started"] + outcomes["trained"] >= 10, outcomes

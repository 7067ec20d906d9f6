"""Planning a comparison: its contenders, and one member run per contender and seed, in a fair order.

Members are interleaved by seed (A0 B0 A1 B1 ...), so that a slow drift of the machine's load touches every
contender alike. Each member is a normal ``dfkd distill`` run at ``<root>/<name>/<contender>-seed<seed>/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dfkd.compare.spec import CompareError, CompareSpec
from dfkd.config.load import load_recipe
from dfkd.distill.config import DistillRecipe
from dfkd.recipes import packaged_recipe


@dataclass(frozen=True)
class Contender:
    """One line of the comparison: a recipe, with its own method (``method=None``) or with ``method``."""

    label: str
    recipe: str
    method: str | None


@dataclass(frozen=True)
class Member:
    """One run of a contender with one seed; ``recipe`` is its resolved recipe (as a fresh run would use)."""

    contender: Contender
    seed: int
    path: Path
    overrides: tuple[str, ...]
    recipe: DistillRecipe

    @property
    def title(self) -> str:
        return f"{self.contender.label} seed {self.seed}"


def _recipe_labels(recipes: list[str]) -> list[str]:
    """File stems, made unique with the parent folder (``cifar10-onestage``) and then a number if needed."""
    stems = [Path(r).stem for r in recipes]
    labels = [s if stems.count(s) == 1 else f"{Path(r).parent.name}-{s}" for r, s in zip(recipes, stems, strict=False)]
    return [label if labels.count(label) == 1 else f"{label}-{i + 1}" for i, label in enumerate(labels)]


def plan_contenders(spec: CompareSpec) -> list[Contender]:
    recipes = list(spec.recipes) or [packaged_recipe("quickstart")]
    labels = _recipe_labels(recipes)
    if not spec.methods:
        return [Contender(label, recipe, None) for label, recipe in zip(labels, recipes, strict=False)]
    if len(recipes) == 1:
        return [Contender(method, recipes[0], method) for method in spec.methods]
    return [
        Contender(f"{label}-{m}", recipe, m)
        for label, recipe in zip(labels, recipes, strict=False)
        for m in spec.methods
    ]


def member_overrides(spec: CompareSpec, contender: Contender, seed: int) -> tuple[str, ...]:
    own = [
        f"run.root={spec.directory}",
        f"run.name={contender.label}-seed{seed}",
        f"run.seed={seed}",
        "noise_baseline=false",
        *([f"method={contender.method}"] if contender.method else []),
        *spec.budget.overrides(),
    ]
    return (*spec.overrides, *own)


def plan_members(spec: CompareSpec) -> tuple[list[Contender], list[Member]]:
    """The contenders, and the members in running order (seed-major); checks they share one teacher."""
    contenders = plan_contenders(spec)
    members = []
    for seed in spec.seeds:
        for contender in contenders:
            overrides = member_overrides(spec, contender, seed)
            recipe = load_recipe(DistillRecipe, contender.recipe, overrides)
            path = spec.directory / f"{contender.label}-seed{seed}"
            members.append(Member(contender, seed, path, overrides, recipe))
    _check_same_teacher(members)
    return contenders, members


def _check_same_teacher(members: list[Member]) -> None:
    """Every member must distil the same teacher file, measured on the same test data."""
    first = members[0]
    for member in members[1:]:
        mine, theirs = member.recipe, first.recipe
        same_file = Path(mine.teacher.checkpoint).resolve() == Path(theirs.teacher.checkpoint).resolve()
        for key, differs in (("teacher.checkpoint", not same_file), ("data", mine.data != theirs.data)):
            if differs:
                raise CompareError(
                    f"{member.contender.recipe}: {key} differs from {first.contender.recipe}'s; every contender "
                    "must use the same teacher and test data (set it with a key=value override)"
                )

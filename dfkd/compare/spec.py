"""What a comparison is asked to do: recipes, methods, seeds, one budget, where to write. Checked on creation."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from dfkd.distill.methods import METHODS

#: Fractions of the teacher's accuracy whose time to reach is reported.
FRACTIONS: tuple[float, ...] = (0.5, 0.8, 0.9, 0.95)

#: Recipe keys that ``dfkd compare`` sets on every member (a ``key=value`` for them is refused).
MANAGED_KEYS: tuple[str, ...] = ("run.root", "run.name", "run.seed", "noise_baseline", "logging.max_wall_s")


class CompareError(ValueError):
    """Bad arguments for a comparison, or a comparison directory started with other arguments."""


@dataclass(frozen=True)
class Budget:
    """The same training budget for every member: ``rounds`` (deterministic work) or training ``seconds``.

    A seconds budget becomes ``logging.max_wall_s``; the recipe's ``steps`` still sets the length of the
    learning-rate schedule and caps the run. A rounds budget becomes ``steps`` (and lifts any time limit).
    """

    kind: str  # "seconds" or "rounds"
    value: float

    def __post_init__(self) -> None:
        if self.kind not in ("seconds", "rounds"):
            raise CompareError(f"budget: expected 'seconds' or 'rounds', got {self.kind!r}")
        positive = math.isfinite(self.value) and self.value > 0
        if not positive or (self.kind == "rounds" and not float(self.value).is_integer()):
            what = "a positive integer" if self.kind == "rounds" else "a positive number"
            raise CompareError(f"--budget-{self.kind}: expected {what}, got {self.value:g}")

    def overrides(self) -> list[str]:
        if self.kind == "rounds":
            return [f"steps={int(self.value)}", "logging.max_wall_s=null"]
        return [f"logging.max_wall_s={float(self.value)}"]

    def describe(self) -> str:
        return f"{int(self.value)} rounds" if self.kind == "rounds" else f"{float(self.value):g} s of training"

    def as_dict(self) -> dict[str, float]:
        return {self.kind: int(self.value) if self.kind == "rounds" else float(self.value)}


@dataclass(frozen=True)
class CompareSpec:
    """A comparison of contenders x seeds under one budget, written to ``<root>/<name>/``.

    ``methods`` empty: every recipe is one contender with its own ``method`` (needs two or more recipes).
    Otherwise every recipe runs with every method. ``recipes`` empty: the packaged quick-start. ``reference``:
    the contender whose final accuracy the others' time is measured to (None: the best mean last accuracy); it
    changes only the summary, never the runs.
    """

    budget: Budget
    recipes: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    seeds: tuple[int, ...] = (0,)
    name: str | None = None
    root: str = "compare"
    overrides: tuple[str, ...] = field(default=())
    reference: str | None = None

    def __post_init__(self) -> None:
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown:
            known = ", ".join(METHODS.names())
            raise CompareError(f"--methods: unknown method {unknown[0]!r}; expected some of {known}")
        if len(set(self.methods)) != len(self.methods):
            raise CompareError(f"--methods: a method is listed twice ({', '.join(self.methods)})")
        if not self.seeds:
            raise CompareError("--seeds: expected at least one integer seed")
        if len(set(self.seeds)) != len(self.seeds):
            raise CompareError(f"--seeds: a seed is listed twice ({', '.join(map(str, self.seeds))})")
        if not self.methods and len(self.recipes) < 2:
            raise CompareError("--methods: give methods to compare, or two or more recipes")
        if self.name is not None and (not self.name or "/" in self.name or self.name in (".", "..")):
            raise CompareError(f"--name: expected a plain directory name, got {self.name!r}")
        for override in self.overrides:
            key = override.partition("=")[0].strip()
            budgeted = key == "steps" and self.budget.kind == "rounds"
            if key in MANAGED_KEYS or budgeted or (key == "method" and self.methods):
                raise CompareError(
                    f"override '{override}': dfkd compare sets {key} itself "
                    "(see --budget-*, --seeds, --methods, --name)"
                )
        missing = [r for r in self.recipes if not Path(r).is_file()]
        if missing:
            raise CompareError(f"{missing[0]}: recipe file not found")

    @property
    def directory(self) -> Path:
        return Path(self.root) / (self.name or default_name(self.recipes))


def default_name(recipes: tuple[str, ...]) -> str:
    """``quickstart`` without recipes, else the recipes' file stems joined by ``-vs-``."""
    return "-vs-".join(Path(r).stem for r in recipes) if recipes else "quickstart"


def parse_seeds(text: str) -> tuple[int, ...]:
    """``"0,1,2"`` -> ``(0, 1, 2)``; CompareError naming --seeds otherwise."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    try:
        return tuple(int(p) for p in parts)
    except ValueError:
        raise CompareError(f"--seeds: expected comma-separated integers (e.g. 0,1,2), got {text!r}") from None


def parse_budget(seconds: str | None, rounds: str | None) -> Budget:
    """Exactly one of ``--budget-seconds`` / ``--budget-rounds``."""
    if (seconds is None) == (rounds is None):
        raise CompareError(
            "give exactly one budget: --budget-seconds N or --budget-rounds N"
            + (" (not both)" if seconds is not None else "")
        )
    kind, text = ("seconds", seconds) if seconds is not None else ("rounds", rounds)
    try:
        value = float(text)  # type: ignore[arg-type]
    except ValueError:
        raise CompareError(f"--budget-{kind}: expected a number, got {text!r}") from None
    return Budget(kind, value)

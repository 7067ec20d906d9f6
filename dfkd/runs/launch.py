"""Planning a run directory for a recipe: a new run, or ``--resume runs/<name>`` of an existing one.

:func:`plan_run` resolves the recipe and the directory without touching the disk, so a job can check its data
and models first; :meth:`PlannedRun.open` then creates ``runs/<name>/`` and writes the resolved recipe to
``recipe.yaml`` before anything else. Resuming reads that file back (the original recipe file is not needed),
applies command-line overrides and refuses changes other than the ``changeable`` keys (e.g. the number of
steps). A new run never overwrites an old one: when ``runs/<name>`` already holds a run, the new one becomes
``runs/<name>-2`` (``-3``, ...).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from dfkd.config.base import Section
from dfkd.config.load import RecipeError, dump_recipe, load_recipe
from dfkd.distributed import from_main, run_on_main
from dfkd.distributed.run_dir import FollowerRunDir
from dfkd.runs.run_dir import RunDir
from dfkd.runs.session import SessionError, resume_guard

R = TypeVar("R", bound=Section)


@dataclass(frozen=True)
class PlannedRun(Generic[R]):
    recipe: R
    path: Path
    resuming: bool
    changeable: tuple[str, ...] = ()

    def open(self) -> RunDir:
        """Create (or reopen) the run directory and record the resolved recipe; under torchrun rank 0 does it
        while the others wait, and they get a :class:`FollowerRunDir` that writes nothing."""
        return run_on_main(self._open) or FollowerRunDir(self.path.name, root=self.path.parent)

    def _open(self) -> RunDir:
        run = RunDir(self.path.name, root=self.path.parent)
        if self.resuming:
            resume_guard(run, self.recipe, changeable=self.changeable)
        dump_recipe(self.recipe, run.recipe_path)  # when resuming: records changed allowed keys (e.g. steps)
        return run


def unwritable_reason(path: Path) -> str | None:
    """Why a directory could not be created (or written) at ``path``, judged from its nearest existing
    ancestor without creating anything; None when nothing stands in the way."""
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is a file, not a directory"
    if hasattr(os, "statvfs") and os.statvfs(existing).f_flag & os.ST_RDONLY:
        return f"{existing} is on a read-only file system"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing} is not writable (permission denied)"
    return None


def _check_writable(path: Path, what: str) -> None:
    reason = unwritable_reason(path)
    if reason is not None:
        raise RecipeError(f"{what}: cannot write the run directory {path}: {reason}")


def holds_run(path: Path) -> bool:
    return (path / "metrics.jsonl").exists() or (path / "checkpoints").exists()


def free_run_name(root: Path, name: str) -> str:
    """``name``, or ``name-2``, ``name-3``, ... : the first that does not hold a run yet (never overwrite)."""
    candidate, number = name, 1
    while holds_run(root / candidate):
        number += 1
        candidate = f"{name}-{number}"
    return candidate


def plan_run(
    schema: type[R],
    recipe_path: str | None,
    overrides: Sequence[str],
    *,
    resume: str | None = None,
    changeable: Sequence[str] = (),
) -> PlannedRun[R]:
    """Resolve the recipe and the run directory (the schema must have a ``run`` RunSection).

    Everything that can be checked without writing is checked here, before the caller loads data or models:
    the recipe (see :mod:`dfkd.config`) and whether the run directory can be written (``run.root`` under a
    regular file, on a read-only file system or without permission is a :class:`RecipeError`).
    """
    if resume is not None:
        path = Path(resume)
        if not (path / "recipe.yaml").is_file():
            raise SessionError(f"{path}: not a dfkd run directory (no recipe.yaml); cannot resume it")
        recipe = load_recipe(schema, path / "recipe.yaml", overrides)
        _check_writable(path, "--resume")
        return PlannedRun(recipe, path, True, tuple(changeable))
    recipe = load_recipe(schema, recipe_path, overrides)
    settings = recipe.run  # type: ignore[attr-defined]
    root = Path(settings.root)
    _check_writable(root / settings.name, f"run.root={settings.root}")
    name = from_main(lambda: free_run_name(root, settings.name))  # torchrun: rank 0 names it for all
    if name != settings.name:
        print(f"{root / settings.name} already holds a run (continue it with --resume); this run is {root / name}")
        recipe = recipe.model_copy(update={"run": settings.model_copy(update={"name": name})})
    return PlannedRun(recipe, root / name, False, tuple(changeable))

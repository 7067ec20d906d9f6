"""Running one member: start it, resume it if it was interrupted, or leave it alone if it has finished.

A member's own ``recipe.yaml`` decides: a finished member is only re-read, so rerunning ``dfkd compare`` with
the same arguments resumes the comparison and never repeats work. A member whose recipe differs from the
planned one is refused (SessionError naming the keys), so results never mix two settings.
"""

from __future__ import annotations

import shutil
from enum import Enum

from dfkd.compare.plan import Member
from dfkd.distill.config import CHANGEABLE_ON_RESUME
from dfkd.distill.job import run_distill
from dfkd.runs.launch import holds_run
from dfkd.runs.run_dir import RunDir
from dfkd.runs.session import resume_guard

#: ``stopped`` values of a summary.json whose run needs no more training.
FINISHED = frozenset({"completed", "max_wall_s"})


class MemberState(Enum):
    NEW = "new"
    PARTIAL = "partial"  # interrupted: resumable from checkpoints/last.pt
    DONE = "done"


def member_state(member: Member) -> MemberState:
    """Where a member stands on disk; checks that an existing member was started with the planned recipe."""
    path = member.path
    if not holds_run(path):
        return MemberState.NEW
    run = RunDir(path.name, root=path.parent, tensorboard=False)
    if not run.last_checkpoint.is_file():  # killed before its first checkpoint: nothing to resume
        print(f"{path}: no checkpoint to resume from; starting this member again")
        shutil.rmtree(path)
        return MemberState.NEW
    resume_guard(run, member.recipe, changeable=[k for k in CHANGEABLE_ON_RESUME if k not in ("steps", "logging")])
    summary = run.read_summary() or {}
    return MemberState.DONE if summary.get("stopped") in FINISHED else MemberState.PARTIAL


def run_member(member: Member, state: MemberState) -> dict:
    """Train (or finish training) one member; returns its summary."""
    if state is MemberState.DONE:
        return RunDir(member.path.name, root=member.path.parent, tensorboard=False).read_summary() or {}
    if state is MemberState.PARTIAL:
        return run_distill(
            None, [o for o in member.overrides if o.startswith(("steps=", "logging."))], resume=str(member.path)
        )
    summary = run_distill(member.contender.recipe, member.overrides)
    if summary["run_dir"] != str(member.path):  # plan_run never overwrites: it would have picked another name
        raise RuntimeError(f"{member.path}: the member ran in {summary['run_dir']} instead")
    return summary

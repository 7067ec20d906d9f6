"""Which exceptions are the user's to fix, and the one line the command line prints for each.

:func:`user_error_line` is the single place that decides: an error type listed in :func:`user_error_types`
prints its own message (written to name the file, key or option and what was expected); an ``OSError`` from
the file system (read-only or full disk, a path under a regular file, missing permission) prints the path and
the reason in words. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import errno
import sys
from collections.abc import Callable

# errno -> what to say after the path; these come from writing (a run directory, a checkpoint, an image).
_WRITE_ERRORS: dict[int, str] = {
    errno.EROFS: "read-only file system",
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EFBIG: "file too large for the file system",
}
# errno -> what to say after the path; these name the path's problem whatever the operation was.
_PATH_ERRORS: dict[int, str] = {
    errno.ENOTDIR: "a part of this path is a file, not a directory",
    errno.EISDIR: "is a directory, expected a file",
    errno.EEXIST: "already exists and is not a directory",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENAMETOOLONG: "file name too long",
    errno.ENOENT: "no such file or directory",
}


def user_error_types() -> tuple[type[BaseException], ...]:
    """Errors whose message tells the user what to fix: printed as they are, without a traceback."""
    from dfkd.config.load import RecipeError
    from dfkd.data.errors import DataError, DataNotFoundError
    from dfkd.engine import CouplingError, NonFiniteError
    from dfkd.gan.job import GanSetupError
    from dfkd.metrics.errors import ExtractorWeightsError
    from dfkd.models._factory import ModelArgumentError, UnknownModelError
    from dfkd.registry import UnknownNameError
    from dfkd.runs.checkpoint import CheckpointError
    from dfkd.runs.session import SessionError
    from dfkd.runtime import DeviceError
    from dfkd.teachers.load import TeacherLoadError

    return (
        CommandLineError, RecipeError, DataNotFoundError, DataError, TeacherLoadError, CheckpointError, SessionError,
        CouplingError,
        NonFiniteError, GanSetupError, ExtractorWeightsError, ModelArgumentError, UnknownModelError,
        UnknownNameError, DeviceError,
    )  # fmt: skip


def os_error_line(err: OSError) -> str | None:
    """``cannot write runs/x/recipe.yaml: read-only file system`` and the like; None for other OSErrors."""
    path = err.filename if err.filename is not None else None
    if err.errno in _WRITE_ERRORS:
        reason = _WRITE_ERRORS[err.errno]
        return f"cannot write {path}: {reason}" if path is not None else f"cannot write: {reason}"
    if err.errno in _PATH_ERRORS and path is not None:
        return f"{path}: {_PATH_ERRORS[err.errno]}"
    return None


def user_error_line(err: BaseException) -> str | None:
    """The single line to print for a user error (newlines folded into ``; ``), or None for a bug."""
    line: str | None
    if isinstance(err, user_error_types()):
        line = str(err)
    elif isinstance(err, OSError):
        line = os_error_line(err)
    else:
        line = None
    return None if line is None else "; ".join(part.strip() for part in line.splitlines() if part.strip())


def exit_code_reporting_user_errors(prog: str, run: Callable[[], int]) -> int:
    """``run()``; a user error is printed as ``<prog>: error: <one line>`` on stderr and gives exit status 2.
    Anything else (a bug) propagates with its traceback."""
    try:
        return run()
    except Exception as err:
        line = user_error_line(err)
        if line is None:
            raise
        print(f"{prog}: error: {line}", file=sys.stderr)
        return 2


class CommandLineError(Exception):
    """Arguments that cannot be used together (e.g. a recipe with ``--resume``); the message says what to give."""

"""Atomic file writes: the file at ``path`` is always either the complete old version or the complete new one.

The data goes to a temporary file in the same directory, which is flushed and fsynced, then renamed over
``path`` with :func:`os.replace` (atomic on POSIX and Windows), and finally the directory is fsynced so the
rename itself survives a power cut. If writing fails, the temporary file is removed and ``path`` is untouched.
A process killed mid-write (SIGKILL, power cut) cannot remove its temporary file: :func:`remove_stale_temporaries`
deletes such leftovers when the directory's owner starts again.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path, PurePath
from typing import IO, Any

# ``.<target name>.<8 random characters from tempfile>.tmp``, as written by :func:`atomic_write`.
_TEMPORARY = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")


def _default_mode() -> int:
    """Permissions a newly created file would get (0o666 minus the umask), read without changing the umask."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o644


def _fsync_dir(directory: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: str | PurePath, write: Callable[[IO[bytes]], Any]) -> None:
    """Call ``write(fh)`` on a temporary binary file next to ``path``, then atomically put it at ``path``.

    Parent directories are created. An existing file keeps its permissions; a new one gets the umask default.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mode = _default_mode()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)  # see _TEMPORARY
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    _fsync_dir(target.parent)


def atomic_write_bytes(path: str | PurePath, data: bytes) -> None:
    """Atomically replace ``path`` with ``data``."""
    atomic_write(path, lambda fh: fh.write(data))


def atomic_write_text(path: str | PurePath, data: str, encoding: str = "utf-8") -> None:
    """Atomically replace ``path`` with the encoded ``data``."""
    atomic_write_bytes(path, data.encode(encoding))


def atomic_torch_save(obj: object, path: str | PurePath) -> None:
    """``torch.save(obj, path)``, atomically."""
    import torch  # imported here so that recipes (which only write text) do not pay for importing torch

    atomic_write(path, lambda fh: torch.save(obj, fh))


def remove_stale_temporaries(directory: str | PurePath) -> list[Path]:
    """Delete the temporary files that interrupted :func:`atomic_write` calls left in ``directory``.

    Only call this while nothing else writes there (e.g. when a run starts). Returns the removed paths.
    """
    folder = Path(directory)
    if not folder.is_dir():
        return []
    removed = []
    for entry in folder.iterdir():
        if _TEMPORARY.match(entry.name) and entry.is_file():
            with contextlib.suppress(FileNotFoundError):
                entry.unlink()
                removed.append(entry)
    return removed

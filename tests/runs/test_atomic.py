"""Atomic writes: a failure mid-write leaves the previous file intact and no temporary files behind."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

import pytest
import torch

from dfkd.runs.atomic import atomic_torch_save, atomic_write, atomic_write_bytes, atomic_write_text


class Unpicklable:
    """Pickling this raises, after torch.save has already written part of the archive."""

    def __reduce__(self) -> tuple[object, ...]:
        raise RuntimeError("cannot pickle me")


def leftovers(directory: Path) -> list[Path]:
    return [p for p in directory.iterdir() if p.name.endswith(".tmp")]


def test_write_text_and_bytes(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "a.txt"
    atomic_write_text(target, "héllo")
    assert target.read_text(encoding="utf-8") == "héllo"
    atomic_write_bytes(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert leftovers(target.parent) == []


def test_writer_failing_midway_keeps_old_file(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_text("old", encoding="utf-8")

    def half_then_fail(fh: IO[bytes]) -> None:
        fh.write(b"new but trunc")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, half_then_fail)
    assert target.read_text(encoding="utf-8") == "old"
    assert leftovers(tmp_path) == []


def test_torch_save_failing_midway_keeps_old_checkpoint(tmp_path: Path) -> None:
    target = tmp_path / "last.pt"
    atomic_torch_save({"w": torch.arange(3)}, target)
    with pytest.raises(RuntimeError, match="cannot pickle me"):
        atomic_torch_save({"w": torch.zeros(1000), "bad": Unpicklable()}, target)
    assert torch.equal(torch.load(target, weights_only=True)["w"], torch.arange(3))
    assert leftovers(tmp_path) == []


def test_failed_fsync_or_replace_keeps_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "a.txt"
    target.write_text("old", encoding="utf-8")

    def broken(*args: object) -> None:
        raise OSError("I/O error")

    for name in ("fsync", "replace"):
        with monkeypatch.context() as patch:
            patch.setattr(os, name, broken)
            with pytest.raises(OSError, match="I/O error"):
                atomic_write_text(target, "new")
        assert target.read_text(encoding="utf-8") == "old"
        assert leftovers(tmp_path) == []


def test_existing_permissions_are_kept(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_text("old", encoding="utf-8")
    target.chmod(0o640)
    atomic_write_text(target, "new")
    assert target.stat().st_mode & 0o777 == 0o640


KILLED_WRITER = """
import sys, time
from dfkd.runs.atomic import atomic_write

def slow(fh):
    fh.write(b"partial checkpoint")
    fh.flush()
    print("writing", flush=True)
    time.sleep(60)

atomic_write(sys.argv[1], slow)
"""


def test_a_write_killed_midway_leaves_a_temporary_that_is_removed_later(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    from dfkd.runs.atomic import remove_stale_temporaries

    target = tmp_path / "last.pt"
    target.write_bytes(b"old")
    (tmp_path / "other.tmp").write_bytes(b"not ours")
    repo = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [repo, os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(target)], env=env, stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline() == b"writing\n"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    stale = [p for p in leftovers(tmp_path) if p.name != "other.tmp"]
    assert len(stale) == 1 and stale[0].name.startswith(".last.pt.")
    assert remove_stale_temporaries(tmp_path) == stale
    assert target.read_bytes() == b"old" and [p.name for p in leftovers(tmp_path)] == ["other.tmp"]

"""The offline install step of the GPU scripts: a clear message when pydantic is missing and no wheels are given."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_missing_pydantic_without_wheels_is_explained(tmp_path: Path) -> None:
    fake = tmp_path / "python3"
    fake.write_text("#!/bin/sh\nexit 1\n")  # a Python on which every import fails
    fake.chmod(0o755)
    done = subprocess.run(["bash", "-c", f"source scripts/gpu-setup.sh && PYTHON={fake} dfkd_gpu_setup ''"],
                          cwd=ROOT, capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 2
    assert "pydantic is not installed" in done.stderr and "scripts/gpu-wheels.sh DIR" in done.stderr


def test_wheels_script_needs_a_folder() -> None:
    done = subprocess.run([str(ROOT / "scripts" / "gpu-wheels.sh")], capture_output=True, text=True)
    assert done.returncode == 2 and "usage:" in done.stderr


def test_wheels_are_installed_when_missing(tmp_path: Path) -> None:
    """With --wheels, a Python without pydantic gets it from the folder (here: a stand-in pip records the call)."""
    log = tmp_path / "calls"
    fake = tmp_path / "python3"
    # `-c` (imports) fails until "pip install" ran once; "pip" calls are logged.
    fake.write_text(f'#!/bin/sh\nif [ "$1" = "-m" ]; then echo "$@" >> {log}; exit 0; fi\n'
                    f'[ -f {log} ] && exit 0 || exit 1\n')  # fmt: skip
    fake.chmod(0o755)
    done = subprocess.run(["bash", "-c", f"source scripts/gpu-setup.sh && PYTHON={fake} dfkd_gpu_setup {tmp_path}"],
                          cwd=ROOT, capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    pip = f"-m pip install -q --no-index --find-links {tmp_path} --no-cache-dir pydantic"
    assert log.read_text().splitlines() == [pip]

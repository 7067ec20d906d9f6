"""The README's promises: its Python examples run as pasted, and its opening block holds the two set-up
commands (the second is what .ci/run executes)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_opening_block_has_the_main_and_the_test_command() -> None:
    opening = re.search(r"```bash\n(.*?)```", README.read_text(), flags=re.S)
    assert opening is not None
    main_command, test_command = opening.group(1).strip().splitlines()
    assert main_command.startswith("python3 -m venv") and main_command.endswith("dfkd distill")
    assert re.match(r"^python3 -m venv .*-m pytest", test_command)  # the pattern .ci/run looks for
    assert "-c constraints.txt" in main_command and "-c constraints.txt" in test_command


@pytest.mark.slow
@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=[f"block{i}" for i in range(len(PYTHON_BLOCKS))])
def test_python_example_runs_as_pasted(block: str, tmp_path: Path) -> None:
    # a subprocess: examples may register losses, which must not leak into the other tests' registries
    done = subprocess.run([sys.executable, "-c", block], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    claimed = re.search(r"mean of generated samples: \[(.*?)\]", done.stdout)
    if claimed:  # the engine example says the generator ends close to [2, -1]: hold it to that
        mean = [float(v) for v in claimed.group(1).split(",")]
        assert abs(mean[0] - 2.0) < 0.1 and abs(mean[1] + 1.0) < 0.1, done.stdout

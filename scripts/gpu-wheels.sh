#!/usr/bin/env bash
# Download the wheels that scripts/gpu-check.sh and scripts/gpu-reproduce.sh install on a GPU machine without
# network: pydantic and its dependencies for CPython 3.12 on x86-64 Linux (the lent GPU machine's Python).
#   scripts/gpu-wheels.sh DIR [PYTHON_VERSION]     (e.g. scripts/gpu-wheels.sh .wheels; DIR is git-ignored)
# Needs pip and an index (PyPI or a mirror) on this machine.
set -euo pipefail
if [ $# -lt 1 ]; then
    echo "usage: $0 DIR [PYTHON_VERSION (default 3.12)]" >&2
    exit 2
fi
dir="$1"
version="${2:-3.12}"
python="${PYTHON:-python3}"
mkdir -p "$dir"
"$python" -m pip download -q --only-binary=:all: --python-version "$version" --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d "$dir" "pydantic>=2.6"
ls "$dir"

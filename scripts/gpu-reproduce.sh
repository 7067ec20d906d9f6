#!/usr/bin/env bash
# CIFAR-10 on one GPU in under 9 minutes, install included (python -m dfkd.gpu.reproduce; see its docstring):
# a ResNet-34 teacher on a fast schedule (data resident and augmented on the GPU, bf16, channels-last), its
# test accuracy, then `dfkd compare` of one-stage vs DFAD (ResNet-18 students, DFAD's settings compressed to
# the budget, evaluated on the full test split) at equal time budgets. OUT_DIR receives results.json,
# table.md, accuracy_vs_time.png and accuracy_vs_images.png.
#   scripts/gpu-reproduce.sh [--wheels DIR] [options] DATA_DIR OUT_DIR
# DATA_DIR: torchvision CIFAR-10 (a folder holding cifar-10-batches-py), an ImageFolder tree with train/ and
# test/ (e.g. the shared cifar10-jpeg-q75 tree), or a .tar.gz of either (unpacked into the scratch folder).
# On a CPU, in seconds (what the tests run): scripts/gpu-reproduce.sh --smoke DATA_DIR OUT_DIR
# Options: --wheels DIR (pydantic wheels: scripts/gpu-wheels.sh), --smoke, --work DIR (scratch folder),
# --teacher-epochs N, --budget-seconds N (per method), --total-seconds N (default 510).
set -euo pipefail
start=$(date +%s)
absolute() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }

wheels="" args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --wheels) wheels="$(absolute "$2")"; shift 2 ;;
        --smoke) args+=("--smoke"); shift ;;
        --work) args+=("$1" "$(absolute "$2")"); shift 2 ;;
        --teacher-epochs|--budget-seconds|--total-seconds) args+=("$1" "$2"); shift 2 ;;
        -h|--help) awk 'NR > 1 && /^#/ {print; next} NR > 1 {exit}' "$0"; exit 0 ;;
        -*) echo "$0: unknown option $1 (see --help)" >&2; exit 2 ;;
        *) args+=("$(absolute "$1")"); shift ;;  # DATA_DIR, OUT_DIR
    esac
done
cd "$(dirname "$0")/.."
source scripts/gpu-setup.sh
dfkd_gpu_setup "$wheels"
export PYTHONUNBUFFERED=1 DFKD_NO_PROGRESS=1
exec "${PYTHON:-python3}" -m dfkd.gpu.reproduce --started-at "$start" "${args[@]}"

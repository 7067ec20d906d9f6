#!/usr/bin/env bash
# The GPU readiness check (python -m dfkd.gpu.check; see its docstring): one round of every distillation method
# and GAN variant in fp32/bf16/fp16 under torch.cuda.set_sync_debug_mode("warn"), one-stage vs DFAD images/s
# (ResNet-34 -> ResNet-18, batch 256, bf16), the engine's overhead, and a two-process check on two GPUs.
# Writes results.json and report.md to the output folder. Sized for one H200 in under 8 minutes, install
# included, from a bare machine:
#   scripts/gpu-check.sh --wheels .wheels --out "$OUT"
# On a CPU, in seconds (what the tests run):
#   scripts/gpu-check.sh --smoke --out /tmp/gpu-check
# Options: --out DIR (default: $OUT, else ./gpu-check), --wheels DIR (pydantic wheels: scripts/gpu-wheels.sh),
# --smoke, --compile (also time compiled bf16 rounds), --time-limit S (default 420 on a GPU).
set -euo pipefail
start=$(date +%s)
absolute() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }

out="${OUT:-gpu-check}" wheels="" smoke="" compile="" limit=""
while [ $# -gt 0 ]; do
    case "$1" in
        --out) out="$2"; shift 2 ;;
        --wheels) wheels="$(absolute "$2")"; shift 2 ;;
        --smoke) smoke="--smoke"; shift ;;
        --compile) compile="--compile"; shift ;;
        --time-limit) limit="$2"; shift 2 ;;
        -h|--help) awk 'NR > 1 && /^#/ {print; next} NR > 1 {exit}' "$0"; exit 0 ;;
        *) echo "$0: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
out="$(absolute "$out")"
cd "$(dirname "$0")/.."
source scripts/gpu-setup.sh
dfkd_gpu_setup "$wheels"
if [ -z "$limit" ] && [ -z "$smoke" ]; then
    limit=$(( 420 - ($(date +%s) - start) ))  # leave the last minute of the 8 for the slowest part to finish
fi
export PYTHONUNBUFFERED=1 DFKD_NO_PROGRESS=1
exec "${PYTHON:-python3}" -m dfkd.gpu.check --out "$out" $smoke $compile ${limit:+--time-limit "$limit"}

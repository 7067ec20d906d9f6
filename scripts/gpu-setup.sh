# Sourced by gpu-check.sh and gpu-reproduce.sh: make dfkd runnable on a bare GPU machine without network.
#
# The GPU image has torch, torchvision, timm, tensorboard, tqdm, matplotlib, pyyaml, scipy and torchmetrics,
# but not pydantic (nor torch-fidelity, which only FID/KID with the Inception extractor needs). Given a
# wheels folder (fetched beforehand with scripts/gpu-wheels.sh), pydantic and its dependencies are installed
# from it, then dfkd itself with `pip install --no-deps -e .` (offline, no build isolation); each only when
# missing. Without a wheels folder nothing is installed (a developer's environment is left alone). dfkd runs
# from the repository root in any case, which `python -m` puts on the path.
#
# Usage (after cd to the repository root): dfkd_gpu_setup WHEELS_DIR_OR_EMPTY
# Uses $PYTHON (default python3).

dfkd_gpu_setup() {
    local wheels="$1" python="${PYTHON:-python3}"
    if [ -n "$wheels" ]; then
        if ! "$python" -c "import pydantic" 2>/dev/null; then
            echo "installing pydantic from $wheels"
            "$python" -m pip install -q --no-index --find-links "$wheels" --no-cache-dir pydantic || return 2
        fi
        if ! "$python" -c "import importlib.metadata as m; m.version('dfkd')" 2>/dev/null; then
            echo "installing dfkd (pip install --no-deps -e .)"
            "$python" -m pip install -q --no-deps --no-index --no-build-isolation -e . \
                || echo "pip install -e . failed: running dfkd from the repository root instead" >&2
        fi
    fi
    if ! "$python" -c "import pydantic" 2>/dev/null; then
        echo "pydantic is not installed and this machine may have no network: fetch the wheels on a machine" \
             "that has one (scripts/gpu-wheels.sh DIR) and pass --wheels DIR" >&2
        return 2
    fi
    "$python" -c "import dfkd, pydantic, torch
print(f'dfkd ready: torch {torch.__version__}, pydantic {pydantic.__version__},',
      'CUDA' if torch.cuda.is_available() else 'no GPU')"
}

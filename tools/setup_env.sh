#!/usr/bin/env bash
# Creates (or checks) the project's virtual environment in .venv.
#
# Order matters: torch first (so nothing pulls a CUDA build by accident), then
# mmcv's build tools, then mmcv 2.1.0 built from source with its ops, then the
# rest of requirements.txt, then this plugin in editable mode.  A stamp file
# records what was installed; when it is current the script exits in seconds.
#
# Settings (environment variables):
#   VENV         the environment's folder (default .venv)
#   TORCH_SPEC   the torch to install (default torch==2.13.0)
#   CONSTRAINTS  a pip constraints file applied to every install (the torch
#                2.1 environment's: tools/constraints-torch2.1.txt)
# `make test-torch2.1` sets all three for the oldest supported torch.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

VENV=${VENV:-.venv}
PY=${PYTHON:-python3}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
CONSTRAINTS=${CONSTRAINTS:-}
STAMP="$VENV/.imbalance_plugin_env"
want=$( { echo "$TORCH_SPEC"; cat requirements.txt pyproject.toml tools/setup_env.sh ${CONSTRAINTS:+"$CONSTRAINTS"}; } | sha256sum | cut -c1-16)

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then
  exit 0
fi

say() { printf '\n[setup] %s\n' "$*"; }

if [[ ! -x "$VENV/bin/python" ]]; then
  say "creating virtual environment in $VENV"
  "$PY" -m venv "$VENV"
fi
pip=("$VENV/bin/python" -m pip)
constrain=()
[[ -n "$CONSTRAINTS" ]] && constrain=(-c "$CONSTRAINTS")
"${pip[@]}" install -q --upgrade "pip<26" >/dev/null

have() { "$VENV/bin/python" - "$1" "$2" <<'PYEOF'
import sys
from importlib.metadata import version, PackageNotFoundError
try:
    sys.exit(0 if version(sys.argv[1]) == sys.argv[2] else 1)
except PackageNotFoundError:
    sys.exit(1)
PYEOF
}

if ! "$VENV/bin/python" -c 'import torch' 2>/dev/null; then
  say "installing $TORCH_SPEC (GPU users: install your CUDA build of torch into $VENV first)"
  "${pip[@]}" install "${constrain[@]}" "$TORCH_SPEC"
fi

say "installing build tools for mmcv (numpy, ninja, setuptools<70, wheel)"
"${pip[@]}" install -q "${constrain[@]}" "numpy>=1.24,<2.3" ninja "setuptools<70" wheel

# mmcv's compiled ops are built against one torch, but its wheel's name does
# not say which: pip's cache would hand one torch's build to another.  Each
# torch gets a wheel folder of its own, and pip's cache is kept out of it.
torch_version=$("$VENV/bin/python" -c 'import torch; print(torch.__version__)')
wheels=${MMCV_WHEELS:-${XDG_CACHE_HOME:-$HOME/.cache}/imbalance_plugin/mmcv-2.1.0-torch-$torch_version}
if ! have mmcv 2.1.0; then
  if ! compgen -G "$wheels/mmcv-2.1.0-*.whl" >/dev/null; then
    log="$VENV/mmcv-build.log"
    say "building mmcv 2.1.0 with its C++ ops from source (MMCV_WITH_OPS=1) against torch $torch_version."
    say "about 14 minutes on 2 cores the first time; the wheel is kept in $wheels, so later set-ups take seconds."
    say "compiler output goes to $log; a progress line follows every minute."
    start=$SECONDS
    MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
      "${pip[@]}" wheel --no-cache-dir --no-build-isolation --no-deps -v \
      -w "$wheels.part" "mmcv==2.1.0" >"$log" 2>&1 &
    build=$!
    while kill -0 "$build" 2>/dev/null; do
      sleep 60
      kill -0 "$build" 2>/dev/null && say "still building mmcv: $(( (SECONDS - start) / 60 )) min elapsed"
    done
    if ! wait "$build"; then
      tail -n 40 "$log" >&2
      echo "[setup] mmcv build failed (full log: $log)" >&2
      exit 1
    fi
    rm -rf "$wheels" && mv "$wheels.part" "$wheels"
    say "mmcv built in $(( (SECONDS - start) / 60 )) min"
  fi
  "${pip[@]}" install -q "${constrain[@]}" "$wheels"/mmcv-2.1.0-*.whl
  have mmcv 2.1.0 || { echo "[setup] mmcv 2.1.0 did not install" >&2; exit 1; }
fi

say "installing requirements.txt (mmengine, mmdet, pycocotools, ...)"
"${pip[@]}" install -q "${constrain[@]}" -r requirements.txt

say "installing imbalance_plugin in editable mode"
"${pip[@]}" install -q --no-build-isolation --no-deps -e .

"$VENV/bin/python" -c 'import torch, mmcv, mmengine, mmdet; from mmcv.ops import nms; print("[setup] ready: torch", torch.__version__, "mmcv", mmcv.__version__, "mmengine", mmengine.__version__, "mmdet", mmdet.__version__)'
echo "$want" > "$STAMP"

#!/usr/bin/env bash
# Creates (or checks) the project's virtual environment in .venv.
#
# Order matters: torch first (so nothing pulls a CUDA build by accident), then
# mmcv's build tools, then mmcv 2.1.0 built from source with its ops, then the
# rest of requirements.txt, then this plugin in editable mode.  A stamp file
# records what was installed; when it is current the script exits in seconds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

VENV=${VENV:-.venv}
PY=${PYTHON:-python3}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
STAMP="$VENV/.imbalance_plugin_env"
want=$( { echo "$TORCH_SPEC"; cat requirements.txt pyproject.toml tools/setup_env.sh; } | sha256sum | cut -c1-16)

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then
  exit 0
fi

say() { printf '\n[setup] %s\n' "$*"; }

if [[ ! -x "$VENV/bin/python" ]]; then
  say "creating virtual environment in $VENV"
  "$PY" -m venv "$VENV"
fi
pip=("$VENV/bin/python" -m pip)
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
  "${pip[@]}" install "$TORCH_SPEC"
fi

say "installing build tools for mmcv (numpy, ninja, setuptools<70, wheel)"
"${pip[@]}" install -q "numpy>=1.24,<2.3" ninja "setuptools<70" wheel

if ! have mmcv 2.1.0; then
  log="$VENV/mmcv-build.log"
  say "building mmcv 2.1.0 with its C++ ops from source (MMCV_WITH_OPS=1)."
  say "about 14 minutes on 2 cores the first time; pip caches the wheel, so later set-ups take seconds."
  say "compiler output goes to $log; a progress line follows every minute."
  start=$SECONDS
  MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
    "${pip[@]}" install --no-build-isolation -v "mmcv==2.1.0" >"$log" 2>&1 &
  build=$!
  while kill -0 "$build" 2>/dev/null; do
    sleep 60
    kill -0 "$build" 2>/dev/null && say "still building mmcv: $(( (SECONDS - start) / 60 )) min elapsed"
  done
  if ! wait "$build" || ! have mmcv 2.1.0; then
    tail -n 40 "$log" >&2
    echo "[setup] mmcv build failed (full log: $log)" >&2
    exit 1
  fi
  say "mmcv built in $(( (SECONDS - start) / 60 )) min"
fi

say "installing requirements.txt (mmengine, mmdet, pycocotools, ...)"
"${pip[@]}" install -q -r requirements.txt

say "installing imbalance_plugin in editable mode"
"${pip[@]}" install -q --no-build-isolation --no-deps -e .

"$VENV/bin/python" -c 'import torch, mmcv, mmengine, mmdet; from mmcv.ops import nms; print("[setup] ready: torch", torch.__version__, "mmcv", mmcv.__version__, "mmengine", mmengine.__version__, "mmdet", mmdet.__version__)'
echo "$want" > "$STAMP"

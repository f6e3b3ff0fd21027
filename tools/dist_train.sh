#!/usr/bin/env bash
# Multi-process training with torchrun (gloo on CPU, nccl on GPUs).
#   tools/dist_train.sh CONFIG NUM_PROCS [tools/train.py arguments]
set -euo pipefail
if [[ $# -lt 2 ]]; then
  echo "usage: $0 CONFIG NUM_PROCS [tools/train.py arguments]" >&2; exit 2
fi
CONFIG=$1
NPROC=$2
shift 2
exec "$(dirname "${BASH_SOURCE[0]}")/torchrun.sh" "$NPROC" train.py "$CONFIG" "$@"

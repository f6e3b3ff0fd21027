#!/usr/bin/env bash
# Multi-process testing with torchrun.
#   tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCS [tools/test.py arguments]
set -euo pipefail
if [[ $# -lt 3 ]]; then
  echo "usage: $0 CONFIG CHECKPOINT NUM_PROCS [tools/test.py arguments]" >&2; exit 2
fi
CONFIG=$1
CHECKPOINT=$2
NPROC=$3
shift 3
exec "$(dirname "${BASH_SOURCE[0]}")/torchrun.sh" "$NPROC" test.py "$CONFIG" "$CHECKPOINT" "$@"

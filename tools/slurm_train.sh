#!/usr/bin/env bash
# Training on a Slurm cluster (environment variables: see tools/srun.sh).
#   tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [tools/train.py arguments]
set -euo pipefail
if [[ $# -lt 4 ]]; then
  echo "usage: $0 PARTITION JOB_NAME CONFIG WORK_DIR [tools/train.py arguments]" >&2; exit 2
fi
PARTITION=$1 JOB_NAME=$2 CONFIG=$3 WORK_DIR=$4
shift 4
exec "$(dirname "${BASH_SOURCE[0]}")/srun.sh" "$PARTITION" "$JOB_NAME" train.py \
  "$CONFIG" --work-dir="$WORK_DIR" "$@"

#!/usr/bin/env bash
# Shared by slurm_train.sh and slurm_test.sh: runs a tool as one Slurm task
# per GPU.  tools/srun.sh PARTITION JOB_NAME TOOL.py [tool arguments]
# Environment: GPUS (total, default 8), GPUS_PER_NODE (default min(GPUS, 8)),
# CPUS_PER_TASK (5), SRUN_ARGS (extra srun arguments), PYTHON (interpreter).
set -euo pipefail
PARTITION=$1
JOB_NAME=$2
TOOL=$3
shift 3
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-$(( GPUS < 8 ? GPUS : 8 ))}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PYTHONPATH="$HERE/..${PYTHONPATH:+:$PYTHONPATH}" exec srun -p "$PARTITION" \
  --job-name="$JOB_NAME" --gres="gpu:$GPUS_PER_NODE" \
  --ntasks="$GPUS" --ntasks-per-node="$GPUS_PER_NODE" \
  --cpus-per-task="${CPUS_PER_TASK:-5}" --kill-on-bad-exit=1 ${SRUN_ARGS:-} \
  "${PYTHON:-python}" -u "$HERE/$TOOL" "$@" --launcher=slurm

#!/usr/bin/env bash
# Start, or resume, the long recording of chapter 05 (the `long` profile: size 16, boson against
# distinguishable, 3 seeds, 20,000 iterations, scored at snapshots) in the background.
#
#   sweeps/qm9_long.sh            # start or resume; returns at once, the workers run on under nohup
#   sweeps/qm9_long.sh status     # each run's newest checkpoint and its scored snapshots
#   sweeps/qm9_long.sh collect    # gather the snapshots scored so far into data/recorded/05_qm9/long/
#
# Runs, checkpoints and logs live outside the working tree, in $QLATENT_CACHE (default
# ~/.cache/qlatent): runs/05_qm9-long/{runs,recording.json,worker*.log}. The workers run the
# committed code of HEAD, copied to $QLATENT_CACHE/code/<commit>, so editing the checkout while they
# train changes nothing; uncommitted changes to qlatent/ are refused. On a GPU one worker runs every
# job (device auto); on CPUs, WORKERS workers (default 2) of one torch thread each share them.
# Running it again after any interruption (a kill, a reboot) resumes every run from its newest
# checkpoint; a worker already running is not started twice (it holds a lock). CODE=<commit> resumes
# with the code copy $QLATENT_CACHE/code/<commit> (the one the workers' logs name), whatever HEAD is:
# a later commit may key runs differently (a new model setting) and start them afresh.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${QLATENT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/qlatent}
python=${PYTHON:-python}
export QLATENT_ROOT=$repo QLATENT_CACHE=$cache NUMBA_CACHE_DIR=${NUMBA_CACHE_DIR:-$cache/numba}
command=${1:-run}
if [[ $command != run ]]; then
    PYTHONPATH=$repo exec "$python" -m qlatent.experiments.qm9_long "$command"
fi
if [[ -n ${CODE:-} ]]; then  # resume with the code copy a recording was started with
    commit=$CODE
    [[ -d $cache/code/$commit/qlatent ]] || { echo "no code copy $cache/code/$commit" >&2; exit 1; }
elif ! git -C "$repo" diff --quiet HEAD -- qlatent; then
    echo "qlatent/ has uncommitted changes: commit them first, so the recording runs a known commit" >&2
    exit 1
else
    commit=$(git -C "$repo" rev-parse --short=12 HEAD)
fi
code=$cache/code/$commit
if [[ ! -d $code/qlatent ]]; then
    mkdir -p "$code.partial"
    git -C "$repo" archive HEAD qlatent | tar -x -C "$code.partial"
    mv "$code.partial" "$code"
fi
logs=$cache/runs/05_qm9-long
mkdir -p "$logs"
if PYTHONPATH=$code "$python" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    workers=1; threads=""
else
    workers=${WORKERS:-2}; threads="--threads 1"
fi
for ((worker = 0; worker < workers; worker++)); do
    echo "code $commit" >> "$logs/worker$worker.log"
    PYTHONPATH=$code nohup nice -n 5 "$python" -m qlatent.experiments.qm9_long run --worker "$worker" \
        --workers "$workers" $threads >> "$logs/worker$worker.log" 2>&1 &
    echo "worker $worker: pid $! (log $logs/worker$worker.log)"
done

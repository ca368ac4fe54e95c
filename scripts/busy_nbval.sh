#!/usr/bin/env bash
# Run every notebook under nbval while busy loops occupy the CPU cores, the way a
# shared JupyterHub looks during a workshop. A notebook whose checks hold only on an
# idle machine fails here.
#
#   PY=.venv/bin/python scripts/busy_nbval.sh [extra pytest args or notebook paths]
#   BUSY=4 ...   start four busy loops instead of two
#
# The busy loops are stopped on every exit: success, failure, Ctrl+C or kill.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-python3}
BUSY=${BUSY:-2}
pids=()

stop_busy() {
  # pytest too, when a signal ends this script before pytest is done.
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop_busy EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for _ in $(seq "$BUSY"); do
  "$PY" -c 'while True: pass' &
  pids+=("$!")
done
echo "busy_nbval: $BUSY busy loops running (pids ${pids[*]}); nbval on every notebook"

targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=(notebooks)
start=$(date +%s)
status=0
# In the background + wait, so that a signal runs the trap at once (bash defers traps
# while a foreground child runs).
"$PY" -m pytest -q --nbval-lax --nbval-current-env --nbval-cell-timeout=60 \
  "${targets[@]}" </dev/null &
pids+=("$!")
wait "$!" || status=$?
echo "busy_nbval: nbval under $BUSY busy loops took $(( $(date +%s) - start )) s (exit $status)"
exit "$status"

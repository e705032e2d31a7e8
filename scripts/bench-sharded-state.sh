#!/usr/bin/env bash
# Start-to-ready of `vllm serve --tensor-parallel-size TP` from the whole GGUF file against the
# same model saved with `vllm save-sharded-state` (--load-format sharded_state), alternating rounds:
# seconds from the command to the first /health 200, and the ranks' resident memory then. With
# COLD=1 (root) the page cache is dropped before each start, as after a reboot or a fresh node.
#   scripts/bench-sharded-state.sh MODEL.gguf [TP] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
model=$1; tp=${2:-2}; rounds=${3:-3}
binary=$PWD/.build/release/vllm
shards=$(mktemp -d)
trap 'rm -rf "$shards"' EXIT
"$binary" save-sharded-state --model "$model" --tensor-parallel-size "$tp" --output "$shards" > /dev/null
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
for round in $(seq "$rounds"); do
  for mode in whole sharded; do
    if [ "$mode" = whole ]; then args=("$model"); else args=("$shards" --load-format sharded_state); fi
    [ "${COLD:-0}" = 1 ] && { sync; echo 3 > /proc/sys/vm/drop_caches; }
    start=$(date +%s.%N)
    "$binary" serve "${args[@]}" --tensor-parallel-size "$tp" --host 127.0.0.1 --port "$port" --max-model-len 1024 > /dev/null 2>&1 &
    server=$!
    until curl -sf -o /dev/null "http://127.0.0.1:$port/health"; do
      kill -0 "$server" 2> /dev/null || { echo "serve $mode exited before it was ready" >&2; exit 1; }
      sleep 0.02
    done
    ready=$(python3 -c "print(f'{$(date +%s.%N) - $start:.2f}')")
    # The rank processes: mpirun's children.
    ranks=$(pgrep -P "$(pgrep -P "$server" mpirun)" | tr '\n' ' ')
    rss=$(for p in $ranks; do awk '/VmRSS/ {print $2}' "/proc/$p/status"; done | awk '{s += $1} END {printf "%.0f", s / 1024}')
    kill -TERM "$server"; wait "$server" || true
    echo "round=$round tp=$tp load=$mode start_to_ready_s=$ready ranks_rss_mib=$rss"
  done
done

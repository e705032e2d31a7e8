#!/usr/bin/env bash
# Continuous batching against one-at-a-time, same engine, same run: `vllm bench throughput` on
# N random prompts (input ~128, output 128 tokens by default), then the same kind of prompts with
# --max-num-seqs 1 (BASELINE_PROMPTS of them: one at a time, throughput per token does not depend
# on how many run in sequence). Prints both and the ratio of output tokens/s.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.build/release/vllm
n=${NUM_PROMPTS:-256}; base=${BASELINE_PROMPTS:-16}; in=${INPUT_LEN:-128}; out=${OUTPUT_LEN:-128}
batched=$($bin bench throughput --num-prompts "$n" --input-len "$in" --output-len "$out" --json "$@" 2>/dev/null | tail -1)
single=$($bin bench throughput --num-prompts "$base" --input-len "$in" --output-len "$out" --max-num-seqs 1 --json "$@" 2>/dev/null | tail -1)
python3 - "$batched" "$single" <<'PY'
import json, sys
b, s = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"continuous batching: {b['output_tokens_per_s']:.1f} output tok/s, {b['requests_per_s']:.2f} req/s, "
      f"peak KV {b['peak_kv_usage']*100:.1f}%, KV waste {b['kv_waste']*100:.2f}%")
print(f"one at a time:       {s['output_tokens_per_s']:.1f} output tok/s")
print(f"ratio: {b['output_tokens_per_s'] / s['output_tokens_per_s']:.2f}x")
PY

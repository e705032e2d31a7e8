#!/usr/bin/env bash
# Continuous batching against one-at-a-time, same engine, same run: `vllm bench throughput` on
# N random prompts (input ~128, output 128 tokens by default), then the same kind of prompts with
# --max-num-seqs 1 (BASELINE_PROMPTS of them: one at a time, throughput per token does not depend
# on how many run in sequence) before and after the batched run, averaged, so that drift in the
# machine's speed over the run biases neither side. Prints both and the ratio of output tokens/s.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${VLLM_BINARY:-.build/release/vllm}
n=${NUM_PROMPTS:-256}; base=${BASELINE_PROMPTS:-16}; in=${INPUT_LEN:-128}; out=${OUTPUT_LEN:-128}
one_at_a_time() {
    $bin bench throughput --num-prompts "$base" --input-len "$in" --output-len "$out" --max-num-seqs 1 --json "$@" 2>/dev/null | tail -1
}
before=$(one_at_a_time "$@")
batched=$($bin bench throughput --num-prompts "$n" --input-len "$in" --output-len "$out" --json "$@" 2>/dev/null | tail -1)
after=$(one_at_a_time "$@")
python3 - "$batched" "$before" "$after" <<'PY'
import json, sys
b, s1, s2 = (json.loads(a) for a in sys.argv[1:])
print(f"one at a time, before and after: {s1['output_tokens_per_s']:.1f} and {s2['output_tokens_per_s']:.1f} output tok/s")
s = {'output_tokens_per_s': (s1['output_tokens_per_s'] + s2['output_tokens_per_s']) / 2}
print(f"continuous batching: {b['output_tokens_per_s']:.1f} output tok/s, {b['requests_per_s']:.2f} req/s, "
      f"peak KV {b['peak_kv_usage']*100:.1f}%, KV waste {b['kv_waste']*100:.2f}%")
print(f"one at a time (mean):  {s['output_tokens_per_s']:.1f} output tok/s")
print(f"ratio: {b['output_tokens_per_s'] / s['output_tokens_per_s']:.2f}x")
PY

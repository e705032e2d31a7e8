#!/usr/bin/env bash
# Multi-LoRA throughput and memory. Same engine flags for both sides (--enable-lora --max-loras 4,
# four random rank-8 all-linear adapters loaded): the base model alone (--lora-mix 0) before and
# after, averaged, against the same workload spread round-robin over the 4 adapters
# (--lora-mix 4); prints the ratio of output tokens/s (issue 7's target: >= 0.70).
# Then the memory comparison: KV blocks left for requests with --max-loras 8 --max-lora-rank 256
# and eight rank-8 adapters loaded, against vLLM-style preallocation for the same flags.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${VLLM_BINARY:-.build/release/vllm}
n=${NUM_PROMPTS:-64}; in=${INPUT_LEN:-128}; out=${OUTPUT_LEN:-64}; rank=${LORA_RANK:-8}
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
read -r -a mods <<< "$(python3 tests/lora/make_adapters.py --plain "$dir" 8 "$rank")"
tp() { $bin bench throughput --num-prompts "$n" --input-len "$in" --output-len "$out" --json \
          --enable-lora --max-loras 4 --max-lora-rank 16 --lora-modules "${mods[@]:0:4}" "$@" 2>/dev/null | tail -1; }
before=$(tp --lora-mix 0)
mixed=$(tp --lora-mix 4)
after=$(tp --lora-mix 0)
memory=$($bin bench throughput --num-prompts 1 --input-len 8 --output-len 1 --json --enable-lora --max-loras 8 \
          --max-cpu-loras 8 --max-lora-rank 256 --lora-modules "${mods[@]}" 2>/dev/null | tail -1)
python3 - "$before" "$mixed" "$after" "$memory" "$rank" <<'PY'
import json, math, sys
b1, m, b2, mem = (json.loads(a) for a in sys.argv[1:5])
rank = sys.argv[5]
base = (b1["output_tokens_per_s"] + b2["output_tokens_per_s"]) / 2
print(f"base model, before and after: {b1['output_tokens_per_s']:.1f} and {b2['output_tokens_per_s']:.1f} output tok/s")
print(f"4 adapters (rank {rank}, all-linear), round-robin: {m['output_tokens_per_s']:.1f} output tok/s")
print(f"ratio: {m['output_tokens_per_s'] / base:.2f} (target >= 0.70)")
total, left, block = mem["num_kv_blocks"], mem["kv_blocks_for_requests"], mem["kv_block_bytes"]
pre = math.ceil(mem["lora_preallocation_bytes"] / block)
print(f"memory, --max-loras 8 --max-lora-rank 256, 8 rank-{rank} adapters loaded: "
      f"adapters take {mem['lora_adapter_bytes'] / 2**20:.1f} MiB = {total - left} KV blocks; KV blocks left {left} of {total}")
print(f"vLLM-style preallocation for the same flags: {mem['lora_preallocation_bytes'] / 2**20:.0f} MiB = {pre} KV blocks; "
      f"KV blocks left {total - pre} of {total}")
PY

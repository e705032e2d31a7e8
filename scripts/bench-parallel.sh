#!/usr/bin/env bash
# A parallel layout against one process, side by side in alternating rounds (this machine's speed
# drifts between minutes): `vllm bench throughput` with one request (decode speed) and with 32
# (throughput), in one process (all cores) and with the layout's flags (one rank per core share),
# plus each rank's bytes sent per token from the ranks' exit log.
#   scripts/bench-parallel.sh MODEL.gguf ["-tp 2" | "-pp 2" | …] [ROUNDS] [extra vllm flags…]
# A 0.5B Llama-shaped model that splits on 2 ranks: scripts/make-synthetic-gguf.py --params 0.5B --type Q4_K_M --out M.gguf
set -euo pipefail
cd "$(dirname "$0")/.."
model=$1; layout=${2:--tp 2}; rounds=${3:-3}; shift $(( $# < 3 ? $# : 3 ))
for round in $(seq "$rounds"); do
  for flags in "" "$layout"; do
    for n in 1 32; do
      # shellcheck disable=SC2086 # the layout is several flags
      out=$(.build/release/vllm bench throughput --model "$model" --input-len 32 --output-len 128 --num-prompts "$n" \
            --max-model-len 1024 $flags "$@" 2>&1)
      tps=$(grep -o '[0-9.]* output tokens/s' <<<"$out" | cut -d' ' -f1)
      bytes=$(grep 'parallel rank' <<<"$out" | sed 's/.*, \([0-9]*\) per token/\1/' | tr '\n' ' ' || true)
      echo "round=$round layout=${flags:-one-process} requests=$n output_tokens/s=$tps bytes_per_token_per_rank=${bytes:--}"
    done
  done
done

#!/usr/bin/env python3
"""Side-by-side latency benchmark: swift-vllm's `vllm bench latency` and llama.cpp's own
`llama-bench` (built natively for this CPU from the sources vendored in the llama-cpp-python
sdist, by scripts/build-llama-server.sh) on the same GGUF, the same thread count, in the same run.

Measures prefill tokens/s on an --input-len prompt and decode tokens/s over --output-len tokens
after it (llama-bench: pp at depth 0, tg at depth --input-len, as swift-vllm decodes after its
prompt), at batch 1, median of --num-iters runs after a warm-up, and prints both and the ratio.
llama-bench runs with flash attention off and on (`-fa 0,1`) and each figure is the faster of the
two (the JSON says which); its other settings are its defaults (batch 2048, ubatch 512, weights
repacked for this CPU, f16 KV cache).
"""
import argparse, json, os, statistics, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))


def llama_bench_path():
    out = subprocess.run([os.path.join(HERE, "build-llama-server.sh"), "llama-bench"], check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    return out.split()[-1]


def llamacpp_bench(bench, model, threads, input_len, output_len, iters):
    """(prefill tok/s, decode tok/s, {'prefill': fa, 'decode': fa}): the faster -fa setting of each."""
    def run(*test):
        out = subprocess.run([bench, "-m", model, "-t", str(threads), "-r", str(iters), "-fa", "0,1", "-o", "json", *test],
                             check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
        # One entry per -fa value: (median tok/s, flash_attn).
        return max((statistics.median(r["samples_ts"]), bool(r["flash_attn"])) for r in json.loads(out))
    prefill = run("-p", str(input_len), "-n", "0")
    decode = run("-p", "0", "-n", str(output_len), "-d", str(input_len))
    return prefill[0], decode[0], {"prefill": prefill[1], "decode": decode[1]}


def swift_bench(binary, model, threads, input_len, output_len, iters, extra=()):
    out = subprocess.run([binary, "bench", "latency", "--model", model, "--threads", str(threads),
                          "--input-len", str(input_len), "--output-len", str(output_len),
                          "--num-iters", str(iters), "--json", *extra], check=True, capture_output=True, text=True).stdout
    r = json.loads(out.strip().splitlines()[-1])
    return r["prefill_tokens_per_s"], r["decode_tokens_per_s"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.expanduser("~/.cache/swift-vllm/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--binary", default=".build/release/vllm")
    ap.add_argument("--llama-bench", help="llama.cpp's llama-bench (default: built by scripts/build-llama-server.sh)")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--input-len", type=int, default=512)
    ap.add_argument("--output-len", type=int, default=128)
    ap.add_argument("--num-iters", type=int, default=5)
    ap.add_argument("--swift-args", default="", help="extra flags for `vllm bench latency`, e.g. '--activation-dtype int8'")
    a = ap.parse_args()
    bench = a.llama_bench or llama_bench_path()
    sp, sd = swift_bench(a.binary, a.model, a.threads, a.input_len, a.output_len, a.num_iters, a.swift_args.split())
    lp, ld, fa = llamacpp_bench(bench, a.model, a.threads, a.input_len, a.output_len, a.num_iters)
    print(f"threads={a.threads} input_len={a.input_len} output_len={a.output_len} median of {a.num_iters}")
    print(f"{'':10} {'prefill tok/s':>14} {'decode tok/s':>13}")
    print(f"{'swift-vllm':10} {sp:14.1f} {sd:13.1f}")
    print(f"{'llama.cpp':10} {lp:14.1f} {ld:13.1f}   (llama-bench; flash attention: prefill "
          f"{'on' if fa['prefill'] else 'off'}, decode {'on' if fa['decode'] else 'off'})")
    print(f"{'ratio':10} {sp / lp:14.2f} {sd / ld:13.2f}")
    print(json.dumps({"swift_prefill": sp, "swift_decode": sd, "llamacpp_prefill": lp, "llamacpp_decode": ld,
                      "prefill_ratio": sp / lp, "decode_ratio": sd / ld, "llamacpp_flash_attn": fa}))


if __name__ == "__main__":
    main()

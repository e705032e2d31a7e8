#!/usr/bin/env python3
"""Side-by-side latency benchmark: swift-vllm's `vllm bench latency` and llama.cpp (PyPI
llama-cpp-python) on the same GGUF, the same thread count, in the same run.

Measures prefill tokens/s on an --input-len prompt and decode tokens/s over --output-len tokens
at batch 1 (greedy), median of --num-iters runs after one warm-up, and prints both and the ratio.
Needs: pip install llama-cpp-python (built from source by pip), and a release build of vllm.
"""
import argparse, json, os, random, statistics, subprocess, sys, time

def llamacpp_bench(model, threads, input_len, output_len, iters):
    import numpy as np
    import llama_cpp
    from llama_cpp import Llama
    llm = Llama(model_path=model, n_ctx=input_len + output_len + 8, n_batch=input_len,
                n_ubatch=input_len, n_threads=threads, n_threads_batch=threads, verbose=False)
    rng = random.Random(42)
    prompt = [rng.randrange(100, llm.n_vocab()) for _ in range(input_len)]
    prefill, decode = [], []
    for it in range(iters + 1):
        llm.reset()
        t0 = time.perf_counter()
        llm.eval(prompt)
        t1 = time.perf_counter()
        for _ in range(output_len):
            logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm.ctx, -1), shape=(llm.n_vocab(),))
            llm.eval([int(logits.argmax())])
        t2 = time.perf_counter()
        if it > 0:
            prefill.append(input_len / (t1 - t0))
            decode.append(output_len / (t2 - t1))
    return statistics.median(prefill), statistics.median(decode)

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
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--input-len", type=int, default=512)
    ap.add_argument("--output-len", type=int, default=128)
    ap.add_argument("--num-iters", type=int, default=5)
    ap.add_argument("--swift-args", default="", help="extra flags for `vllm bench latency`, e.g. '--activation-dtype int8'")
    a = ap.parse_args()
    sp, sd = swift_bench(a.binary, a.model, a.threads, a.input_len, a.output_len, a.num_iters, a.swift_args.split())
    lp, ld = llamacpp_bench(a.model, a.threads, a.input_len, a.output_len, a.num_iters)
    print(f"threads={a.threads} input_len={a.input_len} output_len={a.output_len} median of {a.num_iters}")
    print(f"{'':10} {'prefill tok/s':>14} {'decode tok/s':>13}")
    print(f"{'swift-vllm':10} {sp:14.1f} {sd:13.1f}")
    print(f"{'llama.cpp':10} {lp:14.1f} {ld:13.1f}")
    print(f"{'ratio':10} {sp / lp:14.2f} {sd / ld:13.2f}")
    print(json.dumps({"swift_prefill": sp, "swift_decode": sd, "llamacpp_prefill": lp, "llamacpp_decode": ld,
                      "prefill_ratio": sp / lp, "decode_ratio": sd / ld}))

if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The Python binding's overhead: the same offline workload through `vllm bench throughput` and
through swift_vllm's `LLM.generate`, alternated (A B A B …) so drift hits both; the binding's own
share of each Python call (its wall time minus the engine's time for the same call); and the time
to import swift_vllm and to load the model through it.

    python3 scripts/bench-python-offline.py [--model GGUF] [--num-prompts 64] [--input-len 128]
        [--output-len 128] [--rounds 3]

Needs swift_vllm importable (pip install ./python) and the vllm binary (VLLM_BINARY or
.build/release/vllm). Prints one JSON line per measurement and a summary."""
import argparse, json, os, pathlib, random, statistics, subprocess, sys, tempfile, time

ROOT = pathlib.Path(__file__).resolve().parents[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(pathlib.Path.home() / ".cache/swift-vllm/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--num-prompts", type=int, default=64)
    ap.add_argument("--input-len", type=int, default=128)
    ap.add_argument("--output-len", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    binary = os.environ.get("VLLM_BINARY", str(ROOT / ".build/release/vllm"))
    rng = random.Random(0)
    prompts = [[rng.randrange(100, 49152) for _ in range(args.input_len)] for _ in range(args.num_prompts)]
    dataset = pathlib.Path(tempfile.mkdtemp()) / "prompts.jsonl"
    dataset.write_text("".join(json.dumps({"prompt_token_ids": p}) + "\n" for p in prompts))

    start = time.perf_counter()
    import swift_vllm
    import_s = time.perf_counter() - start
    start = time.perf_counter()
    # No prefix caching on either side: the Python engine lives across rounds and would reuse the
    # prompts' KV from the round before, where each `vllm bench throughput` starts cold.
    llm = swift_vllm.LLM(args.model, enable_prefix_caching=False)
    load_s = time.perf_counter() - start
    print(json.dumps({"import_s": round(import_s, 3), "load_s": round(load_s, 3)}), flush=True)
    params = swift_vllm.SamplingParams(temperature=0, max_tokens=args.output_len, ignore_eos=True)
    items = [{"prompt_token_ids": p} for p in prompts]

    swift, python, overhead = [], [], []
    for _ in range(args.rounds):
        out = subprocess.run([binary, "bench", "throughput", "--model", args.model, "--dataset", str(dataset),
                              "--output-len", str(args.output_len), "--no-enable-prefix-caching", "--json"], capture_output=True, text=True, check=True)
        swift.append(json.loads(out.stdout.strip().splitlines()[-1])["output_tokens_per_s"])
        start = time.perf_counter()
        outputs = llm.generate(items, params, use_tqdm=False)
        seconds = time.perf_counter() - start
        tokens = sum(len(o.outputs[0].token_ids) for o in outputs)
        python.append(tokens / seconds)
        # The same call's time inside the engine: what the binding adds is the rest, measured
        # in one run, so it does not drown in the machine's run-to-run noise.
        engine_s = llm._engine.call("last_call", {})["engine_seconds"]
        overhead.append((seconds - engine_s) / seconds)
        print(json.dumps({"vllm_bench_output_tok_s": round(swift[-1], 1), "python_output_tok_s": round(python[-1], 1),
                          "python_wall_s": round(seconds, 4), "engine_s": round(engine_s, 4)}), flush=True)
    for name, pick in (("best", max), ("median", statistics.median)):
        a, b = pick(swift), pick(python)
        print(f"{name} of {args.rounds}: vllm bench throughput {a:.1f} output tok/s, swift_vllm LLM.generate {b:.1f} "
              f"output tok/s: binding overhead {100 * (1 - b / a):+.2f}%")
    print(f"binding overhead within each Python call (wall time outside the engine's LLM.generate): "
          f"median {100 * statistics.median(overhead):.3f}%, max {100 * max(overhead):.3f}%")
    print(f"import swift_vllm {import_s:.3f} s, LLM() load {load_s:.3f} s")


if __name__ == "__main__":
    sys.exit(main())

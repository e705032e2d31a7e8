#!/usr/bin/env python3
"""The benchmark suite in one run: swift-vllm against llama.cpp on the same GGUF files with the
same thread count, every case, one markdown table (stdout) with both numbers, their ratio and
roofline fractions, and all results as JSON (--json-out, rewritten after each model so a long run
that stops keeps what it measured). Within a case the two engines run back to back, so drift in
the machine's speed hits both. Progress goes to stderr.

Models (--models, comma-separated; default: all twelve):
  default                   SmolLM2-135M-Instruct Q4_1 (scripts/fetch-default-model.sh)
  0.5B-TYPE, 1.5B-TYPE      synthetic random-weight Llama GGUFs, TYPE Q4_K_M, Q4_0 or Q8_0, made by
                            scripts/make-synthetic-gguf.py into --synthetic-dir unless there already
  Qwen2.5-0.5B-TYPE, Qwen2.5-1.5B-TYPE, Llama-3.2-1B-TYPE, Gemma-3-1B-TYPE, Phi-3-mini-TYPE
                            random weights at the real model's shape and architecture (TYPE as
                            llama-quantize names it; the suite runs Q4_K_M): a Hugging Face
                            checkpoint by scripts/make-synthetic-hf.py, converted to F16 GGUF by
                            llama.cpp's converter and quantized by its llama-quantize, into
                            --synthetic-dir unless there already (minutes each, once)
  tiny-TYPE                 a two-layer synthetic model (hidden 256) for testing this script
  PATH.gguf                 any GGUF file

Cases (--cases, comma-separated; default: all):
  latency     batch 1, prefill of a 512-token prompt and decode of 128 tokens (greedy), median of 5:
              scripts/bench-vs-llamacpp.py (`vllm bench latency` against llama.cpp's native
              `llama-bench`, pp at depth 0 and tg at depth 512, the faster of -fa 0 and 1).
              Roofline: prefill as a fraction of peak FLOP/s (2 × matmul parameters of the layers,
              the output head left out as it runs for the last token only, × tok/s ÷ peak), decode
              as a fraction of the bandwidth ceiling (tok/s ÷ (bandwidth ÷ model file bytes)).
  throughput  offline throughput with N = 32 and 128 sequences at once, N prompts of 128 random
              tokens and 128 output tokens each; output tok/s = all output tokens ÷ wall time.
              swift-vllm: `vllm bench throughput --num-prompts N --max-num-seqs N`.
              llama.cpp: `llama-batched-bench -npl N -npp 128 -ntg 128` (llama.cpp's own batched
              benchmark, built by `scripts/build-llama-server.sh llama-batched-bench` from the same
              source tree and build directory as llama-server): it prefills the N separate prompts
              (in batches of -b 2048 tokens, as swift-vllm's --max-num-batched-tokens 2048) and then
              decodes all N sequences together; output tok/s = N × 128 ÷ its total time. It feeds
              fixed token ids and does not sample, so llama.cpp's side skips sampling work that
              swift-vllm does. Roofline: the matmul FLOP/s of all tokens (prompt tokens through the
              layers, output tokens through the layers and the head) as a fraction of peak FLOP/s.
  fidelity    `vllm bench fidelity` (swift-vllm only, in the mode --swift-args selects): mean KL and the
              worst top-5 logprob gap against the exact pass (fp32 activations throughout), over 4
              random prompts of 128 tokens and 32 greedy decode steps each; budget: default mode
              KL <= 1e-5 and gap <= 0.02, --activation-dtype int8 KL <= 1e-3.
  serve       scripts/bench-serve.py (`vllm serve` against `llama-server -np 32`, streaming
              /v1/completions through the openai client) at concurrency 1, 8 and 32: output tok/s,
              TTFT and ITL p50/p99. Roofline: output tok/s at concurrency 1 over the decode ceiling.
  rss         peak RSS (VmHWM) of each server at the end of the serve case (of a minimal serve run
              when serve is not selected) and, with the throughput case, of each engine's throughput
              process at the largest N (GNU /usr/bin/time); next to it swift-vllm's configured KV pool, to check the
              target "swift-vllm's peak RSS ≤ llama.cpp's + KV pool".
  ready       time from starting each server's process until /health answers 200.

`vllm bench roofline` runs at the start and after each model, and the table uses the best
bandwidth and FLOP/s seen (a probe that overlaps a noisy moment reads low, never high); its numbers are in the JSON. The FLOP/s peak is fp32 FMA; quantized matmuls on int8 dot-product
instructions can exceed it, so a fraction above 100% is possible, and attention is not counted. Ratios are swift-vllm ÷ llama.cpp: above 1 is better for tok/s,
below 1 is better for times and memory. --quick measures one model (1.5B-Q4_K_M unless --models)
in the latency and fidelity cases (unless --cases), with 2 runs per latency figure: a few minutes.
The tiny-TYPE models run every case in seconds, to test the script.
"""
import argparse, importlib.util, json, os, shutil, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
# The real architectures: bench-all's name → make-synthetic-hf.py's --arch.
REAL_ARCHS = {"Qwen2.5-0.5B": "qwen2", "Qwen2.5-1.5B": "qwen2-1.5b", "Llama-3.2-1B": "llama3.2-1b",
              "Gemma-3-1B": "gemma3-1b", "Phi-3-mini": "phi3"}
ALL_MODELS = ["default"] + [f"{p}-{t}" for p in ("0.5B", "1.5B") for t in ("Q4_K_M", "Q4_0", "Q8_0")] + \
             [f"{name}-Q4_K_M" for name in REAL_ARCHS]
ALL_CASES = ["latency", "fidelity", "throughput", "serve", "rss", "ready"]
TINY_SHAPE = ["--hidden", "256", "--layers", "2", "--heads", "4", "--kv-heads", "2", "--ffn", "512"]

SIZES = {
    "full": dict(pp=512, tg=128, iters=5, tp_in=128, tp_out=128, tp_seqs=[32, 128],
                 conc=[1, 8, 32], prompts=None, words=100, out=128, roofline=[], fidelity=[]),
    "tiny": dict(pp=32, tg=8, iters=1, tp_in=32, tp_out=8, tp_seqs=[2, 4],
                 conc=[1, 4], prompts=[2, 4], words=20, out=8, roofline=["--repeats", "2"],
                 fidelity=["--num-prompts", "1", "--input-len", "16", "--output-len", "4"]),
}


def log(msg):
    print(f"[bench-all {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def load_script(name):
    """Imports scripts/NAME (a file name with dashes) as a module."""
    spec = importlib.util.spec_from_file_location(name.replace("-", "_").removesuffix(".py"), os.path.join(HERE, name))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def last_json(text):
    lines = [l for l in text.strip().splitlines() if l.startswith("{")]
    if not lines:
        raise RuntimeError("no JSON line in output:\n" + text[-2000:])
    return json.loads(lines[-1])


def run_measured(argv):
    """Runs argv; returns (stdout, peak RSS of that process in bytes, or None without GNU time).
    The peak comes from /usr/bin/time, not from this process's wait4: a child spawned from Python
    inherits, in its ru_maxrss, the RSS this (much larger) process had when it was spawned."""
    timed = os.access("/usr/bin/time", os.X_OK)
    with tempfile.NamedTemporaryFile("r") as rss, tempfile.TemporaryFile("w+") as err:
        prefix = ["/usr/bin/time", "-f", "%M", "-o", rss.name] if timed else []
        p = subprocess.run(prefix + argv, stdout=subprocess.PIPE, stderr=err, text=True)
        if p.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{argv[0]} exited with {p.returncode}:\n" + err.read()[-2000:])
        kib = rss.read().split()
    return p.stdout, int(kib[-1]) * 1024 if timed and kib else None


# Models

def model_path(spec, synthetic_dir):
    if spec == "default":
        return subprocess.run([os.path.join(HERE, "fetch-default-model.sh")], check=True,
                              capture_output=True, text=True).stdout.strip()
    if spec.endswith(".gguf"):
        return os.path.expanduser(spec)
    real = next((name for name in REAL_ARCHS if spec.startswith(name + "-")), None)
    if real:
        return real_model_path(real, spec[len(real) + 1:], synthetic_dir)
    size, _, qtype = spec.partition("-")
    if size not in ("0.5B", "1.5B", "tiny") or qtype not in ("Q4_K_M", "Q4_0", "Q8_0"):
        sys.exit(f"unknown model {spec!r}: use default, 0.5B-TYPE, 1.5B-TYPE, tiny-TYPE (TYPE Q4_K_M, Q4_0, Q8_0) or a .gguf path")
    path = os.path.join(synthetic_dir, f"synth-{spec}.gguf")
    if not os.path.exists(path):
        os.makedirs(synthetic_dir, exist_ok=True)
        log(f"making {path}")
        shape = TINY_SHAPE if size == "tiny" else ["--params", size]
        subprocess.run([sys.executable, os.path.join(HERE, "make-synthetic-gguf.py"), *shape, "--type", qtype,
                        "--out", path + ".part"], check=True, stdout=sys.stderr)
        os.replace(path + ".part", path)
    return path


def real_model_path(name, qtype, synthetic_dir):
    path = os.path.join(synthetic_dir, f"{name}-{qtype}.gguf")
    if os.path.exists(path):
        return path
    os.makedirs(synthetic_dir, exist_ok=True)
    hf = os.path.join(synthetic_dir, f"hf-{name}")
    log(f"making {path} (checkpoint, F16 GGUF, llama-quantize)")
    subprocess.run([sys.executable, os.path.join(HERE, "make-synthetic-hf.py"), hf, "--arch", REAL_ARCHS[name],
                    "--gguf", "--gguf-types", "f16", "--force"], check=True, stdout=sys.stderr)
    quantize = subprocess.run([os.path.join(HERE, "build-llama-server.sh"), "llama-quantize"], check=True,
                              stdout=subprocess.PIPE, text=True).stdout.split()[-1]
    subprocess.run([quantize, hf + "-F16.gguf", path + ".part", qtype], check=True, stdout=sys.stderr, stderr=sys.stderr)
    os.replace(path + ".part", path)
    shutil.rmtree(hf)
    os.remove(hf + "-F16.gguf")
    return path


def matmul_params(path):
    """(body, head): weight elements of the model's matrices (every 2-D tensor) in the layers, and
    in the output head (output.weight, or token_embd.weight when tied; an untied token_embd is a
    lookup, not a matmul). Prefill computes the head for the last prompt token only."""
    import gguf
    tensors = gguf.GGUFReader(path).tensors
    head_name = "output.weight" if any(t.name == "output.weight" for t in tensors) else "token_embd.weight"
    body = sum(int(t.n_elements) for t in tensors if len(t.shape) == 2 and t.name not in (head_name, "token_embd.weight"))
    head = next(int(t.n_elements) for t in tensors if t.name == head_name)
    return body, head


# Cases

def case_latency(a, sz, path, llama_bench):
    out = subprocess.run([sys.executable, os.path.join(HERE, "bench-vs-llamacpp.py"), "--model", path, "--llama-bench", llama_bench,
                          "--binary", a.binary, "--threads", str(a.threads), "--input-len", str(sz["pp"]),
                          "--output-len", str(sz["tg"]), "--num-iters", str(sz["iters"]), "--swift-args", a.swift_args],
                         check=True, stdout=subprocess.PIPE, text=True).stdout
    return last_json(out)


def case_fidelity(a, sz, path):
    return last_json(subprocess.run([a.binary, "bench", "fidelity", "--model", path, "--threads", str(a.threads),
                                     "--json", *sz["fidelity"], *a.swift_args.split()],
                                    check=True, stdout=subprocess.PIPE, text=True).stdout)


def case_throughput(a, sz, path, batched_bench):
    res = []
    for n in sz["tp_seqs"]:
        log(f"  throughput N={n}: swift-vllm")
        out, rss = run_measured([a.binary, "bench", "throughput", "--model", path, "--threads", str(a.threads),
                                 "--num-prompts", str(n), "--max-num-seqs", str(n), "--input-len", str(sz["tp_in"]),
                                 "--output-len", str(sz["tp_out"]), "--json", *a.swift_args.split()])
        s = last_json(out)
        log(f"  throughput N={n}: llama.cpp")
        out, lrss = run_measured([batched_bench, "-m", path, "-c", str(n * (sz["tp_in"] + sz["tp_out"])),
                                  "-b", "2048", "-ub", "512", "-npp", str(sz["tp_in"]), "-ntg", str(sz["tp_out"]),
                                  "-npl", str(n), "-t", str(a.threads), "-tb", str(a.threads), "--output-format", "jsonl"])
        l = last_json(out)
        res.append({"num_seqs": n, "input_len": sz["tp_in"], "output_len": sz["tp_out"],
                    "swift": {"output_tok_s": s["output_tokens_per_s"], "total_tok_s": s["total_tokens_per_s"],
                              "peak_rss_bytes": rss, "kv_pool_bytes": s["num_kv_blocks"] * s["kv_block_bytes"], "raw": s},
                    "llamacpp": {"output_tok_s": l["pl"] * l["tg"] / l["t"], "total_tok_s": l["speed"],
                                 "peak_rss_bytes": lrss, "raw": l}})
    return res


def case_serve(a, sz, path, llama_server, minimal=False):
    bs = load_script("bench-serve.py")
    argv = ["--model", path, "--binary", a.binary, "--llama-server", llama_server, "--threads", str(a.threads),
            "--vllm-args", a.swift_args]
    if minimal:
        argv += ["--concurrency", "1", "--num-prompts", "2", "--prompt-words", "20", "--output-len", "8"]
    else:
        argv += ["--concurrency", *map(str, sz["conc"]), "--prompt-words", str(sz["words"]), "--output-len", str(sz["out"])]
        if sz["prompts"]:
            argv += ["--num-prompts", *map(str, sz["prompts"])]
    try:
        return bs.run(bs.build_parser().parse_args(argv))
    except SystemExit as e:  # bench-serve exits when a server fails to start
        raise RuntimeError(str(e)) from None


# Table

def fmt(v, unit):
    if v is None:
        return "—"
    if unit == "MiB":
        return f"{v / 2**20:.0f} MiB"
    if unit == "s":
        return f"{v:.2f} s"
    if unit == "ms":
        return f"{v:.1f} ms"
    if unit == "nats":
        return f"{v:.2g}"
    return f"{v:.1f} {unit}"


def row(model, case, s, l, unit, frac=None):
    ratio = f"{s / l:.2f}×" if s is not None and l else "—"
    if isinstance(frac, tuple):
        frac = " / ".join("—" if f is None else f"{100 * f:.1f}%" for f in frac)
    return {"model": model, "case": case, "swift-vllm": fmt(s, unit), "llama.cpp": fmt(l, unit),
            "ratio": ratio, "roofline": frac or "—"}


def model_rows(name, m, roof):
    rows = []
    peak, ceiling = roof["peak_flops"], roof["memory_bandwidth_bytes_per_s"] / m["file_bytes"]
    body, head = m["matmul_params"] - m["head_params"], m["head_params"]
    # FLOP/s of the matmuls: prompt tokens through the layers, output tokens through the head too
    # (per prompt, one more head product, negligible: left out).
    flops_frac = lambda prompt_tok_s, output_tok_s: 2 * (body * (prompt_tok_s + output_tok_s) + head * output_tok_s) / peak
    for case, err in m.get("errors", {}).items():
        rows.append({"model": name, "case": case, "swift-vllm": "error", "llama.cpp": "error", "ratio": "—",
                     "roofline": err.strip().splitlines()[-1][:80] if err.strip() else "error"})
    if "latency" in m:
        r = m["latency"]
        rows.append(row(name, f"prefill {m['sizes']['pp']} tok, b=1", r["swift_prefill"], r["llamacpp_prefill"], "tok/s",
                        (flops_frac(r["swift_prefill"], 0), flops_frac(r["llamacpp_prefill"], 0))))
        rows.append(row(name, f"decode {m['sizes']['tg']} tok, b=1", r["swift_decode"], r["llamacpp_decode"], "tok/s",
                        (r["swift_decode"] / ceiling, r["llamacpp_decode"] / ceiling)))
    if "fidelity" in m:
        f = m["fidelity"]
        rows.append(row(name, f"mean KL to the exact pass ({f['activation_dtype']}, {f['steps']} steps)", f["mean_kl"], None, "nats"))
        rows.append(row(name, "worst top-5 logprob gap to the exact pass", f["worst_top5_gap"], None, "nats"))
    for t in m.get("throughput", []):
        rows.append(row(name, f"throughput N={t['num_seqs']} (output)", t["swift"]["output_tok_s"], t["llamacpp"]["output_tok_s"],
                        "tok/s", tuple(flops_frac(e["total_tok_s"] - e["output_tok_s"], e["output_tok_s"]) for e in (t["swift"], t["llamacpp"]))))
    if "serve" in m:
        sv = m["serve"]
        levels = sorted({r["concurrency"] for r in sv["rows"]})
        get = lambda server, c: next((r for r in sv["rows"] if r["server"] == server and r["concurrency"] == c), {})
        for c in levels:
            s, l = get("swift-vllm", c), get("llama.cpp", c)
            frac = (s["output_tok_s"] / ceiling, l.get("output_tok_s", 0) / ceiling or None) if c == 1 else None
            rows.append(row(name, f"serve c={c} output", s["output_tok_s"], l.get("output_tok_s"), "tok/s", frac))
            for key, label in (("ttft_p50_ms", "TTFT p50"), ("ttft_p99_ms", "TTFT p99"),
                               ("itl_p50_ms", "ITL p50"), ("itl_p99_ms", "ITL p99")):
                rows.append(row(name, f"serve c={c} {label}", s[key], l.get(key), "ms"))
    srv = m.get("servers")
    if srv and "rss" in m["cases"]:
        s, l, kv = srv["peak_rss_bytes"].get("swift-vllm"), srv["peak_rss_bytes"].get("llama.cpp"), srv["kv_pool_bytes"]
        rows.append(row(name, f"peak RSS, server ({srv['source']})", s, l, "MiB", target(s, l, kv)))
        if m.get("throughput"):
            t = m["throughput"][-1]
            rows.append(row(name, f"peak RSS, throughput N={t['num_seqs']}", t["swift"]["peak_rss_bytes"],
                            t["llamacpp"]["peak_rss_bytes"], "MiB",
                            target(t["swift"]["peak_rss_bytes"], t["llamacpp"]["peak_rss_bytes"], t["swift"]["kv_pool_bytes"])))
    if srv and "ready" in m["cases"]:
        rows.append(row(name, "start to ready (/health 200)", srv["ready_s"].get("swift-vllm"),
                        srv["ready_s"].get("llama.cpp"), "s"))
    return rows


def target(s, l, kv):
    if s is None or l is None or kv is None:
        return None
    return f"≤ llama.cpp + KV pool {kv / 2**20:.0f} MiB: {'yes' if s <= l + kv else 'NO'}"


def markdown(rows):
    cols = ["model", "case", "swift-vllm", "llama.cpp", "ratio", "roofline"]
    head = ["model", "case", "swift-vllm", "llama.cpp", "ratio", "roofline fraction (swift-vllm / llama.cpp)"]
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(r[c] for c in cols) + " |" for r in rows]
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", help=f"comma-separated (default: {','.join(ALL_MODELS)})")
    ap.add_argument("--cases", help=f"comma-separated (default: {','.join(ALL_CASES)})")
    ap.add_argument("--quick", action="store_true", help="one model's latency and fidelity rows, 2 runs each")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--binary", default=os.environ.get("VLLM_BINARY", ".build/release/vllm"))
    ap.add_argument("--synthetic-dir", default=os.path.expanduser("~/.cache/swift-vllm/synthetic"))
    ap.add_argument("--json-out", help="write all results as JSON to this file")
    ap.add_argument("--throughput-seqs", help="comma-separated sequence counts for the throughput case (default 32,128)")
    ap.add_argument("--concurrency", help="comma-separated concurrency levels for the serve case (default 1,8,32)")
    ap.add_argument("--swift-args", default="", help="extra engine flags for every swift-vllm run, e.g. '--activation-dtype int8'")
    a = ap.parse_args()
    a.binary = os.path.abspath(a.binary)
    a.models = a.models or ("1.5B-Q4_K_M" if a.quick else ",".join(ALL_MODELS))
    a.cases = a.cases or ("latency,fidelity" if a.quick else ",".join(ALL_CASES))
    cases = [c for c in a.cases.split(",") if c]
    if set(cases) - set(ALL_CASES):
        sys.exit(f"unknown cases {sorted(set(cases) - set(ALL_CASES))}; choose from {','.join(ALL_CASES)}")
    tiny = all(m.startswith("tiny-") for m in a.models.split(",") if m)
    sz = dict(SIZES["tiny" if tiny else "full"])
    if a.quick:
        sz["iters"] = 2
    if a.throughput_seqs:
        sz["tp_seqs"] = [int(n) for n in a.throughput_seqs.split(",")]
    if a.concurrency:
        sz["conc"] = [int(c) for c in a.concurrency.split(",")]

    targets = (["llama-bench"] if "latency" in cases else []) + \
              (["llama-batched-bench"] if "throughput" in cases else []) + \
              (["llama-server"] if {"serve", "rss", "ready"} & set(cases) else [])
    tools = {}
    if targets:
        log(f"llama.cpp tools: {' '.join(targets)} (builds what is missing; minutes)")
        out = subprocess.run([os.path.join(HERE, "build-llama-server.sh"), *targets], check=True,
                             stdout=subprocess.PIPE, text=True).stdout.split()
        tools = dict(zip(targets, out))

    def probe(best=None):
        """The roofline probe, keeping the best bandwidth and FLOP/s seen so far: a probe that
        overlaps a noisy moment on a shared machine reads low, never high."""
        r = last_json(subprocess.run([a.binary, "bench", "roofline", "--threads", str(a.threads), "--json", *sz["roofline"]],
                                     check=True, stdout=subprocess.PIPE, text=True).stdout)
        if best:
            for key in ("memory_bandwidth_bytes_per_s", "peak_flops"):
                r[key] = max(r[key], best[key])
        log(f"roofline: bandwidth {r['memory_bandwidth_bytes_per_s'] / 1e9:.1f} GB/s, peak {r['peak_flops'] / 1e9:.1f} GFLOP/s")
        return r

    roof = probe()

    results = {"threads": a.threads, "quick": a.quick, "swift_args": a.swift_args, "cases": cases, "sizes": sz, "binary": a.binary,
               "llama_tools": tools, "roofline": roof, "models": {}, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    rows = []
    for name in [m for m in a.models.split(",") if m]:
        path = model_path(name, a.synthetic_dir)
        body, head = matmul_params(path)
        m = results["models"][name] = {"path": path, "file_bytes": os.path.getsize(path), "matmul_params": body + head,
                                       "head_params": head, "cases": cases, "sizes": sz, "errors": {}}
        log(f"[{name}] {path}: {m['file_bytes'] / 2**20:.0f} MiB, {m['matmul_params'] / 1e6:.1f}M matmul parameters")
        steps = [("latency", lambda: case_latency(a, sz, path, tools["llama-bench"])),
                 ("fidelity", lambda: case_fidelity(a, sz, path)),
                 ("throughput", lambda: case_throughput(a, sz, path, tools["llama-batched-bench"])),
                 ("serve", lambda: case_serve(a, sz, path, tools["llama-server"]))]
        if {"rss", "ready"} & set(cases) and "serve" not in cases:
            steps.append(("servers", lambda: case_serve(a, sz, path, tools["llama-server"], minimal=True)))
        for case, fn in steps:
            if case != "servers" and case not in cases:
                continue
            log(f"[{name}] {case}")
            try:
                m[case] = fn()
            except (Exception, SystemExit) as e:
                log(f"[{name}] {case} failed: {e}")
                m["errors"][case] = str(e)
        if "serve" in m:
            m["servers"] = {k: m["serve"][k] for k in ("ready_s", "peak_rss_bytes", "kv_pool_bytes")}
            m["servers"]["source"] = "after serve"
        elif "servers" in m:
            m["servers"] = {k: m["servers"][k] for k in ("ready_s", "peak_rss_bytes", "kv_pool_bytes")}
            m["servers"]["source"] = "minimal serve run"
        roof = probe(roof)
        results["roofline"] = roof
        rows = [r for n, mm in results["models"].items() for r in model_rows(n, mm, roof)]
        results["table"] = rows
        if a.json_out:
            with open(a.json_out, "w") as f:
                json.dump(results, f, indent=1)

    print(f"threads={a.threads}{' (tiny sizes)' if tiny else ''}{', 2 runs per latency figure' if a.quick else ''}; roofline: triad bandwidth "
          f"{roof['memory_bandwidth_bytes_per_s'] / 1e9:.1f} GB/s, peak fp32 {roof['peak_flops'] / 1e9:.1f} GFLOP/s; "
          "ratio = swift-vllm ÷ llama.cpp\n")
    print(markdown(rows))
    if a.json_out:
        log(f"results in {a.json_out}")


if __name__ == "__main__":
    main()

"""End-to-end tests of the `vllm` command line on the default model (real binary, real file)."""
import json
import os
import struct
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BINARY = os.environ.get("VLLM_BINARY", str(ROOT / ".build/release/vllm"))
REF = ROOT.parent / "shared/reference/smollm2-135m-instruct-q4_1"


def run(*args, check=True):
    p = subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=300)
    if check:
        assert p.returncode == 0, p.stderr
    return p


def lines(name):
    return [json.loads(l) for l in (REF / name).read_text().splitlines() if l.strip()]


@pytest.mark.parametrize("case", lines("tokenize.jsonl"), ids=lambda c: c["id"])
def test_tokenize_matches_reference(case):
    out = json.loads(run("tokenize", "--", case["text"]).stdout)
    assert out == {"count": len(case["token_ids_parse_special"]), "tokens": case["token_ids_parse_special"]}


def test_tokenize_empty_and_dash_texts():
    assert json.loads(run("tokenize", "").stdout) == {"count": 0, "tokens": []}
    dash = json.loads(run("tokenize", "--no-add-special-tokens", "--", "-5 apples").stdout)
    assert dash["count"] == len(dash["tokens"]) > 0


def test_generate_json_greedy_matches_float64_reference():
    case = lines("generation.jsonl")[0]
    out = json.loads(run("generate", "--prompt", case["prompt"], "--temperature", "0", "--ignore-eos",
                         "--max-tokens", "32", "--logprobs", "5", "--json").stdout)
    assert out["prompt_token_ids"] == case["prompt_token_ids"]
    o = out["outputs"][0]
    assert o["index"] == 0 and o["finish_reason"] == "length"
    assert o["token_ids"] == case["greedy_token_ids_fp64"]
    assert len(o["logprobs"]) == 32
    for step, (chosen, top5) in enumerate(zip(o["token_ids"], case["fp64_top5"])):
        lp = o["logprobs"][step]
        assert str(chosen) in lp and len(lp) in (5, 6)
        for tid, ref_lp in top5:
            assert abs(lp[str(tid)] - ref_lp) < 0.02


def test_generate_stops_at_eos_with_text():
    prompt = "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
    out = json.loads(run("generate", "--prompt", prompt, "--temperature", "0", "--max-tokens", "64", "--json").stdout)
    o = out["outputs"][0]
    assert o["finish_reason"] == "stop" and o["token_ids"][-1] == 2
    assert "Paris" in o["text"] and o["logprobs"] is None


def test_generate_streams_plain_text():
    out = run("generate", "--prompt", "The capital of France is", "--temperature", "0", "--max-tokens", "4").stdout
    assert out.strip().startswith("Paris")


def test_generate_with_int8_activations():
    out = run("generate", "--prompt", "The capital of France is", "--temperature", "0", "--max-tokens", "4",
              "--activation-dtype", "int8").stdout
    assert out.strip().startswith("Paris")


@pytest.mark.parametrize("args, needle", [
    (["generate", "--prompt", "hi", "--max-tokens", "0"], "max_tokens"),
    (["generate", "--prompt", "hi", "--temperature", "-1"], "temperature"),
    (["generate", "--prompt", "hi", "--model", "/nonexistent/m.gguf"], "/nonexistent/m.gguf"),
    (["generate", "--prompt", "hi", "--max-tokens", "100000"], "max_model_len"),
    (["tokenize", "--threads", "0", "x"], "--threads"),
    (["generate", "--prompt", "hi", "--activation-dtype", "int4"], "--activation-dtype"),
    (["generate", "--prompt", "hi", "--long-prefill-token-threshold", "-1"], "--long-prefill-token-threshold"),
])
def test_bad_input_is_a_one_line_error(args, needle):
    p = run(*args, check=False)
    assert p.returncode != 0
    assert needle in p.stderr
    assert "Backtrac" not in p.stderr and "Fatal" not in p.stderr


def gguf_header_only(path, arch):
    """A minimal valid GGUF v3: one metadata string, no tensors."""
    def s(x):
        b = x.encode()
        return struct.pack("<Q", len(b)) + b
    data = b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + s("general.architecture") + struct.pack("<I", 8) + s(arch)
    path.write_bytes(data)


def test_unsupported_architecture_is_named(tmp_path):
    f = tmp_path / "other.gguf"
    gguf_header_only(f, "mamba")
    p = run("generate", "--model", str(f), "--prompt", "hi", check=False)
    assert p.returncode != 0 and "mamba" in p.stderr


def test_corrupt_file_is_an_error(tmp_path):
    f = tmp_path / "bad.gguf"
    f.write_bytes(b"GGUF\x03\x00\x00\x00" + b"\xff" * 40)
    p = run("tokenize", "--model", str(f), "x", check=False)
    assert p.returncode != 0 and "bad.gguf" in p.stderr


def test_bench_latency_json_last_line():
    out = run("bench", "latency", "--input-len", "16", "--output-len", "4", "--num-iters", "1",
              "--num-iters-warmup", "0", "--json").stdout
    r = json.loads(out.strip().splitlines()[-1])
    assert r["prefill_tokens_per_s"] > 0 and r["decode_tokens_per_s"] > 0


def fidelity(dtype):
    out = run("bench", "fidelity", "--activation-dtype", dtype, "--num-prompts", "2", "--input-len", "24",
              "--output-len", "6", "--json").stdout
    return json.loads(out.strip().splitlines()[-1])


def test_bench_fidelity_orders_the_modes():
    exact, default, int8 = fidelity("exact"), fidelity("float32"), fidelity("int8")
    assert exact["steps"] == default["steps"] == 2 * 7
    # The exact pass against itself is the same computation.
    assert exact["mean_kl"] == exact["worst_top5_gap"] == exact["argmax_misses"] == 0
    # The default mode's budget (KL <= 1e-5, top-5 within 0.02), and int8 measurably further.
    assert 0 < default["mean_kl"] < 1e-5 and default["worst_top5_gap"] < 0.02
    assert int8["mean_kl"] > 10 * default["mean_kl"]


def test_prompts_file_outputs_in_order_with_stats(tmp_path):
    cases = lines("generation.jsonl")[:3]
    f = tmp_path / "prompts.jsonl"
    f.write_text("\n".join([
        json.dumps({"prompt": cases[0]["prompt"], "max_tokens": 32, "ignore_eos": True}),
        json.dumps({"prompt_token_ids": cases[1]["prompt_token_ids"], "max_tokens": 8, "ignore_eos": True}),
        json.dumps({"prompt": cases[2]["prompt"], "max_tokens": 5, "temperature": 0.7, "seed": 3}),
    ]) + "\n")
    out = run("generate", "--prompts-file", str(f), "--temperature", "0", "--stats").stdout.strip().splitlines()
    assert len(out) == 4
    first, second, third = (json.loads(l) for l in out[:3])
    assert first["outputs"][0]["token_ids"] == cases[0]["greedy_token_ids_fp64"]
    assert second["prompt_token_ids"] == cases[1]["prompt_token_ids"]
    assert second["outputs"][0]["token_ids"] == cases[1]["greedy_token_ids_fp64"][:8]
    assert 1 <= len(third["outputs"][0]["token_ids"]) <= 5
    stats = json.loads(out[3])["stats"]
    assert set(stats) == {"num_preemptions", "prefix_cache_queries", "prefix_cache_hits", "kv_waste",
                          "peak_kv_blocks_used", "peak_kv_blocks_without_windows", "num_kv_blocks"}
    assert stats["num_kv_blocks"] > 0 and 0 <= stats["kv_waste"] < 1
    # No sliding window: the tables hold every block they name (the requests share no prefix).
    assert stats["peak_kv_blocks_without_windows"] == stats["peak_kv_blocks_used"] > 0


def test_engine_flags_and_errors(tmp_path):
    p = run("generate", "--prompt", "hi", "--max-tokens", "4", "--num-gpu-blocks-override", "100",
            "--max-model-len", "512", "--block-size", "8", "--max-num-seqs", "4", "--no-enable-prefix-caching", "--stats")
    assert json.loads(p.stdout.strip().splitlines()[-1])["stats"]["num_kv_blocks"] == 100
    assert "KV cache: 100 blocks of 8 tokens" in p.stderr
    p = run("generate", "--prompt", "hi", "--num-gpu-blocks-override", "4", check=False)
    assert p.returncode != 0 and "max_model_len" in p.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "a"}\n{"max_tokens": 3}\n')
    p = run("generate", "--prompts-file", str(bad), check=False)
    assert p.returncode != 0 and "line 2" in p.stderr


def test_long_prefill_threshold_keeps_greedy_output(tmp_path):
    # Prompts cut into 3-token chunks, interleaved with the others' decodes: greedy tokens still
    # equal the float64 reference.
    cases = lines("generation.jsonl")[:3]
    f = tmp_path / "prompts.jsonl"
    f.write_text("".join(json.dumps({"prompt_token_ids": c["prompt_token_ids"], "max_tokens": 8, "ignore_eos": True}) + "\n"
                         for c in cases))
    out = run("generate", "--prompts-file", str(f), "--temperature", "0", "--long-prefill-token-threshold", "3").stdout
    got = [json.loads(l)["outputs"][0]["token_ids"] for l in out.strip().splitlines()]
    assert got == [c["greedy_token_ids_fp64"][:8] for c in cases]


def test_bench_throughput_json_last_line():
    out = run("bench", "throughput", "--num-prompts", "4", "--input-len", "16", "--output-len", "4", "--json").stdout
    r = json.loads(out.strip().splitlines()[-1])
    for key in ("requests_per_s", "output_tokens_per_s", "total_tokens_per_s", "peak_kv_usage", "kv_waste"):
        assert r[key] >= 0
    assert r["output_tokens"] == 16


def test_bench_throughput_reports_speculative_decoding():
    spec = '{"method": "ngram", "num_speculative_tokens": 3, "prompt_lookup_min": 1, "disable_by_batch_size": 8}'
    out = run("bench", "throughput", "--num-prompts", "4", "--input-len", "16", "--output-len", "12", "--json",
              "--speculative-config", spec).stdout
    r = json.loads(out.strip().splitlines()[-1])
    assert r["output_tokens"] == 48
    assert 0 <= r["spec_decode_acceptance_rate"] <= 1 and r["spec_decode_mean_acceptance_length"] >= 1
    assert "speculative decoding: acceptance rate" in out


def test_bench_throughput_with_a_constraint():
    # 200 characters cannot be written in 6 tokens: every request runs to --output-len.
    args = ["bench", "throughput", "--num-prompts", "4", "--input-len", "16", "--output-len", "6", "--json"]
    r = json.loads(run(*args, "--structured-outputs", '{"regex": "[a-z ]{200}"}').stdout.strip().splitlines()[-1])
    assert r["structured_outputs"] is True and r["output_tokens"] == 24
    for bad in ('{"regex": "[a-"}', '{regex', 'null'):
        p = run(*args, "--structured-outputs", bad, check=False)
        assert p.returncode != 0 and "--structured-outputs" in p.stderr and "Fatal" not in p.stderr


def test_sampling_params_json_gives_every_field():
    case = lines("generation.jsonl")[0]
    sp = {"temperature": 0, "max_tokens": 8, "ignore_eos": True, "logprobs": 2, "prompt_logprobs": 1}
    out = json.loads(run("generate", "--prompt", case["prompt"], "--sampling-params", json.dumps(sp), "--json").stdout)
    o = out["outputs"][0]
    assert o["token_ids"] == case["greedy_token_ids_fp64"][:8]
    assert abs(o["cumulative_logprob"] - sum(step[str(t)] for step, t in zip(o["logprobs"], o["token_ids"]))) < 1e-3
    pl = out["prompt_logprobs"]
    assert len(pl) == len(case["prompt_token_ids"]) and pl[0] is None
    assert all(str(t) in entry for t, entry in zip(case["prompt_token_ids"][1:], pl[1:]))
    # Flags override the JSON; detokenize false gives no text.
    out = json.loads(run("generate", "--prompt", case["prompt"], "--sampling-params",
                         '{"max_tokens": 3, "ignore_eos": true, "detokenize": false}', "--max-tokens", "5",
                         "--temperature", "0", "--json").stdout)
    assert len(out["outputs"][0]["token_ids"]) == 5 and out["outputs"][0]["text"] == ""


@pytest.mark.parametrize("sp, needle", [
    ('{"best_of": 1, "n": 2}', "best_of"),
    ('{"temprature": 0.5}', "temprature"),
    ('{"top_p": "high"}', "top_p"),
    ('[1, 2]', "--sampling-params"),
    ('{"use_beam_search": true, "best_of": 2, "temperature": 0.7}', "temperature"),
    ('{"early_stopping": "sometimes"}', "early_stopping"),
])
def test_bad_sampling_params_json_is_a_one_line_error(sp, needle):
    p = run("generate", "--prompt", "hi", "--sampling-params", sp, check=False)
    assert p.returncode != 0 and needle in p.stderr
    assert "Backtrac" not in p.stderr and "Fatal" not in p.stderr


def test_prompts_file_lines_take_any_sampling_field(tmp_path):
    cases = lines("generation.jsonl")[:3]
    f = tmp_path / "prompts.jsonl"
    f.write_text("\n".join([
        json.dumps({"prompt": cases[0]["prompt"], "max_tokens": 6, "n": 2, "best_of": 4, "temperature": 0.8,
                    "seed": 1, "ignore_eos": True}),
        json.dumps({"prompt": cases[1]["prompt"], "max_tokens": 6, "n": 2, "best_of": 3, "temperature": 0,
                    "use_beam_search": True, "early_stopping": "never", "ignore_eos": True}),
        json.dumps({"prompt_token_ids": cases[2]["prompt_token_ids"], "max_tokens": 8, "temperature": 0,
                    "stop_token_ids": [cases[2]["greedy_token_ids_fp64"][2]]}),
    ]) + "\n")
    out = [json.loads(l) for l in run("generate", "--prompts-file", str(f)).stdout.strip().splitlines()]
    best, beams, stopped = out
    assert len(best["outputs"]) == 2
    assert best["outputs"][0]["cumulative_logprob"] >= best["outputs"][1]["cumulative_logprob"]
    assert len(beams["outputs"]) == 2 and all(len(o["token_ids"]) == 6 for o in beams["outputs"])
    assert beams["outputs"][0]["cumulative_logprob"] >= beams["outputs"][1]["cumulative_logprob"]
    assert stopped["outputs"][0]["token_ids"] == cases[2]["greedy_token_ids_fp64"][:3]
    assert stopped["outputs"][0]["finish_reason"] == "stop"
    assert stopped["outputs"][0]["stop_reason"] == str(cases[2]["greedy_token_ids_fp64"][2])
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "a", "bogus": 1}\n')
    p = run("generate", "--prompts-file", str(bad), check=False)
    assert p.returncode != 0 and "line 1" in p.stderr and "bogus" in p.stderr


def test_structured_outputs_in_sampling_json(tmp_path):
    """`structured_outputs` in --sampling-params and on --prompts-file lines, as vLLM's
    SamplingParams takes it; the schema's property order is the output's."""
    import re
    schema = {"type": "object", "properties": {"zeta": {"type": "integer"}, "alpha": {"type": "string", "maxLength": 8}},
              "required": ["zeta", "alpha"]}
    sp = {"temperature": 1.0, "seed": 3, "max_tokens": 80, "structured_outputs": {"json": schema, "disable_any_whitespace": True}}
    out = json.loads(run("generate", "--prompt", "A record:", "--sampling-params", json.dumps(sp), "--json").stdout)
    value = json.loads(out["outputs"][0]["text"])
    assert list(value) == ["zeta", "alpha"] and isinstance(value["zeta"], int)
    f = tmp_path / "so.jsonl"
    f.write_text("\n".join([
        json.dumps({"prompt": "Pick:", "max_tokens": 10, "structured_outputs": {"choice": ["red", "green"]}}),
        json.dumps({"prompt": "Code:", "max_tokens": 20, "seed": 1, "structured_outputs": {"regex": "[A-Z]{3}-\\d{2}"}}),
        json.dumps({"prompt": "Free:", "max_tokens": 4, "temperature": 0}),
    ]) + "\n")
    # --sampling-params' constraint is every line's default; a line's own replaces it.
    out = [json.loads(l) for l in run("generate", "--prompts-file", str(f), "--sampling-params",
                                      json.dumps({"structured_outputs": {"choice": ["yes", "no"]}})).stdout.strip().splitlines()]
    assert out[0]["outputs"][0]["text"] in ("red", "green")
    assert re.fullmatch(r"[A-Z]{3}-\d{2}", out[1]["outputs"][0]["text"])
    assert out[2]["outputs"][0]["text"] in ("yes", "no")
    p = run("generate", "--prompt", "x", "--sampling-params", '{"structured_outputs": {"regex": "(?<=a)b"}}', check=False)
    assert p.returncode != 0 and "structured_outputs" in p.stderr and "lookbehind" in p.stderr
    assert "Backtrac" not in p.stderr and "Fatal" not in p.stderr

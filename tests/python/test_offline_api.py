"""The Python offline API (python/swift_vllm, and the `vllm` shim), installed with pip into a
virtual environment: the description's offline scripts run unchanged but for the model; outputs
equal the Swift API's (`vllm generate --json`) for the same seeds; bad parameters raise vLLM's
exceptions; fuzzed parameters never crash the interpreter; threads and Ctrl-C are safe."""
import json, os, pathlib, random, re, signal, subprocess, sys, threading, time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BINARY = os.environ.get("VLLM_BINARY", str(ROOT / ".build/release/vllm"))
MODEL = str(pathlib.Path.home() / ".cache/swift-vllm/models/SmolLM2-135M-Instruct.Q4_1.gguf")
# The test build's library (it loads the Swift runtime from the toolchain); a plain
# `pip install ./python` builds one with the runtime linked in.
LIBRARY = pathlib.Path(BINARY).parent / "libSwiftVLLM.so"
EXAMPLES = ROOT / "examples/python"


@pytest.fixture(scope="session")
def venv(tmp_path_factory):
    d = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(d)], check=True)
    python = d / "bin/python"
    env = {**os.environ, "SWIFT_VLLM_LIBRARY": str(LIBRARY)}
    for package in ("python", "python/vllm-shim"):
        p = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(ROOT / package)],
                           capture_output=True, text=True, env=env, timeout=600)
        assert p.returncode == 0, p.stdout + p.stderr
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    return python, pathlib.Path(site)


@pytest.fixture(scope="session")
def swift_vllm(venv):
    _, site = venv
    sys.path.insert(0, str(site))
    import swift_vllm
    assert pathlib.Path(swift_vllm.__file__).is_relative_to(site)
    return swift_vllm


@pytest.fixture(scope="session")
def llm(swift_vllm):
    return swift_vllm.LLM(MODEL, max_model_len=512, kv_cache_memory="256MiB")


def run_script(venv, path, *args, timeout=300):
    python, _ = venv
    source = path.read_text().replace('"HuggingFaceTB/SmolLM2-135M-Instruct"', repr(MODEL))
    return subprocess.run([str(python), "-c", source, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def swift_generate(prompt, *flags):
    p = subprocess.run([BINARY, "generate", "--model", MODEL, "--max-model-len", "512", "--prompt", prompt, "--json", *flags],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


@pytest.mark.parametrize("script", ["basic.py", "greedy_and_stop.py", "beam_search.py", "parallel_sampling.py", "chat.py"])
def test_description_scripts_run_unchanged_through_the_vllm_import(venv, script):
    p = run_script(venv, EXAMPLES / script)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip(), p.stderr


def test_multilora_script(venv, tmp_path):
    made = subprocess.run([sys.executable, str(ROOT / "tests/lora/make_adapters.py"), "--plain", str(tmp_path), "2", "8"],
                          capture_output=True, text=True, check=True).stdout.split()
    paths = [pair.split("=", 1)[1] for pair in made]
    p = run_script(venv, EXAMPLES / "multilora.py", *paths)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.strip().splitlines()
    assert [l.split(":")[0] for l in lines] == ["sql", "chat", "base"]


def test_greedy_and_seeded_outputs_equal_the_swift_apis(swift_vllm, llm):
    SamplingParams = swift_vllm.SamplingParams
    prompt = "The capital of France is"
    cases = [
        (SamplingParams(temperature=0, max_tokens=16), ["--temperature", "0", "--max-tokens", "16"]),
        (SamplingParams(temperature=0.8, top_p=0.95, seed=7, max_tokens=16),
         ["--temperature", "0.8", "--sampling-params", '{"top_p": 0.95}', "--seed", "7", "--max-tokens", "16"]),
        (SamplingParams(temperature=1.0, top_k=20, seed=3, n=3, max_tokens=12),
         ["--temperature", "1.0", "--sampling-params", '{"top_k": 20}', "--seed", "3", "--n", "3", "--max-tokens", "12"]),
        (SamplingParams(temperature=0, max_tokens=40, stop=["."]),
         ["--temperature", "0", "--max-tokens", "40", "--stop", "."]),
    ]
    for params, flags in cases:
        [ours] = llm.generate([prompt], params, use_tqdm=False)
        theirs = swift_generate(prompt, *flags)
        assert ours.prompt == prompt and ours.prompt_token_ids == theirs["prompt_token_ids"]
        assert [o.token_ids for o in ours.outputs] == [o["token_ids"] for o in theirs["outputs"]], flags
        assert [o.text for o in ours.outputs] == [o["text"] for o in theirs["outputs"]]
        assert [o.finish_reason for o in ours.outputs] == [o["finish_reason"] for o in theirs["outputs"]]
        assert ours.finished


def test_request_output_shapes(swift_vllm, llm):
    SamplingParams = swift_vllm.SamplingParams
    eos = llm.get_tokenizer().eos_token_id
    params = SamplingParams(temperature=0, max_tokens=8, logprobs=3, prompt_logprobs=2, stop_token_ids=[eos])
    first, second = llm.generate(["Hello", {"prompt_token_ids": [1, 2, 3]}], params, use_tqdm=False)
    assert int(second.request_id) == int(first.request_id) + 1
    assert second.prompt is None and second.prompt_token_ids == [1, 2, 3]
    out = first.outputs[0]
    assert len(out.logprobs) == len(out.token_ids)
    for token, step in zip(out.token_ids, out.logprobs):
        assert token in step and 3 <= len(step) <= 4
        assert all(isinstance(l, swift_vllm.Logprob) and l.logprob <= 0 for l in step.values())
        # The top 3 ranked 1..3, the chosen token (greedy: the most likely) by its rank.
        assert sorted(l.rank for l in step.values()) == [1, 2, 3] and step[token].rank == 1
    assert abs(out.cumulative_logprob - sum(step[t].logprob for t, step in zip(out.token_ids, out.logprobs))) < 1e-6
    assert first.prompt_logprobs[0] is None
    for token, step in zip(first.prompt_token_ids[1:], first.prompt_logprobs[1:]):
        assert step[token].rank >= 1 and step[token].decoded_token == llm.get_tokenizer().decode([token])


def test_sampled_token_ranks_are_their_ranks_among_all_tokens(swift_vllm, llm):
    # Sampled hot with one alternative, most chosen tokens are not the top one; re-reading the
    # text as a prompt ranks each token again from the same model (prompt logprobs).
    params = swift_vllm.SamplingParams(temperature=1.5, seed=11, max_tokens=24, logprobs=1, ignore_eos=True)
    [out] = llm.generate(["My favourite"], params, use_tqdm=False)
    o = out.outputs[0]
    ranks = [step[t].rank for t, step in zip(o.token_ids, o.logprobs)]
    assert all(r >= 1 for r in ranks) and sum(r > 2 for r in ranks) >= 3, ranks
    for t, step in zip(o.token_ids, o.logprobs):
        if step[t].rank == 1:
            assert len(step) == 1
        else:
            assert len(step) == 2 and [l.rank for l in step.values()].count(1) == 1
    [again] = llm.generate([{"prompt_token_ids": out.prompt_token_ids + o.token_ids}],
                           swift_vllm.SamplingParams(max_tokens=1, prompt_logprobs=0), use_tqdm=False)
    n = len(out.prompt_token_ids)
    assert [step[t].rank for t, step in zip(o.token_ids, again.prompt_logprobs[n:])] == ranks


def test_beam_search_outputs_equal_the_swift_apis(swift_vllm, llm):
    prompt = "The capital of France is"
    fields = dict(n=2, best_of=4, use_beam_search=True, temperature=0, max_tokens=16)
    [ours] = llm.generate([prompt], swift_vllm.SamplingParams(**fields), use_tqdm=False)
    theirs = swift_generate(prompt, "--sampling-params", json.dumps(fields))
    assert [o.token_ids for o in ours.outputs] == [o["token_ids"] for o in theirs["outputs"]]
    assert [o.text for o in ours.outputs] == [o["text"] for o in theirs["outputs"]]
    assert [o.cumulative_logprob for o in ours.outputs] == pytest.approx([o["cumulative_logprob"] for o in theirs["outputs"]], abs=1e-9)
    # LLM.beam_search: each sequence's cumulative logprob is what the model gives its tokens
    # read back as a prompt, and the sequences come best score first.
    [beams] = llm.beam_search([prompt], swift_vllm.BeamSearchParams(beam_width=3, max_tokens=8))
    n = len(ours.prompt_token_ids)
    for seq in beams.sequences:
        assert seq.tokens[:n] == ours.prompt_token_ids
        [scored] = llm.generate([{"prompt_token_ids": seq.tokens}], swift_vllm.SamplingParams(max_tokens=1, prompt_logprobs=0),
                                use_tqdm=False)
        total = sum(step[t].logprob for t, step in zip(seq.tokens[n:], scored.prompt_logprobs[n:]))
        assert seq.cum_logprob == pytest.approx(total, abs=2e-3)
    eos = llm.get_tokenizer().eos_token_id
    scores = [s.cum_logprob / (len(s.tokens) - (s.tokens[-1] == eos)) for s in beams.sequences]
    assert scores == sorted(scores, reverse=True)


def test_lora_outputs_equal_the_swift_apis(swift_vllm, tmp_path):
    made = subprocess.run([sys.executable, str(ROOT / "tests/lora/make_adapters.py"), "--plain", str(tmp_path), "2", "8"],
                          capture_output=True, text=True, check=True).stdout.split()
    paths = [pair.split("=", 1)[1] for pair in made]
    lora_llm = swift_vllm.LLM(MODEL, max_model_len=512, kv_cache_memory="256MiB", enable_lora=True, max_lora_rank=8, max_loras=2)
    prompts = ["Tell me a joke:"] * 3
    loras = [swift_vllm.LoRARequest("a", 1, paths[0]), swift_vllm.LoRARequest("b", 2, paths[1]), None]
    ours = lora_llm.generate(prompts, swift_vllm.SamplingParams(temperature=0, max_tokens=12), lora_request=loras, use_tqdm=False)
    texts = []
    for prompt, lora, out in zip(prompts, loras, ours):
        flags = ["--enable-lora", "--max-lora-rank", "8", "--lora-path", lora.lora_path] if lora else []
        theirs = swift_generate(prompt, "--temperature", "0", "--max-tokens", "12", *flags)
        assert out.outputs[0].token_ids == theirs["outputs"][0]["token_ids"], lora
        texts.append(out.outputs[0].text)
    # (These small random adapters move some greedy continuations, not all.)
    assert texts[0] != texts[2] or texts[1] != texts[2], "the adapters changed nothing"


def test_chat_beam_search_and_tokenizer(swift_vllm, llm):
    tok = llm.get_tokenizer()
    ids = tok.encode("Hello world")
    assert tok.decode(ids) == "Hello world"
    messages = [{"role": "user", "content": "Hi"}]
    text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert text.startswith("<|im_start|>") and text.endswith("<|im_start|>assistant\n")
    [chat] = llm.chat(messages, swift_vllm.SamplingParams(temperature=0, max_tokens=6), use_tqdm=False)
    [direct] = llm.generate([{"prompt_token_ids": tok.encode(text, add_special_tokens=False)}],
                            swift_vllm.SamplingParams(temperature=0, max_tokens=6), use_tqdm=False)
    assert chat.prompt == text and chat.outputs[0].token_ids == direct.outputs[0].token_ids
    [beams] = llm.beam_search(["The capital of France is"], swift_vllm.BeamSearchParams(beam_width=3, max_tokens=6))
    assert len(beams.sequences) == 3
    assert all(s.text.startswith("The capital of France is") for s in beams.sequences)


def test_bad_parameters_raise_vllms_exceptions(swift_vllm):
    SamplingParams = swift_vllm.SamplingParams
    for kwargs, field in [({"temperature": -1.0}, "temperature"), ({"top_p": 0.0}, "top_p"), ({"n": 0}, "n"),
                          ({"n": 3, "best_of": 2}, "best_of"), ({"presence_penalty": 3.0}, "presence_penalty"),
                          ({"max_tokens": 0}, "max_tokens")]:
        with pytest.raises(ValueError, match=field):
            SamplingParams(**kwargs)
    with pytest.raises(TypeError, match="temperature"):
        SamplingParams(temperature="hot")
    with pytest.raises(ValueError, match="id must be > 0"):
        swift_vllm.LoRARequest("x", 0, "/tmp")
    with pytest.raises(OSError, match="/no/such/model.gguf"):
        swift_vllm.LLM("/no/such/model.gguf")
    with pytest.raises(TypeError, match="not_an_engine_arg"):
        swift_vllm.LLM(MODEL, not_an_engine_arg=1)
    with pytest.raises(ValueError, match="max_num_seqs"):
        swift_vllm.LLM(MODEL, max_num_seqs=0)
    with pytest.raises(ValueError, match="max_model_len"):
        swift_vllm.LLM(MODEL, max_model_len="abc")
    with pytest.raises(ValueError, match="seed"):
        swift_vllm.LLM(MODEL, seed=2 ** 64)


def test_bad_requests_raise_and_leave_the_engine_usable(swift_vllm, llm):
    SamplingParams = swift_vllm.SamplingParams
    with pytest.raises(ValueError):
        llm.generate([""], SamplingParams(max_tokens=2), use_tqdm=False)
    with pytest.raises(ValueError):
        llm.generate([{"prompt_token_ids": [10 ** 9]}], SamplingParams(max_tokens=2), use_tqdm=False)
    with pytest.raises(ValueError, match="lengths"):
        llm.generate(["a", "b", "c"], [SamplingParams(), SamplingParams()], use_tqdm=False)
    with pytest.raises(TypeError):
        llm.generate([3.5], use_tqdm=False)
    with pytest.raises(ValueError, match="LoRA"):
        llm.generate(["a"], SamplingParams(max_tokens=2), lora_request=swift_vllm.LoRARequest("x", 1, "/tmp"), use_tqdm=False)
    [ok] = llm.generate(["Hello"], SamplingParams(temperature=0, max_tokens=3), use_tqdm=False)
    assert len(ok.outputs[0].token_ids) == 3


def test_fuzzed_parameters_never_crash(swift_vllm, llm):
    """Random values of random types through SamplingParams and generate: each call succeeds or
    raises ValueError/TypeError; the process survives."""
    rng = random.Random(0)
    values = [None, 0, 1, -1, 2, 7, 10 ** 20, -(10 ** 20), 0.5, -0.5, 1e308, float("nan"), float("inf"), "", "x",
              [], [1, 2], ["a"], {}, {"1": 2.0}, True, False]
    fields = [f for f in swift_vllm.SamplingParams.__dataclass_fields__ if f not in ("output_kind",)]
    outcomes = {"ok": 0, "refused": 0}
    for _ in range(300):
        kwargs = {rng.choice(fields): rng.choice(values) for _ in range(rng.randint(1, 3))}
        kwargs["max_tokens"] = rng.choice([1, 2, 3])
        try:
            params = swift_vllm.SamplingParams(**kwargs)
            llm.generate([rng.choice(["Hi", "The sky is", {"prompt_token_ids": [1, 2]}])], params, use_tqdm=False)
            outcomes["ok"] += 1
        except (ValueError, TypeError):
            outcomes["refused"] += 1
    assert outcomes["ok"] > 20 and outcomes["refused"] > 20, outcomes
    [after] = llm.generate(["Hello"], swift_vllm.SamplingParams(temperature=0, max_tokens=3), use_tqdm=False)
    assert len(after.outputs[0].token_ids) == 3


def test_two_threads_share_one_llm(swift_vllm, llm):
    params = swift_vllm.SamplingParams(temperature=0, max_tokens=12)
    prompts = [["The capital of France is", "Hello"], ["Once upon a time", "1, 2, 3,"]]
    expected = [[o.outputs[0].token_ids for o in llm.generate(p, params, use_tqdm=False)] for p in prompts]
    results = [None, None]

    def work(i):
        for _ in range(3):
            got = [o.outputs[0].token_ids for o in llm.generate(prompts[i], params, use_tqdm=False)]
            assert got == expected[i]
        results[i] = "ok"

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert results == ["ok", "ok"]


def test_ctrl_c_aborts_generate_and_the_engine_goes_on(venv):
    python, _ = venv
    script = f"""
import sys
from swift_vllm import LLM, SamplingParams
llm = LLM({MODEL!r}, max_model_len=512, kv_cache_memory="256MiB")
print("ready", flush=True)
try:
    llm.generate(["Tell me a long story"] * 8, SamplingParams(max_tokens=500, ignore_eos=True), use_tqdm=False)
    print("finished", flush=True)
except KeyboardInterrupt:
    print("interrupted", flush=True)
[out] = llm.generate(["Hello"], SamplingParams(temperature=0, max_tokens=4), use_tqdm=False)
print("after", len(out.outputs[0].token_ids), flush=True)
"""
    p = subprocess.Popen([str(python), "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready", p.stderr.read()
    time.sleep(1.0)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    assert out.split() == ["interrupted", "after", "4"], out + err


def test_the_shim_never_shadows_a_real_vllm(venv, tmp_path):
    python, site = venv
    assert (site / "swift_vllm_vllm_shim.pth").read_text().strip() == "swift_vllm_shim"
    which = [str(python), "-c", "import vllm, swift_vllm; print(vllm.LLM is swift_vllm.LLM)"]
    assert subprocess.run(which, capture_output=True, text=True, check=True).stdout.strip() == "True"
    real = tmp_path / "vllm"
    real.mkdir()
    (real / "__init__.py").write_text("REAL = True\n")
    try:
        (site / "vllm").symlink_to(real)  # a real vLLM in site-packages
        found = subprocess.run([str(python), "-c", "import vllm; print(getattr(vllm, 'REAL', False))"],
                               capture_output=True, text=True, check=True).stdout.strip()
        assert found == "True"
    finally:
        (site / "vllm").unlink()


def test_engine_seed_makes_unseeded_sampling_repeat(swift_vllm):
    params = swift_vllm.SamplingParams(temperature=1.0, max_tokens=12)
    prompts = ["Once upon a time", "Once upon a time", "The sky is"]

    def run(seed):
        llm = swift_vllm.LLM(MODEL, seed=seed, max_model_len=256, kv_cache_memory="64MiB")
        return [o.outputs[0].token_ids for o in llm.generate(prompts, params, use_tqdm=False)]

    first, again, other = run(5), run(5), run(6)
    assert first == again
    assert first[0] != first[1]  # two requests of one run draw different streams
    assert first != other

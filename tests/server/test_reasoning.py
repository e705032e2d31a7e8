"""`--reasoning-parser` (deepseek_r1, qwen3) with the real `openai` client, on the tiny Qwen3
checkpoint whose tokenizer is given `<think>` and `</think>` tokens here (two rare BPE tokens
renamed, as Qwen3's vocabulary holds them): the reasoning goes to `reasoning_content`, whole and
streamed, and a structured-output constraint applies only after `</think>` — the reasoning is
free text, the answer matches the regex."""
import json
import re
import shutil

import pytest

from conftest import ROOT, Server

TINY = ROOT / "Tests/Fixtures/tiny-models/qwen3/hf"
ANSWER = r"[0-9]{2,6}"


def with_think_tokens(dst):
    """The tiny checkpoint with ids 382/383 renamed `<think>`/`</think>` (added tokens, not special)."""
    shutil.copytree(TINY, dst)
    path = dst / "tokenizer.json"
    tok = json.loads(path.read_text())
    vocab = tok["model"]["vocab"]
    by_id = {i: s for s, i in vocab.items()}
    old = {by_id[382], by_id[383]}
    for s in old:
        del vocab[s]
    vocab["<think>"], vocab["</think>"] = 382, 383

    def parts(m):
        return m.split(" ", 1) if isinstance(m, str) else m
    tok["model"]["merges"] = [m for m in tok["model"]["merges"] if not (set(parts(m)) & old or "".join(parts(m)) in old)]
    for i, s in ((382, "<think>"), (383, "</think>")):
        tok["added_tokens"].append({"id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
                                    "normalized": False, "special": False})
    path.write_text(json.dumps(tok))
    return dst


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return with_think_tokens(tmp_path_factory.mktemp("reasoning") / "qwen3-think")


@pytest.fixture(scope="module", params=["deepseek_r1", "qwen3"])
def served(request, model_dir):
    s = Server(str(model_dir), "--max-model-len", "256", "--reasoning-parser", request.param)
    yield request.param, s
    assert s.stop() == 0, "".join(s.log[-30:])


def client(s):
    from openai import OpenAI
    return OpenAI(base_url=s.url + "/v1", api_key="unused", max_retries=0, timeout=60)


def raw_output(style, m):
    """The generated text back from the two fields (the tags are not in either)."""
    if m.reasoning_content is None:
        return m.content or ""
    return m.reasoning_content + "</think>" + (m.content or "")


# `</think>` made likely (a few percent per token) so the reasoning ends at a random point.
def request(model_dir, **kw):
    return dict(model=str(model_dir), messages=[{"role": "user", "content": "Count."}], temperature=1.0,
                logit_bias={"383": 4.0}, extra_body={"structured_outputs": {"regex": ANSWER}}, **kw)


def test_constraint_applies_after_the_reasoning(served, model_dir):
    style, s = served
    c = client(s)
    ended = free = 0
    for seed in range(6):
        r = c.chat.completions.create(seed=seed, **request(model_dir, max_tokens=200))
        m = r.choices[0].message
        if r.choices[0].finish_reason != "stop":
            continue
        ended += 1
        raw = raw_output(style, m)
        thought, answer = raw.split("</think>", 1)
        assert re.fullmatch(ANSWER, answer), raw
        # Unconstrained while reasoning: text the regex could never produce.
        free += bool(re.search(r"[^0-9]", thought))
        if style == "deepseek_r1":
            assert m.reasoning_content == thought and m.content == answer
        else:
            # qwen3: no `<think>` in the output, so no reasoning part (as vLLM's parser reads it).
            assert m.reasoning_content is None and m.content == raw
    assert ended >= 3 and free >= 1


def test_streamed_reasoning_adds_up_to_the_whole(served, model_dir):
    style, s = served
    c = client(s)
    kw = request(model_dir, max_tokens=120, seed=4)
    whole = c.chat.completions.create(**kw).choices[0].message
    reasoning = content = ""
    for chunk in c.chat.completions.create(stream=True, **kw):
        d = chunk.choices[0].delta
        reasoning += getattr(d, "reasoning_content", None) or ""
        content += d.content or ""
    assert reasoning == (whole.reasoning_content or "") and content == (whole.content or "")


def test_prompt_that_ends_the_reasoning_constrains_from_the_start(served, model_dir):
    """vLLM: a prompt that already holds `</think>` (Qwen3's enable_thinking=False form) has no
    reasoning left; the whole reply is the constrained answer."""
    style, s = served
    r = client(s).chat.completions.create(
        model=str(model_dir), temperature=1.0, seed=1, max_tokens=40,
        messages=[{"role": "user", "content": "Count."}, {"role": "assistant", "content": "<think>\n\n</think>\n\n"}],
        extra_body={"continue_final_message": True, "add_generation_prompt": False, "structured_outputs": {"regex": ANSWER}})
    text = r.choices[0].message.content or ""
    if style == "deepseek_r1":
        # deepseek_r1 reads an output without `</think>` as all reasoning.
        text = r.choices[0].message.reasoning_content or ""
    assert re.fullmatch(ANSWER, text)


def test_model_without_think_tokens_is_refused():
    import subprocess
    from conftest import BINARY
    p = subprocess.run([BINARY, "serve", "--port", "0", "--reasoning-parser", "deepseek_r1", str(TINY)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode != 0 and "<think> and </think>" in p.stderr + p.stdout
    p = subprocess.run([BINARY, "serve", "--reasoning-parser", "nope"], capture_output=True, text=True, timeout=60)
    assert p.returncode != 0 and "deepseek_r1, qwen3" in p.stderr

"""Byte-for-byte conformance of `vllm chat-template` with Python's jinja2 configured as Hugging
Face configures it, over real chat templates (fixtures in templates/) × conversations × with and
without add_generation_prompt. Where jinja2 raises, the CLI must fail too, with a one-line error."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from conversations import CONVERSATIONS  # noqa: E402
from hf_reference import apply_chat_template  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
BINARY = os.environ.get("VLLM_BINARY", str(ROOT / ".build/release/vllm"))
TEMPLATES = sorted((Path(__file__).parent / "templates").glob("*.jinja"))

# bos/eos strings each family's tokenizer defines; others get Llama-2-style <s> and </s>.
SPECIAL_TOKENS = [
    ("smollm2", "<|im_start|>", "<|im_end|>"),
    ("llama-3", "<|begin_of_text|>", "<|eot_id|>"),
    ("gemma", "<bos>", "<eos>"),
    ("deepseek", "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
    ("phi-3", "<s>", "<|endoftext|>"),
    ("qwen", "", "<|im_end|>"),
    ("hermes", "<|begin_of_text|>", "<|im_end|>"),
]

STATS = {"compared": 0, "jinja2_errors": 0}


def special_tokens(template_path):
    for prefix, bos, eos in SPECIAL_TOKENS:
        if prefix in template_path.name:
            return bos, eos
    return "<s>", "</s>"


CASES = [(t, name, agp) for t in TEMPLATES for name in CONVERSATIONS for agp in (False, True)]


def case_id(case):
    t, name, agp = case
    return f"{t.stem}-{name}-{'agp' if agp else 'noagp'}"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_matches_jinja2(case, tmp_path):
    template_path, name, agp = case
    conv = CONVERSATIONS[name]
    source = template_path.read_text(encoding="utf-8")
    bos, eos = special_tokens(template_path)
    kwargs = conv.get("kwargs", {})
    cont = conv.get("continue", False)

    try:
        expected = apply_chat_template(source, conv["messages"], tools=conv.get("tools"), add_generation_prompt=agp,
                                       continue_final_message=cont, bos_token=bos, eos_token=eos, **kwargs)
        error = None
    except Exception as e:  # jinja2 (or the template itself) refused this combination.
        expected, error = None, e

    messages = tmp_path / "messages.json"
    messages.write_text(json.dumps(conv["messages"], ensure_ascii=False), encoding="utf-8")
    args = [BINARY, "chat-template", "--chat-template", str(template_path), "--messages", str(messages),
            "--bos-token", bos, "--eos-token", eos]
    if "tools" in conv:
        tools = tmp_path / "tools.json"
        tools.write_text(json.dumps(conv["tools"], ensure_ascii=False), encoding="utf-8")
        args += ["--tools", str(tools)]
    if kwargs:
        args += ["--kwargs", json.dumps(kwargs)]
    if agp:
        args.append("--add-generation-prompt")
    if cont:
        args.append("--continue-final-message")
    p = subprocess.run(args, capture_output=True, timeout=60)

    if error is not None:
        STATS["jinja2_errors"] += 1
        assert p.returncode != 0, f"jinja2 raised {error!r} but the CLI rendered {p.stdout!r}"
        err = p.stderr.decode("utf-8", "replace").strip()
        assert err and "\n" not in err, err
        assert "Fatal" not in err and "Backtrace" not in err
        # The same failure, not just any: jinja2's message (or the exception's name for Python's
        # own recursion limit) appears in ours.
        assert (type(error).__name__ if isinstance(error, RecursionError) else str(error)[:80]) in err
        return
    assert p.returncode == 0, p.stderr.decode("utf-8", "replace")
    STATS["compared"] += 1
    assert p.stdout == expected.encode("utf-8")


def test_raise_exception_message_reaches_stderr(tmp_path):
    mistral = next(t for t in TEMPLATES if "mistral-7b-instruct-v0.3" in t.name)
    messages = tmp_path / "m.json"
    messages.write_text(json.dumps([{"role": "assistant", "content": "first"}]))
    p = subprocess.run([BINARY, "chat-template", "--chat-template", str(mistral), "--messages", str(messages)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode != 0
    assert "conversation roles must alternate user/assistant/user/assistant" in p.stderr


def test_default_model_template_and_tokens(tmp_path):
    """Without --chat-template the template and bos/eos come from the default model's GGUF."""
    smol = next(t for t in TEMPLATES if t.name.startswith("smollm2"))
    messages = tmp_path / "m.json"
    conv = CONVERSATIONS["multi_turn_system"]["messages"]
    messages.write_text(json.dumps(conv))
    p = subprocess.run([BINARY, "chat-template", "--messages", str(messages), "--add-generation-prompt"],
                       capture_output=True, timeout=120)
    assert p.returncode == 0, p.stderr
    expected = apply_chat_template(smol.read_text(encoding="utf-8"), conv, add_generation_prompt=True,
                                   bos_token="<|im_start|>", eos_token="<|im_end|>")
    assert p.stdout == expected.encode("utf-8")
    probe = tmp_path / "probe.jinja"
    probe.write_text("[{{ bos_token }}|{{ eos_token }}]")
    model = os.environ.get("VLLM_TEST_MODEL") or str(Path.home() / ".cache/swift-vllm/models/SmolLM2-135M-Instruct.Q4_1.gguf")
    p = subprocess.run([BINARY, "chat-template", "--model", model, "--chat-template", str(probe), "--messages", str(messages)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "[<|im_start|>|<|im_end|>]"


def test_corpus_size():
    assert len(TEMPLATES) >= 20 and len(CONVERSATIONS) >= 15


def pytest_terminal_summary_text():
    return (f"chat template conformance corpus: {len(TEMPLATES)} templates x {len(CONVERSATIONS)} conversations x 2 "
            f"(add_generation_prompt off/on) = {len(CASES)} cases; {STATS['compared']} compared byte-for-byte, "
            f"{STATS['jinja2_errors']} where jinja2 raised and the CLI failed too")

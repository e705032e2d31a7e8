"""`vllm serve openai/gpt-oss-20b` as the deployment examples run it, from the hub cache: the tiny
gpt-oss checkpoint with MXFP4 experts (Tests/Fixtures/tiny-models/gpt_oss_mxfp4) under that repo id,
with gpt-oss's own chat template (the harmony format, Tests/Fixtures/harmony), driven by the real
`openai` client. The random model writes no harmony markers, so these check the plumbing: the
template and `reasoning_effort`, the reply's shape, tool choice with the `openai` parser, bad
input; the parsing itself is tested on hand-written replies (Tests/VLLMToolParsersTests)."""
import shutil

import pytest
import requests

from conftest import ROOT, Server, assert_idle
from test_hf_models import make_cache

REPO = "openai/gpt-oss-20b"
WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city.",
                                            "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                           "required": ["city"]}}}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    src = tmp_path_factory.mktemp("gpt-oss-src")
    for f in (ROOT / "Tests/Fixtures/tiny-models/gpt_oss_mxfp4/hf").iterdir():
        shutil.copyfile(f, src / f.name)
    shutil.copyfile(ROOT / "Tests/Fixtures/harmony/chat_template.jinja", src / "chat_template.jinja")
    hub = tmp_path_factory.mktemp("hub")
    make_cache(hub, REPO, src)
    s = Server(REPO, "--max-model-len", "2048", "--enable-auto-tool-choice", "--tool-call-parser", "openai",
               env={"HF_HUB_CACHE": str(hub)})
    yield s
    assert s.stop() == 0, "".join(s.log[-30:])


def tokens(served, effort):
    r = requests.post(served.url + "/tokenize", json={"model": REPO, "messages": [{"role": "user", "content": "hi"}],
                                                      "chat_template_kwargs": {"reasoning_effort": effort}}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["tokens"]


def test_reasoning_effort_reaches_the_harmony_template(served):
    from openai import OpenAI
    client = OpenAI(base_url=served.url + "/v1", api_key="unused", max_retries=0, timeout=120)
    low, high = tokens(served, "low"), tokens(served, "high")
    assert low != high
    for effort, want in (("low", low), ("high", high)):
        r = client.chat.completions.create(model=REPO, max_tokens=4, temperature=0, reasoning_effort=effort,
                                           messages=[{"role": "user", "content": "hi"}])
        assert r.usage.prompt_tokens == len(want)
        m = r.choices[0].message
        # No harmony markers in a random model's reply: all of it is an unfinished first header.
        assert m.content is None and m.model_extra["reasoning_content"] == "" and not m.tool_calls
        assert r.choices[0].finish_reason == "length"
    assert_idle(served.url)


def test_tools_and_streaming(served):
    from openai import OpenAI
    client = OpenAI(base_url=served.url + "/v1", api_key="unused", max_retries=0, timeout=120)
    r = client.chat.completions.create(model=REPO, max_tokens=4, temperature=0, tools=[WEATHER],
                                       messages=[{"role": "user", "content": "Weather in Paris?"}])
    assert r.choices[0].finish_reason == "length" and not r.choices[0].message.tool_calls
    chunks = list(client.chat.completions.create(model=REPO, max_tokens=4, temperature=0, stream=True, tools=[WEATHER],
                                                 messages=[{"role": "user", "content": "Weather in Paris?"}]))
    assert chunks[0].choices[0].delta.role == "assistant" and chunks[-1].choices[0].finish_reason == "length"
    assert_idle(served.url)


def test_bad_reasoning_effort_is_a_400(served):
    r = requests.post(served.url + "/v1/chat/completions", json={
        "model": REPO, "messages": [{"role": "user", "content": "hi"}], "reasoning_effort": "extreme"}, timeout=30)
    assert r.status_code == 400 and r.json()["error"]["param"] == "reasoning_effort", r.text

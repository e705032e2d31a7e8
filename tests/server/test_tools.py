"""Tool calls with --enable-auto-tool-choice --tool-call-parser hermes. The 135M model follows
a few-shot pattern greedily, so it emits a real call that the parser turns into `tool_calls`."""
import json

import pytest
import requests

from conftest import MODEL, Server

TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]


def call_text(city):
    return '<tool_call>\n{"name": "get_weather", "arguments": {"city": "%s"}}\n</tool_call>' % city


SHOTS = [m for c in ["London", "Tokyo", "Berlin", "Madrid"] for m in (
    {"role": "user", "content": f"What is the weather in {c}?"}, {"role": "assistant", "content": call_text(c)})]
ASK = SHOTS + [{"role": "user", "content": "What is the weather in Paris?"}]


@pytest.fixture(scope="module")
def tool_client():
    from openai import OpenAI
    s = Server("--enable-auto-tool-choice", "--tool-call-parser", "hermes", "--trust-request-chat-template")
    yield OpenAI(base_url=s.url + "/v1", api_key="unused", max_retries=0, timeout=120)
    assert s.stop() == 0


def test_tool_call_is_returned_as_tool_calls(tool_client):
    r = tool_client.chat.completions.create(model=MODEL, messages=ASK, tools=TOOLS, temperature=0, max_tokens=60)
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    [call] = choice.message.tool_calls
    assert call.type == "function" and call.id.startswith("chatcmpl-tool-")
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Paris"}


def test_tool_call_streams_as_deltas(tool_client):
    chunks = list(tool_client.chat.completions.create(model=MODEL, messages=ASK, tools=TOOLS, temperature=0,
                                                      max_tokens=60, stream=True))
    deltas = [d for c in chunks for d in (c.choices[0].delta.tool_calls or [])]
    assert deltas[0].id and deltas[0].function.name == "get_weather"
    assert all(d.index == 0 for d in deltas) and all(d.id is None for d in deltas[1:])
    assert json.loads("".join(d.function.arguments or "" for d in deltas)) == {"city": "Paris"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_tool_choice_none_keeps_text(tool_client):
    r = tool_client.chat.completions.create(model=MODEL, messages=ASK, tools=TOOLS, tool_choice="none",
                                            temperature=0, max_tokens=60)
    assert r.choices[0].message.tool_calls in (None, [])
    assert "<tool_call>" in r.choices[0].message.content and r.choices[0].finish_reason == "stop"


def test_tool_history_renders(tool_client):
    history = ASK + [
        {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function", "function": {
            "name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "Sunny, 21 C"},
    ]
    r = tool_client.chat.completions.create(model=MODEL, messages=history, tools=TOOLS, max_tokens=8)
    assert r.usage.prompt_tokens > 0 and r.choices[0].finish_reason in ("stop", "length", "tool_calls")


@pytest.mark.parametrize("choice", ["required", {"type": "function", "function": {"name": "get_weather"}}])
def test_forced_tool_choice_is_refused_clearly(tool_client, choice):
    from openai import BadRequestError
    with pytest.raises(BadRequestError, match="structured outputs"):
        tool_client.chat.completions.create(model=MODEL, messages=ASK, tools=TOOLS, tool_choice=choice, max_tokens=4)


def test_request_chat_template_with_kwargs(tool_client):
    """With --trust-request-chat-template a request brings its own template; kwargs reach it."""
    root = str(tool_client.base_url).removesuffix("/v1/")
    template = "{{ greeting }}{% for m in messages %}{{ m.content }}{% endfor %}{{ tools | length }}"
    body = {"messages": [{"role": "user", "content": "Hi"}], "chat_template": template,
            "chat_template_kwargs": {"greeting": "Hey "}, "tools": TOOLS}
    t = requests.post(root + "/tokenize", json=body).json()
    d = requests.post(root + "/detokenize", json={"tokens": t["tokens"]}).json()
    assert d["prompt"] == "Hey Hi1"
    r = tool_client.chat.completions.create(model=MODEL, messages=body["messages"], max_tokens=2, tool_choice="none",
                                            tools=TOOLS, extra_body={k: body[k] for k in ("chat_template", "chat_template_kwargs")})
    assert r.usage.prompt_tokens == t["count"]

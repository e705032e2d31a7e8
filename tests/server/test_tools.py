"""Tool calls with --enable-auto-tool-choice --tool-call-parser hermes. The 135M model follows
a few-shot pattern greedily, so it emits a real call that the parser turns into `tool_calls`."""
import json
import re

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


# Two tools, one with `$defs` that its parameters reference: "required" lifts them to the root.
FORCED_TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string", "maxLength": 24},
                                         "unit": {"enum": ["celsius", "fahrenheit"]}},
        "required": ["city", "unit"]}}},
    {"type": "function", "function": {"name": "book_trip", "parameters": {
        "type": "object", "properties": {"to": {"$ref": "#/$defs/place"}, "nights": {"type": "integer", "minimum": 1, "maximum": 9}},
        "required": ["to", "nights"], "$defs": {"place": {"type": "string", "enum": ["Paris", "Rome", "Oslo"]}}}}},
    {"type": "function", "function": {"name": "now"}},
]
SCHEMAS = {t["function"]["name"]: t["function"].get("parameters") or {"type": "object", "properties": {}, "additionalProperties": False}
           for t in FORCED_TOOLS}
NAMED = {"type": "function", "function": {"name": "book_trip"}}


def check_call(call):
    import jsonschema
    assert call.type == "function" and call.id.startswith("chatcmpl-tool-")
    assert call.function.name in SCHEMAS
    jsonschema.validate(json.loads(call.function.arguments), SCHEMAS[call.function.name])


# At temperature 1 the any-whitespace layout lets an output run long: outputs cut by max_tokens
# are counted, every finished one is checked.
def test_required_gives_valid_calls_at_temperature_1(tool_client):
    finished = 0
    for seed in range(4):
        r = tool_client.chat.completions.create(model=MODEL, messages=ASK, tools=FORCED_TOOLS, tool_choice="required",
                                                temperature=1.0, seed=seed, n=2, max_tokens=400)
        for choice in r.choices:
            # vLLM's answer: content "", the engine's finish reason, one call per array item.
            assert choice.message.content == "" and choice.finish_reason in ("stop", "length")
            if choice.finish_reason == "length":
                continue
            finished += 1
            assert len(choice.message.tool_calls) >= 1
            for call in choice.message.tool_calls:
                check_call(call)
                # Re-serialized as json.dumps writes it.
                assert call.function.arguments == json.dumps(json.loads(call.function.arguments), ensure_ascii=False)
    assert finished >= 5


def test_named_tool_gives_its_arguments(tool_client):
    finished = 0
    for seed in range(4):
        r = tool_client.chat.completions.create(model=MODEL, messages=ASK, tools=FORCED_TOOLS, tool_choice=NAMED,
                                                temperature=1.0, seed=seed, max_tokens=200)
        choice = r.choices[0]
        [call] = choice.message.tool_calls
        assert choice.message.content == "" and call.function.name == "book_trip"
        if choice.finish_reason == "stop":
            finished += 1
            check_call(call)
    assert finished >= 2


def test_tool_without_parameters_gets_an_empty_object(tool_client):
    root = str(tool_client.base_url).removesuffix("/v1/")
    [brace] = requests.post(root + "/tokenize", json={"prompt": "}", "add_special_tokens": False}).json()["tokens"]
    kw = dict(model=MODEL, messages=ASK, tools=FORCED_TOOLS, tool_choice={"type": "function", "function": {"name": "now"}})
    # Under the constraint only `{`, whitespace and `}` can come; `}` is made likely so it ends.
    r = tool_client.chat.completions.create(max_tokens=20, logit_bias={str(brace): 8.0}, **kw)
    [call] = r.choices[0].message.tool_calls
    assert r.choices[0].finish_reason == "stop"
    assert call.function.name == "now" and json.loads(call.function.arguments) == {}
    # Cut short, the arguments are still the start of `{}`.
    r = tool_client.chat.completions.create(max_tokens=3, temperature=1.0, seed=2, logit_bias={str(brace): -100.0}, **kw)
    [call] = r.choices[0].message.tool_calls
    assert re.fullmatch(r"\{\s*", call.function.arguments) and r.choices[0].finish_reason == "length"


@pytest.mark.parametrize("choice", ["required", NAMED])
def test_forced_calls_stream_as_the_whole_response(tool_client, choice):
    kw = dict(model=MODEL, messages=ASK, tools=FORCED_TOOLS, tool_choice=choice, temperature=1.0, seed=11, max_tokens=300)
    whole = tool_client.chat.completions.create(**kw).choices[0].message.tool_calls
    chunks = list(tool_client.chat.completions.create(**kw, stream=True))
    calls = {}
    for d in (d for c in chunks for d in (c.choices[0].delta.tool_calls or [])):
        if d.index not in calls:
            assert d.id and d.type == "function" and d.function.name
            calls[d.index] = [d.function.name, ""]
        else:
            assert d.id is None and d.function.name is None
        calls[d.index][1] += d.function.arguments or ""
    assert [tuple(calls[i]) for i in sorted(calls)] == [(c.function.name, c.function.arguments) for c in whole]
    assert not any(c.choices[0].delta.content for c in chunks)
    # vLLM's stream ends forced calls with "tool_calls".
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_forced_choice_errors(tool_client):
    from openai import BadRequestError
    with pytest.raises(BadRequestError, match="`tools` must be set"):
        tool_client.chat.completions.create(model=MODEL, messages=ASK, tool_choice="required", max_tokens=4)
    with pytest.raises(BadRequestError, match="does not match any of the specified `tools`"):
        tool_client.chat.completions.create(model=MODEL, messages=ASK, tools=FORCED_TOOLS, max_tokens=4,
                                            tool_choice={"type": "function", "function": {"name": "nope"}})
    clash = [FORCED_TOOLS[1], {"type": "function", "function": {"name": "other", "parameters": {
        "type": "object", "properties": {"p": {"$ref": "#/$defs/place"}}, "$defs": {"place": {"type": "integer"}}}}}]
    with pytest.raises(BadRequestError, match="'place' has multiple schemas"):
        tool_client.chat.completions.create(model=MODEL, messages=ASK, tools=clash, tool_choice="required", max_tokens=4)
    # OpenAI and vLLM: "required" over no tools is "none".
    r = tool_client.chat.completions.create(model=MODEL, messages=ASK, tools=[], tool_choice="required", max_tokens=4)
    assert r.choices[0].message.tool_calls in (None, []) and r.choices[0].message.content


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

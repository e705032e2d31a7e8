"""Structured outputs through the real server and the official `openai` client: every sampled
output validates (jsonschema for schemas, re.fullmatch for regexes), in every spelling vLLM
accepts, streamed or not, with n > 1; bad constraints are 400s naming the field."""
import json
import re

import jsonschema
import pytest
import requests

from conftest import MODEL, assert_idle

PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 16},
        "age": {"type": "integer", "minimum": 0, "maximum": 130},
        "birthday": {"type": "string", "format": "date"},
        "tags": {"type": "array", "items": {"enum": ["a", "b", "c"]}, "maxItems": 3},
    },
    "required": ["name", "age"],
    "additionalProperties": False,
}
ASK = [{"role": "user", "content": "Describe a person as JSON."}]
FRACTIONAL = {"type": "array", "minItems": 2, "maxItems": 4,
              "items": {"type": "number", "exclusiveMinimum": -1.25, "maximum": 3.75}}


def test_response_format_json_schema_validates_at_temperature_1(client):
    for seed in range(6):
        r = client.chat.completions.create(
            model=MODEL, messages=ASK, max_tokens=300, temperature=1.0, seed=seed,
            response_format={"type": "json_schema", "json_schema": {"name": "person", "schema": PERSON, "strict": True}})
        choice = r.choices[0]
        assert choice.finish_reason == "stop", choice.message.content
        jsonschema.validate(json.loads(choice.message.content), PERSON)


def test_property_order_follows_the_request(client):
    schema = {"type": "object", "properties": {"zeta": {"type": "boolean"}, "alpha": {"type": "boolean"}},
              "required": ["zeta", "alpha"]}
    r = client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=40, temperature=0,
                                       response_format={"type": "json_schema", "json_schema": {"name": "o", "schema": schema}})
    text = r.choices[0].message.content
    assert list(json.loads(text)) == ["zeta", "alpha"], text


@pytest.mark.parametrize("extra, check", [
    ({"structured_outputs": {"regex": r"[0-9]{3}-[a-z]{2,4}"}}, lambda t: re.fullmatch(r"[0-9]{3}-[a-z]{2,4}", t)),
    ({"structured_outputs": {"choice": ["alpha", "beta", "gamma delta"]}}, lambda t: t in ("alpha", "beta", "gamma delta")),
    ({"structured_outputs": {"grammar": 'root ::= "<" [a-z]+ ">" (" " [0-9]+)?'}},
     lambda t: re.fullmatch(r"<[a-z]+>( [0-9]+)?", t)),
    ({"structured_outputs": {"grammar": 'start: "x" NUM\nNUM: /[0-9]{2}/'}}, lambda t: re.fullmatch(r"x[0-9]{2}", t)),
    ({"guided_regex": r"(yes|no)\."}, lambda t: t in ("yes.", "no.")),
    ({"guided_choice": ["left", "right"]}, lambda t: t in ("left", "right")),
    ({"guided_json": {"type": "array", "items": {"type": "integer", "minimum": -99, "maximum": 999}, "minItems": 2, "maxItems": 4}},
     lambda t: 2 <= len(json.loads(t)) <= 4 and all(isinstance(x, int) for x in json.loads(t))),
])
def test_every_spelling_constrains_chat_and_completions(client, extra, check):
    for seed in range(3):
        chat = client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=60, temperature=1.0, seed=seed,
                                              extra_body=extra)
        assert check(chat.choices[0].message.content), chat.choices[0].message.content
        text = client.completions.create(model=MODEL, prompt="Answer:", max_tokens=60, temperature=1.0, seed=seed,
                                         extra_body=extra)
        assert check(text.choices[0].text), text.choices[0].text


def test_fractional_number_bounds_hold(client):
    # Fraction digits have no length limit, so an output may be cut by max_tokens; every finished
    # one must validate.
    r = client.completions.create(model=MODEL, prompt="Numbers:", max_tokens=80, temperature=1.0, seed=11, n=8,
                                  extra_body={"structured_outputs": {"json": FRACTIONAL}})
    finished = [c.text for c in r.choices if c.finish_reason == "stop"]
    assert len(finished) >= 3, [c.text for c in r.choices]
    for text in finished:
        jsonschema.validate(json.loads(text), FRACTIONAL)


def test_streaming_n_and_json_object(client):
    schema = {"type": "json_schema", "json_schema": {"name": "p", "schema": PERSON}}
    stream = client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=300, temperature=0.8, seed=3, stream=True,
                                            response_format=schema)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    jsonschema.validate(json.loads(text), PERSON)
    r = client.completions.create(model=MODEL, prompt="JSON:", max_tokens=300, temperature=1.0, seed=4, n=3,
                                  extra_body={"response_format": schema})
    assert len(r.choices) == 3
    for c in r.choices:
        jsonschema.validate(json.loads(c.text), PERSON)
    # Any JSON object: the small model may write one longer than max_tokens; a finished one parses.
    r = client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=200, temperature=1.0, seed=5, n=4,
                                       response_format={"type": "json_object"})
    for c in r.choices:
        assert c.message.content.startswith("{")
        if c.finish_reason == "stop":
            assert isinstance(json.loads(c.message.content), dict)


def test_logprobs_cover_only_allowed_tokens(client):
    r = client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=5, temperature=0, logprobs=True, top_logprobs=5,
                                       extra_body={"structured_outputs": {"choice": ["yes", "no"]}})
    words = ("yes", "no")
    assert r.choices[0].message.content in words
    so_far = ""
    for step in r.choices[0].logprobs.content:
        for alt in step.top_logprobs:
            # Disallowed tokens are -inf (sent as -9999.0); the rest extend the output validly.
            if alt.logprob > -9999.0:
                assert so_far in words or any(w.startswith(so_far + alt.token) for w in words), (so_far, alt.token)
        so_far += step.token


def post(server, path, body):
    return requests.post(server.url + path, json=body, timeout=60)


@pytest.mark.parametrize("extra, field, words", [
    ({"structured_outputs": {"regex": "(a"}}, "structured_outputs", "invalid regex"),
    ({"structured_outputs": {"json": {"type": "nope"}}}, "structured_outputs", "unknown type"),
    ({"structured_outputs": {"json": {"type": "object"}, "regex": "a"}}, "structured_outputs", "only use one kind"),
    ({"structured_outputs": {"grammar": "root ::= undefined_rule"}}, "structured_outputs", "not defined"),
    ({"structured_outputs": {"choice": []}}, "structured_outputs", "empty list"),
    ({"guided_json": "{not json"}, "guided_json", "not valid JSON"),
    ({"response_format": {"type": "json_schema"}}, "response_format", "schema"),
    ({"response_format": {"type": "yaml"}}, "response_format", "json_schema"),
    ({"structural_tag": "{}"}, "structural_tag", "structural"),
])
def test_bad_constraints_are_400s_naming_the_field(server, extra, field, words):
    for path, base in (("/v1/chat/completions", {"messages": ASK}), ("/v1/completions", {"prompt": "Hi"})):
        r = post(server, path, {"model": MODEL, "max_tokens": 4, **base, **extra})
        assert r.status_code == 400, r.text
        err = r.json()["error"]
        assert err["param"] == field and words in err["message"], err
    assert_idle(server.url)

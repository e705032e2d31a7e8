"""Bad requests get OpenAI-style error bodies with 400/404 and never disturb the server."""
import pytest
import requests

from conftest import MODEL

CHAT = {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2}


def post(server, path, body=None, data=None):
    return requests.post(server.url + path, json=body, data=data, timeout=60,
                         headers={"Content-Type": "application/json"} if data is not None else None)


def assert_error(r, status, fragment=None):
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"} and err["code"] == status
    if fragment:
        assert fragment in err["message"], err["message"]
    return err


@pytest.mark.parametrize("path", ["/v1/completions", "/v1/chat/completions", "/tokenize", "/detokenize"])
@pytest.mark.parametrize("data", ["{", "not json", "[1, 2]", ""])
def test_malformed_json(server, path, data):
    assert_error(post(server, path, data=data), 400)


@pytest.mark.parametrize("body, fragment", [
    ({"prompt": "Hi", "max_tokens": "ten"}, "max_tokens"),
    ({"prompt": 5}, "prompt"),
    ({"prompt": "Hi", "temperature": "hot"}, "temperature"),
    ({"prompt": "Hi", "stop": 3}, "stop"),
    ({"prompt": "Hi", "logit_bias": {"x": 1}}, "logit_bias"),
    ({"max_tokens": 3}, "prompt"),
    ({"prompt": "Hi", "n": 1.5}, "n"),
])
def test_wrong_types_in_completions(server, body, fragment):
    assert_error(post(server, "/v1/completions", body), 400, fragment)


@pytest.mark.parametrize("body, fragment", [
    ({"messages": "hello"}, "messages"),
    ({"messages": [{"content": "no role"}]}, "role"),
    ({"messages": [{"role": "user", "content": 5}]}, "content"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}, "image_url"),
    # (pydantic's lax booleans, which vLLM accepts, take "yes"; "maybe" is no boolean.)
    ({**CHAT, "logprobs": "maybe"}, "logprobs"),
    ({**CHAT, "stream": [True]}, "stream"),
    ({**CHAT, "tool_choice": "sometimes"}, "tool_choice"),
])
def test_wrong_types_in_chat(server, body, fragment):
    assert_error(post(server, "/v1/chat/completions", body), 400, fragment)


def test_unknown_model_is_404(server):
    for path, body in [("/v1/completions", {"prompt": "Hi"}), ("/v1/chat/completions", CHAT),
                       ("/tokenize", {"prompt": "Hi"})]:
        err = assert_error(post(server, path, {**body, "model": "no-such-model"}), 404, "no-such-model")
        assert err["type"] == "NotFoundError"


def test_prompt_longer_than_max_model_len(server):
    long = "hello " * 1500
    assert_error(post(server, "/v1/completions", {"prompt": long}), 400, "maximum context length is 1024")
    assert_error(post(server, "/v1/completions", {"prompt": "Hi", "max_tokens": 5000}), 400, "1024")
    assert_error(post(server, "/v1/chat/completions", {"messages": [{"role": "user", "content": long}]}), 400, "1024")


@pytest.mark.parametrize("field, value", [
    ("temperature", -1), ("top_p", 0), ("top_p", 1.5), ("top_k", -5), ("min_p", 2), ("n", 0),
    ("presence_penalty", 3), ("frequency_penalty", -3), ("repetition_penalty", 0), ("max_tokens", 0),
    ("min_tokens", 100), ("logprobs", 50), ("logprobs", -1), ("stop", [""]), ("top_k", 10**6),
    ("logit_bias", {"99999999": 1}), ("allowed_token_ids", []), ("best_of", 0), ("best_of", 500),
    ("prompt_logprobs", -1), ("prompt_logprobs", 21),
])
def test_invalid_sampling_values(server, field, value):
    err = assert_error(post(server, "/v1/completions", {"prompt": "Hi", "max_tokens": 4, field: value}), 400)
    assert err["type"] == "BadRequestError"


def test_other_refusals(server):
    assert_error(post(server, "/v1/completions", {"prompt": "Hi", "suffix": "x"}), 400, "suffix")
    assert_error(post(server, "/v1/completions", {"prompt": ""}), 400)
    assert_error(post(server, "/v1/completions", {"prompt": []}), 400)
    assert_error(post(server, "/v1/completions", {"prompt": [10**7]}), 400, "vocabulary")
    assert_error(post(server, "/v1/chat/completions", {**CHAT, "response_format": {"type": "json_schema"}}), 400,
                 "response_format")
    assert_error(post(server, "/v1/chat/completions", {**CHAT, "top_logprobs": 2}), 400, "logprobs")
    assert_error(post(server, "/v1/chat/completions", {**CHAT, "chat_template": "{{ 1 }}"}), 400,
                 "--trust-request-chat-template")
    assert_error(post(server, "/v1/chat/completions", {**CHAT, "add_generation_prompt": True,
                                                        "continue_final_message": True}), 400)
    assert_error(post(server, "/v1/completions", {"prompt": "Hi", "stream_options": {"include_usage": True}}), 400,
                 "stream")
    assert_error(post(server, "/v1/completions", {"prompt": "Hi", "n": 1000}), 400, "n must be at most")
    assert_error(post(server, "/detokenize", {"tokens": [-1]}), 400)
    assert_error(post(server, "/tokenize", {"prompt": "a", "messages": []}), 400)


def test_server_still_serves_after_bad_input(client):
    r = client.completions.create(model=MODEL, prompt="Hi", max_tokens=2)
    assert r.usage.completion_tokens == 2

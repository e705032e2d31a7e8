"""vLLM's request fields and validation rules as its server applies them: return_token_ids,
return_tokens_as_token_ids (request and --return-tokens-as-token-ids), pydantic's lax booleans,
-1 logprobs (the whole vocabulary, bounded by --max-logprobs), the seed's int64 range,
continuous usage only with include_usage, and vLLM's wording of prompt errors."""
import json

import pytest
import requests

from conftest import Server

CHAT = {"messages": [{"role": "user", "content": "Say hi"}], "max_tokens": 5, "temperature": 0}


@pytest.fixture(scope="module")
def server():
    s = Server("--max-logprobs", "-1")
    yield s
    assert s.stop() == 0, "".join(s.log[-30:])


def post(server, path, body):
    return requests.post(server.url + path, json=body, timeout=120)


def test_return_token_ids(server):
    tok = requests.post(server.url + "/tokenize", json={"prompt": "Hello there"}).json()["tokens"]
    c = post(server, "/v1/completions", {"prompt": "Hello there", "max_tokens": 6, "temperature": 0, "return_token_ids": True}).json()
    choice = c["choices"][0]
    assert choice["prompt_token_ids"] == tok and len(choice["token_ids"]) == 6
    text = requests.post(server.url + "/detokenize", json={"tokens": choice["token_ids"]}).json()["prompt"]
    assert text == choice["text"]
    plain = post(server, "/v1/completions", {"prompt": "Hello there", "max_tokens": 2}).json()["choices"][0]
    assert plain["token_ids"] is None and plain["prompt_token_ids"] is None
    chat = post(server, "/v1/chat/completions", {**CHAT, "return_token_ids": True}).json()
    assert len(chat["prompt_token_ids"]) > 3 and len(chat["choices"][0]["token_ids"]) == 5
    # Streamed: the prompt's ids with the first chunk, then each chunk's new ids.
    ids, prompt = [], None
    with requests.post(server.url + "/v1/completions", stream=True,
                       json={"prompt": "Hello there", "max_tokens": 6, "temperature": 0, "stream": True, "return_token_ids": True}) as r:
        for line in r.iter_lines():
            if line.startswith(b"data: {"):
                ch = json.loads(line[6:])["choices"][0]
                prompt = prompt or ch["prompt_token_ids"]
                ids += ch["token_ids"]
    assert prompt == tok and ids == choice["token_ids"]


def test_tokens_as_token_ids(server):
    c = post(server, "/v1/completions", {"prompt": "Hello", "max_tokens": 4, "temperature": 0, "logprobs": 1, "echo": True,
                                         "return_tokens_as_token_ids": True, "return_token_ids": True}).json()["choices"][0]
    tokens = c["logprobs"]["tokens"]
    assert all(t.startswith("token_id:") for t in tokens)
    assert [int(t[9:]) for t in tokens] == c["prompt_token_ids"] + c["token_ids"]
    assert [next(iter(d)) for d in c["logprobs"]["top_logprobs"][1:]] == tokens[1:]
    chat = post(server, "/v1/chat/completions", {**CHAT, "logprobs": True, "top_logprobs": 2, "return_tokens_as_token_ids": True,
                                                 "return_token_ids": True}).json()["choices"][0]
    content = chat["logprobs"]["content"]
    assert [int(e["token"][9:]) for e in content] == chat["token_ids"]
    assert all(t["token"].startswith("token_id:") for e in content for t in e["top_logprobs"])


def test_server_default_for_tokens_as_token_ids():
    s = Server("--return-tokens-as-token-ids")
    try:
        lp = post(s, "/v1/completions", {"prompt": "Hi", "max_tokens": 2, "logprobs": 0}).json()["choices"][0]["logprobs"]
        assert all(t.startswith("token_id:") for t in lp["tokens"])
        lp = post(s, "/v1/completions", {"prompt": "Hi", "max_tokens": 2, "logprobs": 0,
                                         "return_tokens_as_token_ids": False}).json()["choices"][0]["logprobs"]
        assert not any(t.startswith("token_id:") for t in lp["tokens"])
    finally:
        assert s.stop() == 0


@pytest.mark.parametrize("value, expected", [("true", True), ("False", False), ("yes", True), ("0", False), (1, True)])
def test_lax_booleans(server, value, expected):
    r = post(server, "/v1/chat/completions", {**CHAT, "max_tokens": 2, "logprobs": value})
    assert r.status_code == 200, r.text
    assert (r.json()["choices"][0]["logprobs"] is not None) == expected


def test_minus_one_logprobs_is_the_vocabulary(server):
    r = post(server, "/v1/chat/completions", {**CHAT, "max_tokens": 1, "logprobs": True, "top_logprobs": -1})
    assert r.status_code == 200, r.text
    assert len(r.json()["choices"][0]["logprobs"]["content"][0]["top_logprobs"]) == 49152
    r = post(server, "/v1/completions", {"prompt": "Hi there", "max_tokens": 1, "prompt_logprobs": -1})
    assert len(r.json()["choices"][0]["prompt_logprobs"][1]) >= 49152
    r = post(server, "/v1/chat/completions", {**CHAT, "logprobs": True, "top_logprobs": -2})
    assert r.status_code == 400 and "`top_logprobs` must be a positive value or -1." in r.text


def test_minus_one_is_bounded_by_max_logprobs():
    s = Server()  # --max-logprobs 20
    try:
        r = post(s, "/v1/chat/completions", {**CHAT, "logprobs": True, "top_logprobs": -1})
        assert r.status_code == 400
        assert "Requested sample logprobs of 49152, which is greater than max allowed: 20" in r.json()["error"]["message"]
    finally:
        assert s.stop() == 0


@pytest.mark.parametrize("seed, kind", [(2 ** 63, "less_than_equal"), (-(2 ** 63) - 1, "greater_than_equal")])
def test_seed_outside_int64(server, seed, kind):
    r = requests.post(server.url + "/v1/chat/completions", data=json.dumps({**CHAT, "seed": seed}),
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and kind in r.json()["error"]["message"], r.text
    assert post(server, "/v1/chat/completions", {**CHAT, "seed": 2 ** 63 - 1}).status_code == 200


def test_continuous_usage_needs_include_usage(server):
    def usages(include):
        out = []
        with requests.post(server.url + "/v1/completions", stream=True, json={
                "prompt": "Hi", "max_tokens": 3, "stream": True,
                "stream_options": {"include_usage": include, "continuous_usage_stats": True}}) as r:
            for line in r.iter_lines():
                if line.startswith(b"data: {"):
                    out.append(json.loads(line[6:]).get("usage"))
        return out

    assert all(u is None for u in usages(False))
    assert all(u is not None for u in usages(True))


def test_prompt_errors_in_vllms_words(server):
    r = post(server, "/v1/completions", {"prompt": "", "max_tokens": 2})
    assert r.status_code == 400 and "Either prompt or prompt_embeds must be provided and non-empty." in r.text
    r = post(server, "/v1/completions", {"prompt": [999999], "max_tokens": 2})
    assert r.status_code == 400 and "Token id 999999 is out of vocabulary" in r.text


def test_prompt_tokens_details(server):
    long_prompt = "The history of the printing press begins in the fifteenth century, when " * 6
    body = {"prompt": long_prompt, "max_tokens": 2, "temperature": 0}
    # Without the flag: null, even for a prompt the prefix cache holds.
    for _ in range(2):
        assert post(server, "/v1/completions", body).json()["usage"]["prompt_tokens_details"] is None
    s = Server("--enable-prompt-tokens-details")
    try:
        first = post(s, "/v1/completions", body).json()["usage"]
        assert first["prompt_tokens_details"] is None  # nothing cached: vLLM leaves it null
        second = post(s, "/v1/completions", body).json()["usage"]
        cached = second["prompt_tokens_details"]["cached_tokens"]
        assert 0 < cached < second["prompt_tokens"] and cached % 16 == 0, second
        chat = {"messages": [{"role": "user", "content": long_prompt}], "max_tokens": 3, "temperature": 0, "stream": True,
                "stream_options": {"include_usage": True, "continuous_usage_stats": True}}
        for round in range(2):
            usages = []
            with requests.post(s.url + "/v1/chat/completions", stream=True, json=chat) as r:
                for line in r.iter_lines():
                    if line.startswith(b"data: {"):
                        usages.append(json.loads(line[6:])["usage"])
            # The details come with the final usage only, as in vLLM.
            assert all(u["prompt_tokens_details"] is None for u in usages[:-1])
            details = usages[-1]["prompt_tokens_details"]
            assert (details is None) if round == 0 else (details["cached_tokens"] >= cached), usages[-1]
    finally:
        assert s.stop() == 0

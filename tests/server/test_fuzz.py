"""A seeded fuzzer over the server's own OpenAPI description (`GET /openapi.json`).

Each case is a request to a POST route: a body generated from the route's schema (optional
fields picked at random, values from edge-case pools: zero, negative, huge integers, NaN, empty
and non-ASCII strings, out-of-vocabulary token ids), the same with one field given a wrong type
or a required field dropped or unknown fields added, or a body that is not valid JSON at all.
No case may get a 5xx or kill the server, and once the run is over no request may still be
running or hold KV blocks. VLLM_FUZZ_CASES sets the number of cases (default 600),
VLLM_FUZZ_SEED the seed.
"""
import json
import os
import random

import pytest
import requests

from conftest import Server, assert_idle

CASES = int(os.environ.get("VLLM_FUZZ_CASES", "600"))
SEED = int(os.environ.get("VLLM_FUZZ_SEED", "20261128"))

# Small output limits keep generating cases cheap; the rest of each pool probes validation.
SMALL_INTS = [0, 1, 2, 3, 5, 8]
EDGE_INTS = [-1, -(2**31), 2**31, 2**53, 2**63 - 1, -(2**63), 10**30]
EDGE_NUMS = [0.0, -0.0, 1e-45, -1.0, 2.5, 1e30, -1e30, float("nan"), float("inf"), float("-inf")]
STRINGS = ["", "a", "Hello, world", "\u00e9\u4e2d\U0001F600", "\x00\x01\x1f", "<|im_start|>", "<|im_end|>",
           "{{ raise_exception('x') }}", "{% for x in range(99999999) %}{% endfor %}", "x" * 5000, "\ud800", "Paris"]
OUTPUT_LIMITS = {"max_tokens", "max_completion_tokens", "min_tokens", "n", "best_of", "logprobs",
                 "top_logprobs", "prompt_logprobs"}


class Generator:
    def __init__(self, doc, rng):
        self.doc, self.rng = doc, rng

    def resolve(self, schema):
        while "$ref" in schema:
            node = self.doc
            for part in schema["$ref"].lstrip("#/").split("/"):
                node = node[part]
            schema = node
        if "allOf" in schema:  # the union of the parts' properties and required fields
            parts = [self.resolve(p) for p in schema["allOf"]]
            schema = {"type": "object", "properties": {k: v for p in parts for k, v in p.get("properties", {}).items()},
                      "required": [r for p in parts for r in p.get("required", [])]}
        return schema

    def value(self, schema, name="", depth=0):
        schema = self.resolve(schema)
        r = self.rng
        if "oneOf" in schema:
            return self.value(r.choice(schema["oneOf"]), name, depth)
        if "enum" in schema and r.random() < 0.8:
            return r.choice(schema["enum"])
        kind = schema.get("type", "object")
        if kind == "integer":
            if name in OUTPUT_LIMITS:
                return r.choice(SMALL_INTS) if r.random() < 0.85 else r.choice(EDGE_INTS)
            return r.choice(SMALL_INTS) if r.random() < 0.5 else r.choice(EDGE_INTS + [r.randrange(0, 60000)])
        if kind == "number":
            return r.uniform(0, 1) if r.random() < 0.6 else r.choice(EDGE_NUMS)
        if kind == "boolean":
            return r.random() < 0.5
        if kind == "string":
            if name == "model" and r.random() < 0.7:
                return self.doc["x-served-model"]
            return r.choice(STRINGS)
        if kind == "array":
            if depth > 3:
                return []
            return [self.value(schema.get("items", {"type": "string"}), name, depth + 1)
                    for _ in range(r.choice([0, 1, 1, 2, 3]))]
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        out = {}
        for key, sub in props.items():
            if key in required or r.random() < 0.25:
                if key == "stream" and r.random() < 0.5:
                    continue
                out[key] = self.value(sub, key, depth + 1)
        if not props and depth <= 3 and r.random() < 0.5:
            out = {r.choice(STRINGS[:6]): self.value({"type": r.choice(["integer", "string", "array"])}, "", depth + 1)}
        return out

    def mutate(self, body, schema):
        r = self.rng
        schema = self.resolve(schema)
        choice = r.random()
        if choice < 0.5 and body:
            key = r.choice(list(body))
            body[key] = r.choice([None, "text", 7, -3.5, True, [], {}, [None], {"a": 1}])
        elif choice < 0.7 and schema.get("required"):
            body.pop(r.choice(schema["required"]), None)
        else:
            body[r.choice(["unknown_field", "guided_json", "suffix", "user", "model"])] = r.choice(STRINGS)
        return body


def raw_body(rng, valid):
    text = json.dumps(valid)
    return rng.choice([
        "", "{", "[]", "null", "42", '"str"', text[: max(1, len(text) // 2)], text + "}", "{'a': 1}",
        "[" * 20000 + "]" * 20000, '{"prompt": ' + "[" * 5000 + "]" * 5000 + "}",
        bytes(rng.randrange(256) for _ in range(64)), text.replace(":", "=", 1),
    ])


def send(url, path, body, rng):
    """Posts one case; streamed responses are read to the end. Returns the status."""
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)  # json.dumps writes NaN as NaN
    headers = {"Content-Type": rng.choice(["application/json"] * 5 + ["text/plain"])}
    with requests.post(url + path, data=data, headers=headers, timeout=120, stream=True) as resp:
        for _ in resp.iter_content(chunk_size=None):
            pass
        return resp.status_code


@pytest.fixture(scope="module")
def server():
    # A short context: a case without max_tokens generates up to the rest of it.
    s = Server("--max-model-len", "128")
    yield s
    assert s.stop() == 0, "".join(s.log[-30:])


def test_fuzz_finds_no_5xx_and_leaks_nothing(server):
    doc = requests.get(server.url + "/openapi.json", timeout=10).json()
    routes = []
    for path, ops in doc["paths"].items():
        if "post" in ops:
            routes.append((path, ops["post"]["requestBody"]["content"]["application/json"]["schema"]))
    assert {"/v1/completions", "/v1/chat/completions", "/tokenize", "/detokenize"} <= {p for p, _ in routes}
    doc["x-served-model"] = requests.get(server.url + "/v1/models", timeout=10).json()["data"][0]["id"]
    rng = random.Random(SEED)
    gen = Generator(doc, rng)
    statuses, failures = {}, []
    for i in range(CASES):
        path, schema = rng.choice(routes)
        body = gen.value(schema)
        kind = rng.random()
        if kind < 0.3:
            body = gen.mutate(body, schema)
        elif kind < 0.4:
            body = raw_body(rng, body)
        try:
            status = send(server.url, path, body, rng)
        except requests.RequestException as e:
            failures.append((i, path, repr(body)[:300], repr(e)))
            if server.proc.poll() is not None:
                break
            continue
        statuses[status] = statuses.get(status, 0) + 1
        if status >= 500:
            failures.append((i, path, repr(body)[:300], status))
    assert server.proc.poll() is None, "server died:\n" + "".join(server.log[-40:])
    assert not failures, f"{len(failures)} failing cases, first: {failures[:3]}"
    assert statuses.get(200, 0) > CASES // 20, statuses  # the fuzzer must also reach the engine
    assert statuses.get(400, 0) > CASES // 10, statuses
    print(f"fuzz: {CASES} cases, seed {SEED}, statuses {dict(sorted(statuses.items()))}")

    assert_idle(server.url)
    ok = requests.post(server.url + "/v1/completions", json={"prompt": "Paris is", "max_tokens": 4, "temperature": 0},
                       timeout=60)
    assert ok.status_code == 200 and ok.json()["usage"]["completion_tokens"] == 4

"""`prompt_embeds` on /v1/completions (vLLM's --enable-prompt-embeds), with the real `openai`
client: the tiny Qwen2 checkpoint's own input embeddings of a prompt (saved by the real
torch.save, Tests/Fixtures/torch-tensors/qwen2-prompt.json) give the prompt's completion;
hostile or malformed files are refused with 400 and the server keeps serving."""
import base64
import json
from pathlib import Path

import pytest
import requests

from conftest import ROOT, Server

TINY = ROOT / "Tests/Fixtures/tiny-models/qwen2/hf"
TENSORS = ROOT / "Tests/Fixtures/torch-tensors"
CASE = json.loads((TENSORS / "qwen2-prompt.json").read_text())
MODEL = str(TINY)


@pytest.fixture(scope="module")
def served():
    s = Server(MODEL, "--max-model-len", "256", "--enable-prompt-embeds")
    yield s
    assert s.stop() == 0, "".join(s.log[-30:])


@pytest.fixture(scope="module")
def client(served):
    from openai import OpenAI
    return OpenAI(base_url=served.url + "/v1", api_key="unused", max_retries=0, timeout=60)


def test_embeddings_give_the_prompts_completion(client):
    by_ids = client.completions.create(model=MODEL, prompt=CASE["prompt_token_ids"], max_tokens=8, temperature=0,
                                       logprobs=1)
    # As vLLM's own client example sends it: prompt="" beside the embeddings.
    by_embeds = client.completions.create(model=MODEL, prompt="", max_tokens=8, temperature=0, logprobs=1,
                                          extra_body={"prompt_embeds": CASE["prompt_embeds"]})
    assert by_embeds.choices[0].text == by_ids.choices[0].text
    a, b = by_ids.choices[0].logprobs.token_logprobs, by_embeds.choices[0].logprobs.token_logprobs
    assert max(abs(x - y) for x, y in zip(a, b)) < 1e-4
    assert by_embeds.usage.prompt_tokens == len(CASE["prompt_token_ids"])


def test_a_list_of_embeddings_is_several_prompts(served):
    r = requests.post(served.url + "/v1/completions", timeout=60, json={
        "model": MODEL, "max_tokens": 4, "temperature": 0,
        "prompt_embeds": [CASE["prompt_embeds"], CASE["prompt_embeds"]]})
    assert r.status_code == 200, r.text
    texts = [c["text"] for c in r.json()["choices"]]
    assert len(texts) == 2 and texts[0] == texts[1]


@pytest.mark.parametrize("name", ["int64", "dict", "system", "list", "deflated"])
def test_hostile_and_wrong_files_are_refused(served, name):
    blob = base64.b64encode((TENSORS / "refused" / f"{name}.pt").read_bytes()).decode()
    r = requests.post(served.url + "/v1/completions", timeout=30,
                      json={"model": MODEL, "max_tokens": 2, "prompt_embeds": blob})
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["param"] == "prompt_embeds" and err["type"] == "BadRequestError"


def test_wrong_width_and_bad_base64_and_echo_are_400(served):
    wrong_width = base64.b64encode((TENSORS / "good/f32_2x3.pt").read_bytes()).decode()
    for body in ({"prompt_embeds": wrong_width}, {"prompt_embeds": "%%%not base64"},
                 {"prompt_embeds": CASE["prompt_embeds"], "echo": True},
                 {"prompt_embeds": CASE["prompt_embeds"], "prompt_logprobs": 1}):
        r = requests.post(served.url + "/v1/completions", timeout=30, json={"model": MODEL, "max_tokens": 2, **body})
        assert r.status_code == 400, (body.keys(), r.text)
    ok = requests.post(served.url + "/v1/completions", timeout=30, json={"model": MODEL, "max_tokens": 2, "prompt": "hi"})
    assert ok.status_code == 200


def test_without_the_flag_prompt_embeds_are_refused():
    s = Server(MODEL, "--max-model-len", "256")
    try:
        r = requests.post(s.url + "/v1/completions", timeout=30,
                          json={"model": MODEL, "max_tokens": 2, "prompt_embeds": CASE["prompt_embeds"]})
        assert r.status_code == 400
        assert "--enable-prompt-embeds" in r.json()["error"]["message"]
    finally:
        assert s.stop() == 0

"""/metrics after a known workload: vLLM 0.11's series are there, and their counts and sums add
up to what was sent."""
import re

import pytest
import requests

from conftest import Server, assert_idle


@pytest.fixture(scope="module")
def fresh():
    s = Server("--enable-lora", "--max-loras", "2")
    yield s
    assert s.stop() == 0, "".join(s.log[-30:])


def samples(url):
    """{(name, frozenset(labels)): value} for every sample line."""
    out = {}
    for line in requests.get(url + "/metrics", timeout=10).text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        m = re.match(r'([^{ ]+)(\{(.*)\})? (\S+)$', line)
        labels = frozenset(re.findall(r'(\w+)="([^"]*)"', m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def value(s, name, **labels):
    hits = [v for (n, ls), v in s.items() if n == name and set(labels.items()) <= ls]
    assert len(hits) == 1, (name, labels, hits)
    return hits[0]


def test_series_add_up_to_the_workload(fresh):
    prompts = [list(range(200, 200 + k)) for k in (5, 7, 9)]
    for p in prompts:
        r = requests.post(fresh.url + "/v1/completions", json={"prompt": p, "max_tokens": 4, "temperature": 0,
                                                              "ignore_eos": True}, timeout=60)
        assert r.status_code == 200
    chat = requests.post(fresh.url + "/v1/chat/completions", json={
        "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 3, "n": 2, "ignore_eos": True,
        "temperature": 1, "seed": 1}, timeout=60)
    assert chat.status_code == 200
    chat_prompt = chat.json()["usage"]["prompt_tokens"]
    assert_idle(fresh.url)
    s = samples(fresh.url)

    assert value(s, "vllm:request_prompt_tokens_count") == 4
    assert value(s, "vllm:request_prompt_tokens_sum") == 5 + 7 + 9 + chat_prompt
    assert value(s, "vllm:request_generation_tokens_sum") == 3 * 4 + 2 * 3
    assert value(s, "vllm:request_max_num_generation_tokens_sum") == 3 * 4 + 3
    assert value(s, "vllm:request_params_n_sum") == 1 + 1 + 1 + 2
    assert value(s, "vllm:request_params_max_tokens_sum") == 3 * 4 + 3
    assert value(s, "vllm:request_success_total", finished_reason="length") == 5
    assert value(s, "vllm:prompt_tokens_total") == 5 + 7 + 9 + chat_prompt
    assert value(s, "vllm:generation_tokens_total") == 18
    for name in ["e2e_request_latency", "request_queue_time", "request_prefill_time", "request_decode_time",
                 "request_inference_time"]:
        assert value(s, f"vllm:{name}_seconds_count") == 4, name
    assert value(s, "vllm:time_to_first_token_seconds_count") == 4
    # The chat's second choice forks the first one's prompt blocks after its first token, so the
    # job's tokens arrive over four steps: three gaps.
    itl = value(s, "vllm:inter_token_latency_seconds_count")
    assert itl == value(s, "vllm:time_per_output_token_seconds_count") == 3 * 3 + 3
    # As vLLM counts them: each generated token, plus each request's whole prompt in the step
    # of its first token (the chat's two choices are two engine requests with the prompt each).
    assert value(s, "vllm:iteration_tokens_total_sum") == 5 + 7 + 9 + 2 * chat_prompt + 18
    assert value(s, "vllm:iteration_tokens_total_count") >= 4
    assert value(s, "vllm:cache_config_info", block_size="16", enable_prefix_caching="True") == 1
    assert value(s, "vllm:lora_requests_info", max_lora="2", running_lora_adapters="", waiting_lora_adapters="") > 1e9
    # The buckets are vLLM's: 1-2-5 steps up to max_model_len (1024 here) for token counts.
    les = sorted(float(dict(ls)["le"]) for (n, ls) in s if n == "vllm:request_prompt_tokens_bucket" and dict(ls)["le"] != "+Inf")
    assert les == [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]

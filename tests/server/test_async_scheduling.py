"""`--async-scheduling`, and a pipeline's steps in flight (`--pipeline-parallel-size 2`), through
the real server and the official `openai` client: the same requests, sent concurrently, get the
same answers token for token (text, logprobs, finish reasons) as from a plain server — with stop
strings, penalties, min_tokens, seeds, n > 1, streaming and an aborted stream among them — and
nothing is left running."""
import concurrent.futures as cf
import re

import requests

from openai import OpenAI

from conftest import MODEL, Server, assert_idle

PROMPTS = [f"Item {i}: the river, the mountain and the quiet garden" + " again" * i for i in range(6)]


def requests_of(client):
    """Callables that each return a comparable summary of one request's answer."""
    def completion(i, **kw):
        def call():
            r = client.completions.create(model=MODEL, prompt=PROMPTS[i], max_tokens=kw.pop("max_tokens", 24), **kw)
            return [(c.index, c.text, c.finish_reason, c.logprobs and c.logprobs.token_logprobs) for c in r.choices]
        return call

    def streamed(i, **kw):
        def call():
            parts = {}
            for chunk in client.completions.create(model=MODEL, prompt=PROMPTS[i], max_tokens=20, stream=True, **kw):
                for c in chunk.choices:
                    text, reason = parts.get(c.index, ("", None))
                    parts[c.index] = (text + c.text, c.finish_reason or reason)
            return sorted(parts.items())
        return call

    def abandoned(i):
        def call():
            stream = client.completions.create(model=MODEL, prompt=PROMPTS[i], max_tokens=200, stream=True, temperature=0)
            first = next(iter(stream)).choices[0].text
            stream.close()
            return first
        return call

    def chat(i, **kw):
        def call():
            r = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": PROMPTS[i]}],
                                               max_tokens=16, **kw)
            c = r.choices[0]
            return (c.message.content, c.finish_reason,
                    c.logprobs and [(t.token, t.logprob) for t in c.logprobs.content])
        return call

    return [
        completion(0, temperature=0, logprobs=3),
        completion(1, temperature=0.8, seed=7, presence_penalty=0.5, frequency_penalty=0.3),
        completion(2, temperature=0.9, seed=3, n=3, logprobs=1),
        completion(3, temperature=0, stop=[" the", "."], max_tokens=40),
        completion(4, temperature=1.0, seed=11, extra_body={"min_tokens": 10, "repetition_penalty": 1.2, "top_k": 20}),
        completion(5, temperature=0.7, seed=5, best_of=3, n=2),
        streamed(0, temperature=0.5, seed=9, n=2),
        abandoned(1),
        chat(2, temperature=0, logprobs=True, top_logprobs=2),
        chat(3, temperature=0.6, seed=21, stop=["e"]),
    ]


def answers(url):
    client = OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0, timeout=120)
    calls = requests_of(client)
    with cf.ThreadPoolExecutor(len(calls)) as pool:
        return [f.result() for f in [pool.submit(c) for c in calls]]


def test_async_scheduling_answers_as_the_synchronous_engine_does():
    plain = Server("--max-num-seqs", "6")
    overlapped = Server("--max-num-seqs", "6", "--async-scheduling")
    try:
        expected = answers(plain.url)
        assert answers(overlapped.url) == expected
        assert answers(overlapped.url) == expected  # and again, on a warm prefix cache
        assert_idle(overlapped.url)
        assert_idle(plain.url)
    finally:
        assert overlapped.stop() == 0, "".join(overlapped.log[-30:])
        assert plain.stop() == 0, "".join(plain.log[-30:])


def test_a_pipeline_answers_as_one_process_does():
    # Two stages with steps in flight through both: the same answers, an abandoned stream
    # included, and no request or KV block left behind.
    plain = Server("--max-num-seqs", "6")
    piped = Server("--max-num-seqs", "6", "--pipeline-parallel-size", "2")
    try:
        expected = answers(plain.url)
        assert answers(piped.url) == expected
        assert answers(piped.url) == expected
        assert_idle(piped.url)
    finally:
        assert piped.stop() == 0, "".join(piped.log[-30:])
        assert plain.stop() == 0, "".join(plain.log[-30:])


def test_replicas_in_processes_answer_as_one_process_does():
    # Two data-parallel replicas of two pipeline stages each (four processes): replica 1's
    # requests and outputs cross between processes as changes; the answers are a plain server's.
    plain = Server("--max-num-seqs", "6")
    replicated = Server("--max-num-seqs", "6", "--data-parallel-size", "2", "--pipeline-parallel-size", "2")
    try:
        expected = answers(plain.url)
        assert answers(replicated.url) == expected
        assert answers(replicated.url) == expected
        metrics = requests.get(replicated.url + "/metrics", timeout=10).text
        served = re.findall(r'^vllm:request_success_total\{[^}]*engine="(\d)"[^}]*\} (\S+)$', metrics, re.M)
        assert {e for e, n in served if float(n) > 0} == {"0", "1"}, served
        assert_idle(replicated.url)
    finally:
        assert replicated.stop() == 0, "".join(replicated.log[-30:])
        assert plain.stop() == 0, "".join(plain.log[-30:])

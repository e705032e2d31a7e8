"""A client's `request_id` is a label on the response, never the engine's key: ids shaped like
the engine's internal ones, or reused by two calls at once, neither collide nor disturb others."""
import concurrent.futures as cf

import requests

from conftest import assert_idle


def chat(server, **extra):
    body = {"messages": [{"role": "user", "content": "Count to ten."}], "max_tokens": 6,
            "temperature": 1, "seed": 3, **extra}
    return requests.post(server.url + "/v1/chat/completions", json=body, timeout=120)


def test_colliding_and_internal_looking_ids(server):
    calls = [dict(request_id="X", n=2), dict(request_id="X#0"), dict(request_id="X#1"), dict(request_id="X"),
             dict(request_id="B", temperature=0, n=2, best_of=2, use_beam_search=True),
             dict(request_id="B#beam0", temperature=0, n=2, best_of=2, use_beam_search=True),
             dict(request_id="srv-0"), dict(request_id="0")]
    with cf.ThreadPoolExecutor(len(calls)) as pool:
        replies = list(pool.map(lambda c: chat(server, **c), calls))
    for call, r in zip(calls, replies):
        assert r.status_code == 200, (call, r.text)
        body = r.json()
        assert body["id"] == "chatcmpl-" + call["request_id"]
        assert len(body["choices"]) == call.get("n", 1)
        assert all(c["finish_reason"] == "length" for c in body["choices"])
    # Beam search is deterministic: the same search under two ids gives the same beams.
    beams = [[c["message"]["content"] for c in r.json()["choices"]] for r in replies[4:6]]
    assert beams[0] == beams[1]
    assert_idle(server.url)


def test_completions_id_is_prefixed_label(server):
    r = requests.post(server.url + "/v1/completions",
                      json={"prompt": ["a", "b"], "max_tokens": 2, "request_id": "mine"}, timeout=60)
    assert r.status_code == 200 and r.json()["id"] == "cmpl-mine"
    assert len(r.json()["choices"]) == 2

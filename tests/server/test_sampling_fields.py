"""The sampling fields both endpoints read through SamplingParams' own JSON form, with the
endpoint-specific differences (signed seeds, chat's Boolean logprobs, no `detokenize`)."""
import requests

from conftest import MODEL

PROMPT = "Once upon a time"
CHAT = [{"role": "user", "content": "Tell me a story."}]


def test_negative_seeds_are_seeds(client):
    kw = dict(model=MODEL, prompt=PROMPT, max_tokens=8, temperature=1.0)
    a, b = (client.completions.create(seed=-42, **kw).choices[0].text for _ in range(2))
    assert a == b
    others = {client.completions.create(seed=s, **kw).choices[0].text for s in (-41, -43, 42)}
    assert others != {a}
    kw = dict(model=MODEL, messages=CHAT, max_tokens=8, temperature=1.0, seed=-(2**63))
    assert client.chat.completions.create(**kw).choices[0].message.content == \
        client.chat.completions.create(**kw).choices[0].message.content


def test_seed_of_wrong_type_is_refused(server):
    for seed in (1.5, 2**64, "7"):
        r = requests.post(server.url + "/v1/completions", json={"prompt": PROMPT, "seed": seed}, timeout=30)
        assert r.status_code == 400 and r.json()["error"]["type"] == "BadRequestError"


def test_chat_logprobs_stays_a_boolean(server, client):
    r = requests.post(server.url + "/v1/chat/completions",
                      json={"messages": CHAT, "max_tokens": 2, "logprobs": 3}, timeout=30)
    assert r.status_code == 400 and "logprobs" in r.json()["error"]["message"]
    ok = client.chat.completions.create(model=MODEL, messages=CHAT, max_tokens=2, logprobs=True, top_logprobs=2)
    assert len(ok.choices[0].logprobs.content) == 2


def test_detokenize_is_no_api_field(client):
    r = client.completions.create(model=MODEL, prompt=PROMPT, max_tokens=4, temperature=0,
                                  extra_body={"detokenize": False})
    assert r.choices[0].text != ""


def test_beam_search_fields(client):
    kw = dict(model=MODEL, prompt=PROMPT, max_tokens=6)
    beams = client.completions.create(n=2, temperature=0, extra_body={"use_beam_search": True, "best_of": 3, "length_penalty": 1.0}, **kw)
    assert [c.index for c in beams.choices] == [0, 1] and beams.choices[0].text != beams.choices[1].text
    # This project's reading of greedy best_of: the same beam search.
    greedy = client.completions.create(n=2, temperature=0, best_of=3, **kw)
    assert [c.text for c in greedy.choices] == [c.text for c in beams.choices]

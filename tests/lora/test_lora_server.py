"""Multi-LoRA through `vllm serve` and the official `openai` client: the `model` field names an
adapter (or BASE:ADAPTER) and gets the merged model's greedy tokens, /v1/models lists adapters
with their parents, and VLLM_ALLOW_RUNTIME_LORA_UPDATING adds load/unload routes whose every
refusal is a 4xx that leaves the server, its KV cache and requests in flight untouched."""
from concurrent.futures import ThreadPoolExecutor
import importlib.util
import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import requests

sys.path.insert(0, str(Path(__file__).parent))
import make_adapters  # noqa: E402
from make_adapters import edit_config  # noqa: E402


def _server_helpers():
    """tests/server/conftest.py under a name of its own: no conftest.py may live here (see
    test_lora.py), and in a run over all of tests/ the module called `conftest` may be another
    folder's."""
    spec = importlib.util.spec_from_file_location("server_helpers", Path(__file__).resolve().parents[1] / "server/conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_helpers = _server_helpers()
MODEL, Server, metric, BINARY = _helpers.MODEL, _helpers.Server, _helpers.metric, _helpers.BINARY

ALIAS = "smol"  # a second served name
PROMPT = "The three largest cities in Europe are"
CHAT = [{"role": "user", "content": "Write a haiku about the sea."}]
# fp32 KV cache, exact activations and tolerance as in test_lora.py: adapter vs merged weights
# differ by rounding.
GREEDY = dict(max_tokens=12, temperature=0, extra_body={"ignore_eos": True})
LOGPROB_TOL = 5e-4
ENABLE = {"VLLM_ALLOW_RUNTIME_LORA_UPDATING": "true"}


@pytest.fixture(scope="module")
def adapters(tmp_path_factory):
    return make_adapters.make(tmp_path_factory.mktemp("lora-server"), names=["qv4", "attn8"])


@pytest.fixture(scope="module")
def server(adapters):
    modules = [f"qv4={adapters['qv4']['path']}",
               json.dumps({"name": "attn8", "path": adapters["attn8"]["path"], "base_model_name": ALIAS}),
               json.dumps({"name": "qv4-elsewhere", "path": adapters["qv4"]["path"], "base_model_name": "not-served"})]
    s = Server("--served-model-name", MODEL, ALIAS, "--kv-cache-dtype", "float32", "--activation-dtype", "exact", "--enable-lora",
               "--max-lora-rank", "16", "--max-loras", "2", "--max-cpu-loras", "8", "--lora-modules", *modules, env=ENABLE)
    yield s
    assert s.stop() == 0, "".join(s.log[-30:])


def openai_client(url):
    from openai import OpenAI
    return OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0, timeout=120)


@pytest.fixture(scope="module")
def client(server):
    return openai_client(server.url)


@pytest.fixture(scope="module")
def merged(adapters):
    """One server per merged model, started on first use; name -> openai client."""
    servers, clients = {}, {}

    def get(name):
        if name not in clients:
            servers[name] = Server("--model", adapters[name]["merged"], "--served-model-name", MODEL,
                                   "--kv-cache-dtype", "float32", "--activation-dtype", "exact")
            clients[name] = openai_client(servers[name].url)
        return clients[name]
    yield get
    for s in servers.values():
        assert s.stop() == 0


def post(server, path, body=None, data=None):
    return requests.post(server.url + path, json=body, data=data, timeout=60)


def assert_error(r, status, fragment, type_=None):
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"} and err["code"] == status
    assert fragment in err["message"], err["message"]
    if type_:
        assert err["type"] == type_, err
    return err


def complete(client, model, **kw):
    return client.completions.create(model=model, **{"prompt": PROMPT, "logprobs": 1, **GREEDY, **kw})


def same_output(a, b):
    assert a.choices[0].text == b.choices[0].text
    diff = np.abs(np.array(a.choices[0].logprobs.token_logprobs) - np.array(b.choices[0].logprobs.token_logprobs)).max()
    assert diff < LOGPROB_TOL, diff


def model_ids(server):
    return [m["id"] for m in requests.get(server.url + "/v1/models", timeout=30).json()["data"]]


def kv_usage(server):
    return metric(server.url, "vllm:kv_cache_usage_perc")


@pytest.mark.parametrize("name", ["qv4", "attn8"])
def test_adapter_completion_equals_merged_model(client, merged, name):
    r = complete(client, name)
    assert r.model == name
    same_output(r, complete(merged(name), MODEL))
    assert r.choices[0].text != complete(client, MODEL).choices[0].text, "the adapter changed nothing"


def test_adapter_chat_and_stream_equal_merged_model(client, merged):
    kw = dict(messages=CHAT, **GREEDY)
    r = client.chat.completions.create(model="qv4", **kw)
    assert r.model == "qv4"
    assert r.choices[0].message.content == merged("qv4").chat.completions.create(model=MODEL, **kw).choices[0].message.content
    chunks = list(client.chat.completions.create(model="qv4", stream=True, **kw))
    assert {c.model for c in chunks} == {"qv4"}
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == r.choices[0].message.content


@pytest.mark.parametrize("model", [f"{MODEL}:qv4", f"{ALIAS}:qv4"])
def test_base_colon_adapter_names_the_adapter(client, model):
    r = complete(client, model)
    assert r.model == "qv4"
    same_output(r, complete(client, "qv4"))


@pytest.mark.parametrize("model", ["no-such-model", f"{ALIAS}:nope", "other-base:qv4", f"{MODEL}:", "qv4:qv4"])
def test_unknown_names_are_404(server, model):
    for path, body in [("/v1/completions", {"prompt": "Hi", "max_tokens": 2}),
                       ("/v1/chat/completions", {"messages": CHAT, "max_tokens": 2}),
                       ("/tokenize", {"prompt": "Hi"}), ("/detokenize", {"tokens": [1, 2]})]:
        err = assert_error(post(server, path, {**body, "model": model}), 404, f"The model `{model}` does not exist.", "NotFoundError")
        assert err["param"] == "model"


def test_tokenize_and_detokenize_accept_adapters(server):
    base = post(server, "/tokenize", {"prompt": PROMPT}).json()
    for model in ["qv4", f"{ALIAS}:attn8"]:
        assert post(server, "/tokenize", {"prompt": PROMPT, "model": model}).json() == base
        assert post(server, "/detokenize", {"tokens": base["tokens"], "model": model}).json() == {"prompt": PROMPT}


def test_models_lists_adapters_after_the_base_with_their_parents(client, adapters):
    models = client.models.list().data
    assert [m.id for m in models] == [MODEL, ALIAS, "qv4", "attn8", "qv4-elsewhere"]
    by_id = {m.id: m for m in models}
    assert by_id[MODEL].parent is None and by_id[MODEL].model_extra["max_model_len"] == 1024
    assert by_id["qv4"].root == adapters["qv4"]["path"] and by_id["qv4"].parent == MODEL
    assert by_id["attn8"].root == adapters["attn8"]["path"] and by_id["attn8"].parent == ALIAS
    # vLLM keeps a base_model_name only when it is a served name.
    assert by_id["qv4-elsewhere"].parent == MODEL
    assert all(by_id[n].owned_by == "vllm" and by_id[n].model_extra["max_model_len"] is None
               for n in ["qv4", "attn8", "qv4-elsewhere"])


def test_load_use_unload_then_404(server, client, adapters):
    before = kv_usage(server)
    r = post(server, "/v1/load_lora_adapter", {"lora_name": "dyn", "lora_path": adapters["attn8"]["path"]})
    assert (r.status_code, r.text) == (200, "Success: LoRA adapter 'dyn' added successfully.")
    assert kv_usage(server) > before, "the adapter's weights take KV blocks"
    card = next(m for m in client.models.list().data if m.id == "dyn")
    assert (card.root, card.parent) == (adapters["attn8"]["path"], MODEL)
    out = complete(client, "dyn")
    assert out.model == "dyn"
    same_output(out, complete(client, "attn8"))
    r = post(server, "/v1/unload_lora_adapter", {"lora_name": "dyn"})
    assert (r.status_code, r.text) == (200, "Success: LoRA adapter 'dyn' removed successfully.")
    assert kv_usage(server) == before
    assert "dyn" not in model_ids(server)
    assert_error(post(server, "/v1/completions", {"prompt": PROMPT, "model": "dyn"}), 404, "does not exist")
    assert_error(post(server, "/v1/unload_lora_adapter", {"lora_name": "dyn"}), 404,
                 "The lora adapter 'dyn' cannot be found.", "NotFoundError")


def test_a_reloaded_name_never_reuses_the_old_loads_cached_blocks(server, client, adapters):
    # Long enough for several full 16-token KV blocks, which the prefix cache keeps.
    long = "Here is a long and careful list of facts about the geography of Europe, its rivers, " \
           "mountains, coasts and capitals, written for students. " + PROMPT
    load = lambda path: post(server, "/v1/load_lora_adapter", {"lora_name": "re", "lora_path": path}).status_code
    hits = lambda: metric(server.url, "vllm:prefix_cache_hits_total")
    assert load(adapters["attn8"]["path"]) == 200
    complete(client, "re", prompt=long)
    assert post(server, "/v1/unload_lora_adapter", {"lora_name": "re"}).status_code == 200
    assert load(adapters["qv4"]["path"]) == 200
    before = hits()
    fresh = complete(client, "re", prompt=long)
    assert hits() == before, "a new load found blocks cached under the old one"
    same_output(fresh, complete(client, "qv4", prompt=long))
    # The cache does work for this prompt: the same load finds its own blocks.
    n = post(server, "/tokenize", {"prompt": long}).json()["count"]
    cached = (n - 1) // 16 * 16  # full blocks, short of the last token, which is always recomputed
    assert cached >= 32
    before = hits()
    same_output(complete(client, "re", prompt=long), fresh)
    assert hits() == before + cached
    assert post(server, "/v1/unload_lora_adapter", {"lora_name": "re"}).status_code == 200


def copy_of(adapters, tmp_path, change):
    d = tmp_path / "bad"
    shutil.copytree(adapters["qv4"]["path"], d)
    change(d)
    return str(d)


BAD_LOADS = {
    "missing path": (lambda a, t: {"lora_path": str(t / "nothing-here")}, 404, "no LoRA adapter at", "NotFoundError"),
    "path is a file": (lambda a, t: {"lora_path": a["qv4"]["merged"]}, 400, "not a directory", "BadRequestError"),
    "not an adapter": (lambda a, t: {"lora_path": str(t)}, 400, "adapter_config.json is missing", "BadRequestError"),
    "unreadable weights": (lambda a, t: {"lora_path": copy_of(a, t, lambda d: (d / "adapter_model.safetensors").write_bytes(b"\x08" * 64))},
                           400, "safetensors", "BadRequestError"),
    "rank too large": (lambda a, t: {"lora_path": copy_of(a, t, lambda d: edit_config(d, r=32))}, 400,
                       "LoRA rank 32 is greater than max_lora_rank 16", "BadRequestError"),
    "target the model lacks": (lambda a, t: {"lora_path": copy_of(a, t, lambda d: edit_config(d, target_modules=["q_proj", "c_attn"]))},
                               400, "targets c_attn", "BadRequestError"),
    "duplicate name": (lambda a, t: {"lora_name": "qv4"}, 400, "The lora adapter 'qv4' has already been loaded.", "InvalidUserInput"),
    "a base model's name": (lambda a, t: {"lora_name": ALIAS}, 400, "served base model", "InvalidUserInput"),
    "no path": (lambda a, t: {"lora_path": None}, 400, "lora_path", "BadRequestError"),
    "no name": (lambda a, t: {"lora_name": None}, 400, "lora_name", "BadRequestError"),
    "empty fields": (lambda a, t: {"lora_name": "", "lora_path": ""}, 400, "Both 'lora_name' and 'lora_path' must be provided.",
                     "InvalidUserInput"),
}


@pytest.mark.parametrize("case", list(BAD_LOADS))
def test_bad_load_is_a_4xx_and_changes_nothing(server, client, adapters, tmp_path, case):
    fields, status, fragment, type_ = BAD_LOADS[case]
    body = {"lora_name": "bad", "lora_path": adapters["qv4"]["path"], **fields(adapters, tmp_path)}
    body = {k: v for k, v in body.items() if v is not None}
    models, usage = model_ids(server), kv_usage(server)
    assert_error(post(server, "/v1/load_lora_adapter", body), status, fragment, type_)
    assert model_ids(server) == models and kv_usage(server) == usage
    assert complete(client, "qv4", max_tokens=2).choices[0].text


@pytest.mark.parametrize("body, status, fragment", [
    ({}, 400, "lora_name"),
    ({"lora_name": ""}, 400, "'lora_name' needs to be provided"),
    ({"lora_name": "never-loaded"}, 404, "cannot be found"),
])
def test_bad_unload_is_a_4xx(server, client, body, status, fragment):
    assert_error(post(server, "/v1/unload_lora_adapter", body), status, fragment)
    assert complete(client, "qv4", max_tokens=2).choices[0].text


@pytest.mark.parametrize("path", ["/v1/load_lora_adapter", "/v1/unload_lora_adapter"])
def test_malformed_bodies_are_400(server, path):
    assert_error(post(server, path, data="{"), 400, "JSON")


def test_unload_in_use_is_refused_and_the_stream_completes(server, client, adapters):
    assert post(server, "/v1/load_lora_adapter", {"lora_name": "busy", "lora_path": adapters["qv4"]["path"]}).status_code == 200
    kw = dict(model="busy", prompt="Write a long story about a dragon.", max_tokens=200, temperature=0,
              extra_body={"ignore_eos": True})
    stream = client.completions.create(stream=True, **kw)
    chunks = iter(stream)
    first = next(chunks)
    err = assert_error(post(server, "/v1/unload_lora_adapter", {"lora_name": "busy"}), 409, "in use", "ConflictError")
    assert "busy" in err["message"]
    rest = list(chunks)
    text = first.choices[0].text + "".join(c.choices[0].text for c in rest)
    assert rest[-1].choices[0].finish_reason == "length"
    assert text == client.completions.create(**kw).choices[0].text
    assert post(server, "/v1/unload_lora_adapter", {"lora_name": "busy"}).status_code == 200


def test_load_during_a_stream_leaves_it_untouched(server, client, adapters):
    kw = dict(model=MODEL, prompt="Write a long story about a dragon.", max_tokens=120, temperature=0,
              extra_body={"ignore_eos": True})
    chunks = iter(client.completions.create(stream=True, **kw))
    text = next(chunks).choices[0].text
    assert post(server, "/v1/load_lora_adapter", {"lora_name": "mid", "lora_path": adapters["attn8"]["path"]}).status_code == 200
    text += "".join(c.choices[0].text for c in chunks)
    assert text == client.completions.create(**kw).choices[0].text
    assert post(server, "/v1/unload_lora_adapter", {"lora_name": "mid"}).status_code == 200


def test_concurrent_loads_of_one_name_admit_exactly_one(server, adapters):
    codes = []
    body = {"lora_name": "race", "lora_path": adapters["attn8"]["path"]}
    threads = [threading.Thread(target=lambda: codes.append(post(server, "/v1/load_lora_adapter", body).status_code))
               for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(codes)[0] == 200 and codes.count(200) == 1 and set(codes) <= {200, 400, 409}, codes
    assert model_ids(server).count("race") == 1
    assert post(server, "/v1/unload_lora_adapter", {"lora_name": "race"}).status_code == 200


def test_without_the_env_var_the_routes_are_absent(adapters):
    s = Server("--enable-lora", "--lora-modules", f"qv4={adapters['qv4']['path']}",
               env={"VLLM_ALLOW_RUNTIME_LORA_UPDATING": "0"})
    try:
        for path in ["/v1/load_lora_adapter", "/v1/unload_lora_adapter"]:
            assert post(s, path, {"lora_name": "x", "lora_path": adapters["attn8"]["path"]}).status_code == 404
        # --lora-modules adapters still serve.
        assert openai_client(s.url).completions.create(model="qv4", prompt="Hi", max_tokens=2).model == "qv4"
    finally:
        assert s.stop() == 0


def test_runtime_loading_needs_enable_lora_and_the_api_key(adapters):
    s = Server("--api-key", "sk-k", env={"VLLM_ALLOW_RUNTIME_LORA_UPDATING": " True "})
    try:
        body = {"lora_name": "x", "lora_path": adapters["qv4"]["path"]}
        assert post(s, "/v1/load_lora_adapter", body).status_code == 401
        r = requests.post(s.url + "/v1/load_lora_adapter", json=body, headers={"Authorization": "Bearer sk-k"}, timeout=60)
        assert_error(r, 400, "--enable-lora", "BadRequestError")
    finally:
        assert s.stop() == 0


def test_run_batch_lines_may_name_adapters(server, adapters, tmp_path):
    body = {"prompt": PROMPT, "max_tokens": 8, "temperature": 0}
    lines = [{"custom_id": name, "method": "POST", "url": "/v1/completions", "body": {**body, "model": name}}
             for name in ["qv4", MODEL, "no-such-adapter"]]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    subprocess.run([BINARY, "run-batch", "-i", str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "out.jsonl"),
                    "--served-model-name", MODEL, "--kv-cache-dtype", "float32", "--kv-cache-memory", "256MiB", "--max-model-len", "1024",
                    "--enable-lora", "--max-lora-rank", "16", "--lora-modules", f"qv4={adapters['qv4']['path']}"],
                   check=True, capture_output=True, text=True, timeout=300)
    out = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [o["custom_id"] for o in out] == ["qv4", MODEL, "no-such-adapter"]
    for o in out[:2]:
        served = post(server, "/v1/completions", {**body, "model": o["custom_id"]}).json()
        assert o["response"]["body"]["model"] == o["custom_id"]
        assert o["response"]["body"]["choices"][0]["text"] == served["choices"][0]["text"]
    assert out[0]["response"]["body"]["choices"][0]["text"] != out[1]["response"]["body"]["choices"][0]["text"]
    assert out[2]["error"] is not None and out[2]["response"]["status_code"] == 404


def test_lora_path_root_confines_runtime_loads(adapters, tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    inside = root / "qv4"
    shutil.copytree(adapters["qv4"]["path"], inside)
    outside = tmp_path / "outside"
    shutil.copytree(adapters["qv4"]["path"], outside)
    (root / "link-out").symlink_to(outside)
    sneaky = root / "sneaky"
    sneaky.mkdir()
    shutil.copy(inside / "adapter_config.json", sneaky / "adapter_config.json")
    (sneaky / "adapter_model.safetensors").symlink_to(outside / "adapter_model.safetensors")
    big = root / "big-config"
    shutil.copytree(inside, big)
    (big / "adapter_config.json").write_text((big / "adapter_config.json").read_text() + " " * (2 << 20))
    huge = root / "huge-weights"
    shutil.copytree(inside, huge)
    with open(huge / "adapter_model.safetensors", "r+b") as f:
        f.truncate(10 << 30)  # sparse: refused by its size before anything is read
    s = Server("--enable-lora", "--max-lora-rank", "16", "--max-loras", "2", "--lora-path-root", str(root), env=ENABLE)
    try:
        def load(name, path):
            return requests.post(s.url + "/v1/load_lora_adapter", json={"lora_name": name, "lora_path": str(path)}, timeout=60)
        assert load("in", inside).status_code == 200
        for name, path in [("out", outside), ("link", root / "link-out"), ("sneaky", sneaky), ("dots", root / ".." / "outside")]:
            r = load(name, path)
            assert r.status_code == 400 and r.json()["error"]["param"] == "lora_path", (name, r.text)
        r = load("big", big)
        assert r.status_code == 400 and "1 MiB" in r.json()["error"]["message"], r.text
        r = load("huge", huge)
        assert r.status_code == 400 and "more than an adapter of rank 16" in r.json()["error"]["message"], r.text
    finally:
        assert s.stop() == 0


@pytest.mark.parametrize("parallel", [["--tensor-parallel-size", "3"], ["--pipeline-parallel-size", "2"], ["--data-parallel-size", "2"],
                                      ["--data-parallel-size", "2", "--pipeline-parallel-size", "2"]])
def test_runtime_loads_reach_every_rank_and_replica(server, client, adapters, parallel):
    # Loaded, unloaded and loaded again under the same name with another adapter, over 3 ranks
    # (each reads the adapter and keeps its part) or 2 replicas (all get it; two requests at
    # once go one to each): the answers are those of one engine.
    tp = Server("--served-model-name", MODEL, "--kv-cache-dtype", "float32", "--activation-dtype", "exact", "--enable-lora",
                "--max-lora-rank", "16", *parallel, env=ENABLE)
    try:
        tp_client = openai_client(tp.url)
        for path, expected in [(adapters["attn8"]["path"], "attn8"), (adapters["qv4"]["path"], "qv4")]:
            r = post(tp, "/v1/load_lora_adapter", {"lora_name": "dyn", "lora_path": path})
            assert r.status_code == 200, r.text
            with ThreadPoolExecutor(2) as pool:
                pair = list(pool.map(lambda _: complete(tp_client, "dyn"), range(2)))
            want = complete(client, expected)
            for got in pair:
                same_output(got, want)
            assert post(tp, "/v1/unload_lora_adapter", {"lora_name": "dyn"}).status_code == 200
        same_output(complete(tp_client, MODEL), complete(client, MODEL))
    finally:
        assert tp.stop() == 0, "".join(tp.log[-30:])

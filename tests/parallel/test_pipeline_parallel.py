"""Pipeline parallelism over Open MPI ranks (`--pipeline-parallel-size N`, with or without
`--tensor-parallel-size`): each stage a process holding its share of the layers, the engine
keeping one step per stage in flight. Outputs are compared with one process.

A stage runs its layers on the residual stream it is passed, with the same arithmetic as one
process, so pipeline parallelism alone gives the same bits (asserted within 1e-4 as the tensor-
parallel tests are; measured: 0); with tensor parallelism inside each stage the partial sums add
in another order, within 1e-4 in exact mode."""
import json
import os
import subprocess

import pytest

from tp_support import BINARY, EXACT, MODEL, SMALL_CACHE, compare, generate, reference_requests, serves_as_one_process_and_drains, synthetic  # noqa: F401 (fixture)


@pytest.mark.parametrize("pp, exact", [(2, True), (2, False), (3, True)])
def test_default_model_equals_one_process(tmp_path, pp, exact):
    # 64 KV blocks for requests needing 78: preemption, recompute through the prefix cache.
    reqs = reference_requests()
    flags = [*(EXACT if exact else []), *SMALL_CACHE]
    base = generate(tmp_path, MODEL, 1, reqs, *flags)
    assert compare(base, generate(tmp_path, MODEL, 1, reqs, *flags, "--pipeline-parallel-size", str(pp))) <= 1e-4


def test_default_model_tp3_pp2_equals_one_process(tmp_path):
    reqs = reference_requests()
    base = generate(tmp_path, MODEL, 1, reqs, *EXACT, *SMALL_CACHE)
    assert compare(base, generate(tmp_path, MODEL, 3, reqs, *EXACT, *SMALL_CACHE, "--pipeline-parallel-size", "2")) <= 1e-4


@pytest.mark.parametrize("tp, pp, partition", [(2, 2, None), (1, 2, "1,1")])
def test_synthetic_models_equal_one_process(tmp_path, synthetic, tp, pp, partition):
    reqs = [{"prompt": p, "max_tokens": 16, "logprobs": 5, "temperature": 0, "ignore_eos": True}
            for p in ["Hello", "The capital of France is", "1, 2, 3,", "def fib(n):" * 8]]
    base = generate(tmp_path, synthetic["kv2"], 1, reqs, *EXACT, "--max-model-len", "512")
    env = {**os.environ, **({"VLLM_PP_LAYER_PARTITION": partition} if partition else {})}
    src = tmp_path / "prompts.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in reqs))
    p = subprocess.run([BINARY, "generate", "--model", str(synthetic["kv2"]), "--prompts-file", str(src), "-tp", str(tp), "-pp", str(pp),
                        *EXACT, "--max-model-len", "512"], capture_output=True, text=True, timeout=600, env=env)
    assert p.returncode == 0, p.stderr[-3000:]
    assert compare(base, [json.loads(l) for l in p.stdout.splitlines()]) <= 1e-4


def test_parallel_sampling_equals_one_process(tmp_path):
    # n > 1: the siblings share the prompt's blocks (a block copy every stage makes); seeded
    # sampling keeps each request's random stream whatever step it runs in.
    reqs = [{"prompt": p, "max_tokens": 12, "n": 3, "temperature": 0.8, "seed": 11, "logprobs": 2}
            for p in ["Once upon a time there was a", "The three primary colors are"]]
    flags = [*EXACT, "--max-model-len", "512"]
    base, piped = generate(tmp_path, MODEL, 1, reqs, *flags), generate(tmp_path, MODEL, 1, reqs, *flags, "-pp", "2")
    for a, b in zip(base, piped):
        assert [o["token_ids"] for o in a["outputs"]] == [o["token_ids"] for o in b["outputs"]]
        assert len({tuple(o["token_ids"]) for o in a["outputs"]}) > 1


def refused(*args, env=None):
    p = subprocess.run([BINARY, "generate", "--prompt", "Hi", "--max-tokens", "2", *args], capture_output=True, text=True,
                       timeout=300, env=env)
    assert p.returncode != 0
    return p.stderr


@pytest.mark.parametrize("args, needle", [
    (["-pp", "2", "--async-scheduling"], "--async-scheduling with --pipeline-parallel-size above 1 is not supported yet"),
    (["-pp", "31"], "pipeline parallel size (31) exceeds the model's 30 layers"),
    (["-pp", "0"], "--pipeline-parallel-size must be at least 1"),
])
def test_what_a_pipeline_cannot_do_is_refused(args, needle):
    err = refused(*args)
    assert err.count(needle) == 1, err


def test_a_bad_layer_partition_is_refused():
    err = refused("-pp", "2", env={**os.environ, "VLLM_PP_LAYER_PARTITION": "20,11"})
    assert "20,11 must give each of the 2 pipeline stages at least one layer, 30 in all" in err, err


def test_serve_pp2_answers_as_one_process_and_drains_on_sigterm(tmp_path):
    serves_as_one_process_and_drains(tmp_path, ["--pipeline-parallel-size", "2"], ranks=2, long_tokens=400)

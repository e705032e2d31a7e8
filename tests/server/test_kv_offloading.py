"""The KV offloading tier through the real server: with a KV cache too small to keep a shared
system prompt, a later request loads its blocks back from the tier (counted in /metrics) and
answers exactly as a server without the tier does."""
import requests

from conftest import MODEL, Server, assert_idle, metric

SYSTEM = " ".join(f"Rule {i}: answer politely and keep every reply short." for i in range(60))
FILLER = " ".join(f"Entry {i} of the unrelated log reads fine." for i in range(80))


def complete(url, prompt):
    r = requests.post(url + "/v1/completions", json={"model": MODEL, "prompt": prompt, "max_tokens": 12, "temperature": 0},
                      timeout=120)
    assert r.status_code == 200, r.text
    return r.json()["choices"][0]["text"]


def test_an_evicted_system_prompt_comes_back_from_the_tier():
    # 64 blocks of 16 tokens: the filler prompt needs most of them, evicting the system prompt.
    tiered = Server("--num-gpu-blocks-override", "64", "--kv-offloading-size", "0.1")
    plain = Server("--num-gpu-blocks-override", "64")
    try:
        complete(tiered.url, SYSTEM + "\nQ: first?\nA:")
        complete(tiered.url, FILLER)
        assert metric(tiered.url, "vllm:kv_offload_blocks_stored_total") > 0
        answer = complete(tiered.url, SYSTEM + "\nQ: second?\nA:")
        assert metric(tiered.url, "vllm:kv_offload_blocks_loaded_total") > 0
        assert metric(tiered.url, "vllm:external_prefix_cache_hits_total") >= 16
        assert metric(tiered.url, "vllm:kv_offload_bytes_total") > 0
        assert 0 < metric(tiered.url, "vllm:kv_offload_usage_perc") <= 1
        assert answer == complete(plain.url, SYSTEM + "\nQ: second?\nA:")
        text = requests.get(tiered.url + "/metrics", timeout=10).text
        assert 'num_cpu_blocks="' in text and 'num_cpu_blocks="None"' not in text
        assert_idle(tiered.url)
    finally:
        assert tiered.stop() == 0, "".join(tiered.log[-30:])
        assert plain.stop() == 0, "".join(plain.log[-30:])


def disk_tier_flags(path):
    return ("--num-gpu-blocks-override", "64", "--kv-offloading-size", "0.1",
            "--kv-offloading-backend", "disk", "--kv-offloading-path", str(path))


def assert_a_new_server_reuses_the_tier(flags, min_hits):
    """A server started on the tier the last one left loads the system prompt's blocks from it
    and answers as a server without a tier does."""
    second = Server(*flags)
    plain = Server("--num-gpu-blocks-override", "64")
    try:
        assert any("kept from the last run" in line for line in second.log), "".join(second.log[-30:])
        answer = complete(second.url, SYSTEM + "\nQ: second?\nA:")
        assert metric(second.url, "vllm:kv_offload_blocks_loaded_total") > 0
        assert metric(second.url, "vllm:external_prefix_cache_hits_total") >= min_hits
        assert answer == complete(plain.url, SYSTEM + "\nQ: second?\nA:")
        assert_idle(second.url)
    finally:
        assert second.stop() == 0, "".join(second.log[-30:])
        assert plain.stop() == 0, "".join(plain.log[-30:])


def test_a_restarted_server_reuses_the_disk_tier(tmp_path):
    flags = disk_tier_flags(tmp_path)
    first = Server(*flags)
    try:
        complete(first.url, SYSTEM + "\nQ: first?\nA:")
        # A second server can't take the same tier while the first holds it.
        import subprocess
        from conftest import BINARY
        r = subprocess.run([BINARY, "serve", "--port", "0", "--max-model-len", "1024", *flags],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode != 0 and "in use by another process" in r.stderr, r.stderr
    finally:
        # A graceful stop writes the prefix cache to the tier.
        assert first.stop() == 0, "".join(first.log[-30:])
    assert_a_new_server_reuses_the_tier(flags, min_hits=16)


def test_a_killed_server_leaves_its_blocks_in_the_disk_tier(tmp_path):
    # The tier is written through as blocks are computed, so even a server that never gets to
    # stop gracefully leaves the system prompt's blocks for the next one.
    flags = disk_tier_flags(tmp_path)
    first = Server(*flags)
    try:
        complete(first.url, SYSTEM + "\nQ: first?\nA:")
        assert metric(first.url, "vllm:kv_offload_blocks_stored_total") >= 16
    finally:
        first.proc.kill()
        first.proc.wait()
    assert_a_new_server_reuses_the_tier(flags, min_hits=16 * 16)


def test_offloading_flags_that_cannot_work_are_one_line_errors():
    import subprocess
    from conftest import BINARY
    for flags, message in [(["--kv-offloading-size", "-1"], "--kv-offloading-size"),
                           (["--kv-offloading-size", "1", "--kv-offloading-backend", "lmcache"], "--kv-offloading-backend"),
                           (["--kv-offloading-size", "1", "--no-enable-prefix-caching"], "prefix caching"),
                           (["--kv-offloading-size", "1", "--kv-offloading-backend", "disk"], "--kv-offloading-path"),
                           (["--kv-offloading-path", "/tmp"], "--kv-offloading-path")]:
        r = subprocess.run([BINARY, "serve", MODEL, "--port", "0", *flags], capture_output=True, text=True, timeout=120)
        assert r.returncode != 0
        assert message in r.stderr, r.stderr

"""`--speculative-config` (n-gram prompt lookup) through the real server and the official
`openai` client: the same concurrent requests as the async-scheduling test get the same
answers token for token as from a server without speculation (seeded sampling, penalties,
stop strings, n > 1, best_of, streaming, an abandoned stream, chat logprobs), proposals are
accepted (vLLM's spec_decode metrics), and a bad config is a one-line error."""
import os
import subprocess

import requests

from conftest import BINARY, MODEL, Server, assert_idle, metric
from test_async_scheduling import answers

SPEC = ('{"method": "ngram", "num_speculative_tokens": 4, "prompt_lookup_max": 3, "prompt_lookup_min": 1,'
        ' "disable_by_batch_size": 16}')


# Alone on the server (so how concurrent requests batch cannot change what is drafted): a counting
# prompt the model continues as the prompt does (drafts accepted), and one it leaves (drafts rejected).
SOLO_PROMPTS = ["1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1, 2, 3,",
                "The cat sat on the mat. The cat sat on the mat. The cat sat on the mat. The cat"]


def solo_answers(url):
    return [requests.post(url + "/v1/completions", timeout=120,
                          json={"prompt": prompt, "max_tokens": 24, "temperature": 0}).json()["choices"][0]["text"]
            for prompt in SOLO_PROMPTS]


def test_speculation_answers_as_plain_decoding_does():
    plain = Server("--max-num-seqs", "6")
    speculative = Server("--max-num-seqs", "6", "--speculative-config", SPEC)
    try:
        expected = answers(plain.url)
        assert answers(speculative.url) == expected
        # How many concurrent drafts are accepted depends on how the requests happened to batch;
        # the solo requests' counts do not.
        counts = ("vllm:spec_decode_num_drafts_total", "vllm:spec_decode_num_draft_tokens_total",
                  "vllm:spec_decode_num_accepted_tokens_total")
        before = [metric(speculative.url, name) for name in counts]
        assert solo_answers(speculative.url) == solo_answers(plain.url)
        drafts, proposed, accepted = (metric(speculative.url, name) - b for name, b in zip(counts, before))
        assert 0 < drafts and 0 < accepted < proposed, (drafts, proposed, accepted)
        per_position = [line for line in requests.get(speculative.url + "/metrics", timeout=10).text.splitlines()
                        if line.startswith("vllm:spec_decode_num_accepted_tokens_per_pos_total{")]
        assert len(per_position) == 4, per_position
        first = next(float(line.rsplit(" ", 1)[1]) for line in per_position if 'position="0"' in line)
        assert 0 < first <= metric(speculative.url, counts[0])
        assert_idle(speculative.url)
    finally:
        assert speculative.stop() == 0, "".join(speculative.log[-30:])
        assert plain.stop() == 0, "".join(plain.log[-30:])


def test_bad_speculative_configs_are_one_line_errors():
    for config, message in [('{"method": "ngram"}', "num_speculative_tokens"),
                            ('{"method": "medusa", "num_speculative_tokens": 2}', "medusa"),
                            ("ngram", "JSON object")]:
        r = subprocess.run([BINARY, "serve", MODEL, "--port", "0", "--speculative-config", config],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode != 0
        assert message in r.stderr and "--speculative-config" in r.stderr, r.stderr


def test_a_draft_model_answers_as_plain_decoding_does():
    # The default model drafting for itself (greedy proposals: sampled requests accept fewer), the answers
    # (seeded sampling included) are those of the plain server.
    default_model = os.path.join(os.environ.get("SWIFT_VLLM_MODEL_DIR", os.path.expanduser("~/.cache/swift-vllm/models")),
                                 "SmolLM2-135M-Instruct.Q4_1.gguf")
    draft = '{"model": "%s", "num_speculative_tokens": 3, "disable_by_batch_size": 16}' % default_model
    plain = Server("--max-num-seqs", "6")
    speculative = Server("--max-num-seqs", "6", "--speculative-config", draft)
    try:
        assert answers(speculative.url) == answers(plain.url)
        accepted = metric(speculative.url, "vllm:spec_decode_num_accepted_tokens_total")
        proposed = metric(speculative.url, "vllm:spec_decode_num_draft_tokens_total")
        assert 0 < accepted < proposed, (accepted, proposed)
        assert_idle(speculative.url)
    finally:
        assert speculative.stop() == 0, "".join(speculative.log[-30:])
        assert plain.stop() == 0, "".join(plain.log[-30:])

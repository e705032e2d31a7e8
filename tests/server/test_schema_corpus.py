"""A corpus of 172 application-style JSON Schemas (tests/server/fixtures/schemas.json: nested and
recursive objects, enums, const discriminators, tuples, patterns, formats, bounded numbers and
arrays; written for this test), each sampled at temperature 1.0 through `response_format`:
every output that finishes validates with `jsonschema` (formats checked)."""
import concurrent.futures as cf
import json
from pathlib import Path

import jsonschema
import pytest

from conftest import MODEL, assert_idle

CORPUS = json.loads((Path(__file__).parent / "fixtures" / "schemas.json").read_text())


@pytest.mark.parametrize("layout", ["compact", "any_whitespace"])
def test_every_schema_in_the_corpus_validates(client, server, layout):
    assert len(CORPUS) >= 100
    # Any whitespace (vLLM's default) lets a rambling model pad forever, and a recursive schema
    # lets it nest forever: such outputs may be cut by max_tokens (at most 5 in 100). Every
    # output that finishes must validate.
    cases = CORPUS if layout == "compact" else CORPUS[::4]
    extra = {"structured_outputs": {"disable_any_whitespace": True}} if layout == "compact" else {}

    def run(i_case):
        i, case = i_case
        r = client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": f"Fill in a {case['name'].replace('_', ' ')} as JSON."}],
            max_tokens=600, temperature=1.0, seed=i,
            response_format={"type": "json_schema", "json_schema": {"name": case["name"], "schema": case["schema"]}},
            extra_body=extra)
        return case, r.choices[0]

    failures, cut = [], []
    with cf.ThreadPoolExecutor(32) as pool:
        for case, choice in pool.map(run, enumerate(cases)):
            if choice.finish_reason == "length":
                cut.append(case["name"])
                assert layout == "any_whitespace" or "recursive" in case["name"], case["name"]
                continue
            try:
                assert choice.finish_reason == "stop", f"finish_reason {choice.finish_reason}"
                jsonschema.validate(json.loads(choice.message.content), case["schema"],
                                    format_checker=jsonschema.FormatChecker())
            except Exception as e:  # collect every failure, then report them together
                failures.append(f"{case['name']}: {str(e)[:200]}: {choice.message.content[:300]!r}")
    assert not failures, f"{len(failures)} of {len(cases)} failed:\n" + "\n".join(failures)
    assert len(cut) * 100 <= 5 * len(cases), f"cut by max_tokens: {cut}"
    assert_idle(server.url)

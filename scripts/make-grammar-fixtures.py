#!/usr/bin/env python3
"""Writes Tests/Fixtures/grammar/xgrammar-masks.json: the allowed-token masks that xgrammar (the
grammar backend vLLM 0.11 runs) computes on the default model's vocabulary, step by step along
token traces of valid outputs, for JSON schemas, regexes and EBNF grammars. The Swift test
replays the same traces and compares its masks with these.

  python3 -m pip install --no-deps xgrammar==0.1.25     # vLLM 0.11's pin; imports torch
  python3 scripts/make-grammar-fixtures.py

The vocabulary is read from the default model's GGUF (byte-level BPE: each token string mapped
back to bytes). Control tokens get no bytes, so xgrammar never allows them — as swift-vllm
treats them — and the tokenizer's EOS is the stop token. Each step stores the count of allowed
ids and a 64-bit FNV-1a hash of the mask's bytes (ids in order, one byte 0/1 each), so the
fixture stays small; `--dump` prints full masks for debugging.

Cases avoid what xgrammar 0.1.25 gets wrong (found while writing this: a vocabulary skip that
tests substrings instead of prefixes, integer/number ranges that let values past a bound through,
non-ASCII character classes) and what swift-vllm defines differently on purpose (string
formats and length bounds, whose xgrammar forms allow raw control characters; JSON numbers,
where xgrammar cannot write a negative number above -1 such as -0.5, so wherever any number
may start the two differ on tokens like "-0"), so every remaining difference is a bug on one
side.
"""
import argparse
import importlib.metadata
import json
import os
import sys

import gguf
import xgrammar as xgr

CASES = [
    ("json", {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"},
                                              "tags": {"type": "array", "items": {"type": "string"}}},
              "required": ["name", "age"]},
     ['{"name": "Ada Lovelace", "age": 36, "tags": ["math", "poetry"]}', '{"name":"x","age":-7}']),
    ("json", {"type": "object", "properties": {"kind": {"enum": ["cat", "dog", None]}, "ok": {"type": "boolean"},
                                              "score": {"type": "integer"}}, "required": ["kind"]},
     ['{"kind": "dog", "ok": true, "score": 125}', '{"kind": null}']),
    ("json", {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "integer"}},
                                         "required": ["id"]}, "minItems": 1, "maxItems": 3},
     ['[{"id": 1}, {"id": 22}]', '[{"id":0}]']),
    ("json", {"$defs": {"node": {"type": "object", "properties": {"v": {"type": "integer"},
                                                                  "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
                                 "required": ["v"]}}, "$ref": "#/$defs/node"},
     ['{"v": 1, "kids": [{"v": 2}, {"v": 3, "kids": []}]}']),
    ("json", {"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]}, ['"hello world"', "42", "null"]),
    ("json", {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}}},
     ['{"b": "only b"}', "{}"]),
    ("regex", r"[0-9]{3}-[a-z]{2,5}", ["123-abc", "000-zz"]),
    ("regex", r"(yes|no|maybe)(, (please|thanks))?\.", ["maybe, thanks.", "no."]),
    ("regex", r"\w+@\w+\.(com|org)", ["user_1@example.org"]),
    ("ebnf", 'root ::= "(" expr ")"\nexpr ::= term ("+" term)*\nterm ::= [0-9]+ | "(" expr ")"', ["((1+22)+3)"]),
    ("ebnf", 'root ::= item ("," " "? item)*\nitem ::= [a-z]+ ("=" [0-9]+)?', ["alpha=1, beta,gamma=22"]),
]


def byte_decoder():
    """GPT-2's bytes_to_unicode, inverted."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


def load_vocab(path):
    reader = gguf.GGUFReader(path)
    fields = reader.fields

    def strings(name):
        f = fields[name]
        return [bytes(f.parts[i]).decode("utf-8") for i in f.data]

    tokens = strings("tokenizer.ggml.tokens")
    types = [int(fields["tokenizer.ggml.token_type"].parts[i][0]) for i in fields["tokenizer.ggml.token_type"].data]
    eos = int(fields["tokenizer.ggml.eos_token_id"].parts[-1][0])
    model = bytes(fields["tokenizer.ggml.model"].parts[-1]).decode()
    dec = byte_decoder()
    vocab = []
    for t, kind in zip(tokens, types):
        if kind in (2, 3):  # unknown, control: never produced under a grammar (as swift-vllm)
            vocab.append(b"")
        elif model == "llama":  # SentencePiece: "▁" is a space, <0xXX> tokens are bytes
            vocab.append(bytes([int(t[3:5], 16)]) if kind == 6 else t.replace("\u2581", " ").encode("utf-8"))
        elif all(ch in dec for ch in t):
            vocab.append(bytes(dec[ch] for ch in t))
        else:
            vocab.append(t.encode("utf-8"))
    return vocab, eos


def fnv1a(bits):
    h = 0xCBF29CE484222325
    for b in bits:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def tokenize(text, vocab):
    """Greedy longest match over the vocabulary's bytes (any tokenization is a valid trace)."""
    by_first = {}
    for i, t in enumerate(vocab):
        if t:
            by_first.setdefault(t[0], []).append((len(t), i, t))
    for v in by_first.values():
        v.sort(reverse=True)
    data, out, i = text.encode("utf-8"), [], 0
    while i < len(data):
        for n, tid, t in by_first[data[i]]:
            if data.startswith(t, i):
                out.append(tid)
                i += n
                break
        else:
            raise ValueError(f"no token for byte {data[i]} in {text!r}")
    return out


def main():
    ap = argparse.ArgumentParser()
    default_model = os.path.expanduser("~/.cache/swift-vllm/models/SmolLM2-135M-Instruct.Q4_1.gguf")
    ap.add_argument("--model", default=default_model)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "grammar", "xgrammar-masks.json"))
    ap.add_argument("--dump", action="store_true")
    a = ap.parse_args()
    vocab, eos = load_vocab(a.model)
    info = xgr.TokenizerInfo(vocab, xgr.VocabType.RAW, vocab_size=len(vocab), stop_token_ids=[eos])
    compiler = xgr.GrammarCompiler(info, max_threads=1, cache_enabled=False)
    cases = []
    for kind, spec, outputs in CASES:
        for any_ws in ([True, False] if kind in ("json", "json_object") else [True]):
            if kind == "json":
                compiled = compiler.compile_json_schema(json.dumps(spec), any_whitespace=any_ws)
            elif kind == "json_object":
                compiled = compiler.compile_json_schema('{"type": "object"}', any_whitespace=any_ws)
            elif kind == "regex":
                compiled = compiler.compile_regex(spec)
            else:
                compiled = compiler.compile_grammar(spec)
            for text in outputs:
                if not any_ws and kind in ("json", "json_object"):
                    text = json.dumps(json.loads(text))  # the compact layout is json.dumps'
                trace = tokenize(text, vocab) + [eos]
                matcher = xgr.GrammarMatcher(compiled)
                bitmask = xgr.allocate_token_bitmask(1, len(vocab))
                steps = []
                for tid in trace:
                    matcher.fill_next_token_bitmask(bitmask, 0)
                    mask = xgr.testing.bitmask_to_bool_mask(bitmask, len(vocab))[0].tolist()
                    bits = bytes(1 if x else 0 for x in mask)
                    step = {"allowed": sum(bits), "hash": fnv1a(bits), "token": tid}
                    if a.dump:
                        step["ids"] = [i for i, x in enumerate(mask) if x][:50]
                    steps.append(step)
                    assert mask[tid], f"xgrammar refuses its own trace at {len(steps)} in {text!r}"
                    assert matcher.accept_token(tid)
                assert matcher.is_terminated()
                cases.append({"kind": kind, "spec": spec if kind != "json" else json.dumps(spec), "any_whitespace": any_ws,
                              "text": text, "steps": steps})
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump({"xgrammar": importlib.metadata.version("xgrammar"), "model": os.path.basename(a.model), "vocab_size": len(vocab), "eos": eos,
                   "cases": cases}, f, indent=1)
    print(f"wrote {a.out}: {len(cases)} traces, {sum(len(c['steps']) for c in cases)} masks", file=sys.stderr)


if __name__ == "__main__":
    main()

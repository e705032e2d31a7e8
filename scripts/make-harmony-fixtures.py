#!/usr/bin/env python3
"""Makes Tests/Fixtures/harmony/: gpt-oss's chat template (the harmony format) and what
transformers renders with it for a set of conversations, so the engine's Jinja renderer can be
checked byte for byte (one command; CI does not run it).

  pip install transformers jinja2
  python3 scripts/make-harmony-fixtures.py                  # llama-cpp-python's sdist, fetched into /tmp
  python3 scripts/make-harmony-fixtures.py --llama-cpp /path/to/llama.cpp

The template is the one llama.cpp vendors as models/templates/openai-gpt-oss-120b.jinja (the
chat_template.jinja of openai/gpt-oss-20b and -120b). It prints "Current date: " with
strftime_now; the renders here have that date replaced by DATE, and so must a test's.
"""
import argparse
import json
import shutil
from pathlib import Path

from transformers.utils import chat_template_utils

from gguf_convert import fetch_llama_cpp

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests/Fixtures/harmony"

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather in a city.",
    "parameters": {"type": "object", "properties": {
        "city": {"type": "string", "description": "City name"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"},
        "days": {"type": "integer", "description": "Forecast days"},
        "hourly": {"type": "boolean"},
        "coords": {"type": "array", "items": {"type": "number"}},
        "options": {"type": "object", "properties": {"lang": {"type": "string"}}, "required": ["lang"]},
        "note": {"type": ["string", "null"]}},
        "required": ["city"]}}}
LOOKUP = {"type": "function", "function": {"name": "lookup", "description": "No parameters.",
                                           "parameters": {"type": "object", "properties": {}}}}

CASES = [
    dict(name="user only", messages=[{"role": "user", "content": "Hi there!"}], add_generation_prompt=True),
    dict(name="system becomes developer instructions, high effort",
         messages=[{"role": "system", "content": "Answer in French."}, {"role": "user", "content": "Bonjour?"}],
         add_generation_prompt=True, kwargs={"reasoning_effort": "high"}),
    dict(name="developer message and tools",
         messages=[{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "Weather in Paris?"}],
         tools=[WEATHER, LOOKUP], add_generation_prompt=True, kwargs={"reasoning_effort": "low"}),
    dict(name="tools without instructions", messages=[{"role": "user", "content": "Look it up."}], tools=[LOOKUP],
         add_generation_prompt=True),
    dict(name="past turn with thinking",
         messages=[{"role": "user", "content": "2+2?"},
                   {"role": "assistant", "thinking": "Simple arithmetic.", "content": "4"},
                   {"role": "user", "content": "And 3+3?"}],
         add_generation_prompt=True),
    dict(name="final assistant turn keeps its thinking",
         messages=[{"role": "user", "content": "2+2?"},
                   {"role": "assistant", "thinking": "Simple arithmetic.", "content": "4"}]),
    dict(name="tool call and result",
         messages=[{"role": "user", "content": "Weather in Paris?"},
                   {"role": "assistant", "thinking": "I should call the tool.", "tool_calls": [
                       {"id": "call_1", "type": "function",
                        "function": {"name": "get_weather", "arguments": {"city": "Paris", "days": 2}}}]},
                   {"role": "tool", "content": "{\"temp\": 21, \"sky\": \"clear\"}", "tool_call_id": "call_1"}],
         tools=[WEATHER], add_generation_prompt=True),
    dict(name="model identity and builtin tools",
         messages=[{"role": "user", "content": "Search the web."}], add_generation_prompt=True,
         kwargs={"model_identity": "You are a test model.", "builtin_tools": ["browser", "python"]}),
    dict(name="unicode and escapes",
         messages=[{"role": "user", "content": "Café \"quoted\" \\ back\nslash 🚀"}], add_generation_prompt=True),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--llama-cpp", type=Path)
    args = ap.parse_args()
    llama_cpp = (args.llama_cpp or fetch_llama_cpp()).resolve()
    OUT.mkdir(parents=True, exist_ok=True)
    template_path = OUT / "chat_template.jinja"
    shutil.copyfile(llama_cpp / "models/templates/openai-gpt-oss-120b.jinja", template_path)
    template = template_path.read_text()
    compiled = chat_template_utils._compile_jinja_template(template)
    compiled.globals["strftime_now"] = lambda fmt: "DATE"
    renders = []
    for case in CASES:
        text = chat_template_utils.render_jinja_template(
            conversations=[case["messages"]], tools=case.get("tools"), chat_template=template,
            add_generation_prompt=case.get("add_generation_prompt", False), **case.get("kwargs", {}))[0][0]
        assert "Current date: DATE\n" in text, case["name"]
        renders.append(dict(case, rendered=text))
    (OUT / "renders.json").write_text(json.dumps(renders, indent=1, ensure_ascii=False) + "\n")
    print(f"{len(renders)} renders written to {OUT}")


if __name__ == "__main__":
    main()

"""Python's jinja2 configured the way Hugging Face transformers renders chat templates
(`apply_chat_template(..., tokenize=False)`): an ImmutableSandboxedEnvironment with trim_blocks,
lstrip_blocks and the loopcontrols extension, a `tojson` filter that is json.dumps with
ensure_ascii=False (not jinja2's HTML-safe, key-sorting one), and the globals raise_exception and
strftime_now. Written from the transformers documentation of that behaviour."""
import json
from datetime import datetime

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment


def _raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def _tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def _strftime_now(fmt):
    return datetime.now().strftime(fmt)


def environment():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    return env


def apply_chat_template(template, messages, tools=None, documents=None, add_generation_prompt=False,
                        continue_final_message=False, **kwargs):
    """The rendering half of transformers' apply_chat_template, continue_final_message included."""
    if continue_final_message and add_generation_prompt:
        raise ValueError("continue_final_message and add_generation_prompt are not compatible. Use "
                         "continue_final_message when you want the model to continue the final message, and "
                         "add_generation_prompt when you want to add a header that will prompt it to start a new "
                         "assistant message instead.")
    rendered = environment().from_string(template).render(
        messages=messages, tools=tools, documents=documents, add_generation_prompt=add_generation_prompt, **kwargs)
    if continue_final_message:
        final = messages[-1]["content"]
        if isinstance(final, (list, tuple)):
            texts = [block["text"] for block in final if "text" in block]
            if not texts:
                raise ValueError("no text to continue in the final message")
            final = texts[-1]
        if final.strip() not in rendered:
            raise ValueError("the final message does not appear in the rendered chat")
        loc = rendered.rindex(final.strip())
        if rendered[loc:loc + len(final.lstrip())] == final:
            rendered = rendered[:loc + len(final.lstrip())]
        else:
            rendered = rendered[:loc + len(final.strip())]
    return rendered

"""Template-language constructs rendered by `vllm chat-template` and by jinja2 (configured as
Hugging Face does) must agree byte for byte, or both must fail with the same message."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from hf_reference import environment  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
BINARY = os.environ.get("VLLM_BINARY", str(ROOT / ".build/release/vllm"))

CONTEXT = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": " there "}],
           "bos_token": "<s>", "eos_token": "</s>"}

SNIPPETS = [
    # output, literals, printing Python values
    "{{ 1 }}|{{ 1.5 }}|{{ 1e20 }}|{{ 1.0e-7 }}|{{ 0.1 + 0.2 }}|{{ 10 / 4 }}|{{ 10 // 4 }}|{{ -7 // 2 }}|{{ -7 % 3 }}|{{ 2 ** 10 }}|{{ 2 ** -1 }}",
    "{{ true }}|{{ none }}|{{ [1, 'a', none, true, 2.5] }}|{{ {'a': 1, 'b': [1, {'c': none}]} }}|{{ (1, 2) | list }}",
    "{{ \"it's\" }}|{{ ['it\\'s', \"q\\\"uote\", 'back\\\\slash', 'tab\\t', 'nl\\n', 'é', '\\u00a0', '\\x07'] }}",
    "{{ 'a' 'b' }}|{{ 'x' ~ 1 ~ none ~ true }}|{{ 'ab' * 3 }}|{{ [1] * 2 }}|{{ [1] + [2] }}|{{ -(3) }}|{{ +3 }}",
    "{{ 1 == 1.0 }}|{{ 1 == true }}|{{ 'a' < 'b' }}|{{ [1, 2] < [1, 3] }}|{{ 1 < 2 < 3 }}|{{ 3 > 2 > 2 }}|{{ 2 >= 2 }}|{{ 'a' != 'b' }}",
    "{{ 'a' in 'cat' }}|{{ 2 in [1, 2] }}|{{ 'k' in {'k': 1} }}|{{ 'z' not in 'cat' }}|{{ not true }}|{{ none or 'x' }}|{{ 0 and 1 }}|{{ '' or [] }}",
    "{{ 'yes' if 1 else 'no' }}|{{ 'yes' if 0 else 'no' }}|[{{ 'yes' if 0 }}]|{{ 1 if 0 else 2 if 0 else 3 }}",
    # whitespace control, trim_blocks, lstrip_blocks, comments, raw
    "a\n  {% if true %}\n  b\n  {% endif %}\n  c\n",
    "a  {%- if true -%}  b  {%- endif -%}  c",
    "x\n    {# a comment #}\n    y {{- ' z ' -}} w\n{#- trailing -#}\n end",
    "{% if true %}  keep  {% endif %}\n{%+ if true %}plus{% endif +%}\nnext",
    "  {{ 'var lines are not lstripped' }}\n{% for i in [1, 2] %}\n    {{ i }}\n{% endfor %}\n",
    "{% raw %}{{ not a var }} {% if %}{% endraw %}|{%- raw -%}  x  {%- endraw -%}|",
    "line1\r\nline2\rline3\n",
    # if / elif / else
    "{% for x in [0, 1, 2, 3] %}{% if x == 0 %}zero{% elif x == 1 %}one{% elif x == 2 %}two{% else %}many{% endif %},{% endfor %}",
    # for loops and loop variables
    "{% for x in 'abc' %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }};{% endfor %}",
    "{% for x in [1, 2, 3] %}{{ loop.previtem }}-{{ loop.nextitem }}-{{ loop.cycle('a', 'b') }}-{{ loop.changed(x > 1) }};{% endfor %}",
    "{% for x in [] %}no{% else %}empty{% endfor %}|{% for x in [1, 2, 3, 4] if x is even %}{{ x }}{{ loop.index }}{{ loop.length }}{% endfor %}",
    "{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}{% for k in {'x': 1, 'y': 2} %}{{ k }}{% endfor %}",
    "{% for a, b in [[1, 2], [3, 4]] %}{{ a + b }}{% endfor %}|{% for x in [1, 2] %}{% for y in [3, 4] %}{{ loop.depth }}{{ x * y }} {% endfor %}{% endfor %}",
    "{% for x in [1, 2, 3, 4, 5] %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 4 %}{% break %}{% endif %}{{ x }}{% endfor %}",
    "{% for n in [{'c': [{'c': []}, {'c': [{'c': []}]}]}] recursive %}[{{ loop.depth }}{{ loop(n.c) }}]{% endfor %}",
    "{% for m in messages %}{{ m.role }}:{{ m['content'] }}|{% endfor %}{{ messages | length }}",
    # set, block set, namespace, scoping
    "{% set x = 1 %}{% for i in [1, 2] %}{% set x = x + i %}{{ x }}{% endfor %}{{ x }}",
    "{% set ns = namespace(total=0, items=[]) %}{% for i in [1, 2, 3] %}{% set ns.total = ns.total + i %}{% endfor %}{{ ns.total }}{{ ns.items }}",
    "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set c = [3, 4] %}{% set d, e = c %}{{ d }}{{ e }}",
    "{% set block %}  Hello {{ 'World' }}  {% endset %}[{{ block }}]{% set up | upper | trim %} shout {% endset %}[{{ up }}]",
    "{% if true %}{% set inner = 'visible' %}{% endif %}{{ inner }}|{% with w = 5 %}{{ w }}{% endwith %}{{ w }}",
    # macros, call, caller
    "{% macro greet(name, punct='!') %}Hello {{ name }}{{ punct }}{% endmacro %}{{ greet('A') }} {{ greet('B', '?') }} {{ greet(name='C', punct='.') }}",
    "{% macro m(a) %}{{ a }}|{{ varargs | list }}|{{ kwargs }}{% endmacro %}{{ m(1, 2, 3, k=4) }}",
    "{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap('b') %}bold {{ 1 + 1 }}{% endcall %}",
    "{% macro row(x) %}[{{ caller(x * 2) }}]{% endmacro %}{% call(v) row(21) %}v={{ v }}{% endcall %}",
    "{% macro fact(n) %}{% if n <= 1 %}1{% else %}{{ n * fact(n - 1) | int }}{% endif %}{% endmacro %}{{ fact(5) }}",
    # filter blocks
    "{% filter upper %}shout {{ 'this' }}{% endfilter %}|{% filter trim | replace('a', 'o') %}  banana  {% endfilter %}",
    # slicing and subscripts
    "{{ [1, 2, 3, 4, 5][1:3] }}{{ [1, 2, 3, 4, 5][::-1] }}{{ [1, 2, 3, 4, 5][::2] }}{{ [1, 2, 3, 4, 5][-2:] }}{{ [1, 2, 3, 4, 5][:-1] }}{{ [1, 2, 3][5:] }}",
    "{{ 'hello'[1:] }}|{{ 'hello'[::-1] }}|{{ 'hello'[-1] }}|{{ 'héllo👍'[4:] }}|{{ [1, 2, 3][-1] }}|{{ [1, 2, 3][4:1:-1] }}|{{ 'abcdef'[-2::-2] }}",
    "{{ messages[0].content }}{{ messages[-1]['role'] }}{{ messages.0.role }}|{{ {'a': {'b': 'c'}}['a']['b'] }}|{{ {'a': {'b': 'c'}}.a.b }}",
    # tests
    "{{ x is defined }}{{ messages is defined }}{{ none is none }}{{ 1 is number }}{{ 1.0 is float }}{{ 1 is integer }}{{ true is integer }}{{ true is boolean }}",
    "{{ 'a' is string }}{{ {} is mapping }}{{ [] is iterable }}{{ 'a' is iterable }}{{ 1 is iterable }}{{ [] is sequence }}{{ x is undefined }}{{ 4 is even }}{{ 3 is odd }}",
    "{{ 6 is divisibleby 3 }}{{ 7 is divisibleby(3) }}{{ 1 is eq 1 }}{{ 2 is gt 1 }}{{ 'a' is in 'abc' }}{{ 'abc' is lower }}{{ 'ABC' is upper }}{{ none is sameas none }}",
    "{{ 1 is not none }}{{ messages[0] is mapping }}{{ range is callable }}{{ 'x' is not string }}{{ true is true }}{{ false is false }}{{ 'upper' is filter }}{{ 'even' is test }}",
    # undefined semantics
    "[{{ x }}][{{ x | default('dflt') }}][{{ '' | default('dflt', true) }}][{{ x | length }}][{% for i in x %}no{% endfor %}][{{ not x }}][{{ x is none }}]",
    "[{{ messages[0].missing }}][{{ messages[9] }}][{{ none.attr }}][{{ x ~ 'a' }}][{{ x == x }}][{{ 'a' in x }}][{{ x | list }}][{{ x | string }}]",
    "{{ x.y }}",
    "{{ x + 1 }}",
    "{{ x() }}",
    "{{ x['k'] }}",
    "{{ messages[0].missing.deeper }}",
    # string methods
    "{{ '  pad  '.strip() }}|{{ 'xxhixx'.strip('x') }}|{{ '  l'.lstrip() }}|{{ 'r  '.rstrip() }}|{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ 'a b c'.split(' ', 1) }}|{{ 'a b c'.rsplit(' ', 1) }}",
    "{{ 'Hello'.startswith('He') }}{{ 'Hello'.endswith(('lo', 'x')) }}{{ 'Hello'.upper() }}{{ 'Hello'.lower() }}{{ 'hello world'.title() }}{{ 'hELLO'.capitalize() }}{{ 'they\\'re'.title() }}",
    "{{ 'a-b-c'.replace('-', '+') }}|{{ 'a-b-c'.replace('-', '', 1) }}|{{ 'hello'.find('l') }}|{{ 'hello'.rfind('l') }}|{{ 'hello'.count('l') }}|{{ ', '.join(['a', 'b']) }}",
    "{{ '{} and {}'.format(1, 'two') }}|{{ '{0}{1}{0}'.format('a', 'b') }}|{{ '{name}!'.format(name='x') }}|{{ '{:>5}|{:<5}|{:^5}|{:05.1f}|{:,}'.format('r', 'l', 'c', 3.14159, 1234567) }}",
    "{{ 'a\\nb\\r\\nc'.splitlines() }}|{{ 'abc'.isalpha() }}{{ '123'.isdigit() }}{{ ' '.isspace() }}|{{ 'x'.zfill(3) }}|{{ 'x'.center(5, '*') }}|{{ 'a=b=c'.partition('=') | join('/') }}|{{ 'pre_x'.removeprefix('pre_') }}",
    "{{ 'x'.append }}",
    "{{ [1].append(2) }}",
    # percent formatting
    "{{ '%s-%d-%.2f-%5s-%-5s|-%x-%r' % ('a', 3.7, 2.345, 'r', 'l', 255, 'q') }}|{{ '%(a)s%%' % {'a': 1} }}|{{ '%03d|%+d|%e|%g' % (7, 5, 12345.678, 0.00001) }}",
    # filters
    "{{ '  t  ' | trim }}|{{ 'xx t xx' | trim('x') }}|{{ 'abc' | upper }}|{{ 'ABC' | lower }}|{{ 'hello world-wide (x)' | title }}|{{ 'hELLO' | capitalize }}|{{ 'aaa' | replace('a', 'b', 2) }}",
    "{{ [3, 1, 2] | first }}{{ [3, 1, 2] | last }}{{ [] | first }}{{ 'abc' | first }}{{ [3, 1, 2] | length }}{{ 'abc' | count }}{{ {'a': 1} | length }}{{ [3, 1, 2] | sort }}{{ [3, 1, 2] | sort(reverse=true) }}",
    "{{ ['b', 'A', 'a', 'B'] | sort }}{{ ['b', 'A', 'a', 'B'] | sort(case_sensitive=true) }}{{ [{'n': 2}, {'n': 1}] | sort(attribute='n') }}{{ ['a', 'A', 'b'] | unique | list }}{{ [1, 2, 1, 3] | unique | list }}",
    "{{ [1, 2, 3] | join }}|{{ ['a', 'b'] | join(', ') }}|{{ [{'n': 'x'}, {'n': 'y'}] | join('-', attribute='n') }}|{{ [none, 1, 'a'] | join(',') }}|{{ 'abc' | list }}|{{ {'k': 1} | list }}",
    "{{ messages | map(attribute='role') | list }}|{{ ['a', 'b'] | map('upper') | join }}|{{ [1, 2, 3, 4] | select('even') | list }}|{{ [1, 2, 3, 4] | reject('even') | list }}|{{ [0, 1, '', 'a'] | select | list }}",
    "{{ messages | selectattr('role', 'equalto', 'user') | list | length }}|{{ messages | rejectattr('role', 'eq', 'user') | map(attribute='content') | first }}|{{ [{'a': 1}, {'b': 2}] | selectattr('a') | list }}|{{ [{'a': 1}, {'b': 2}] | selectattr('a', 'defined') | list }}",
    "{% for k, v in {'b': 1, 'a': 2} | dictsort %}{{ k }}{{ v }}{% endfor %}|{% for k, v in {'b': 1, 'a': 2, 'c': 0} | dictsort(by='value', reverse=true) %}{{ k }}{{ v }}{% endfor %}|{% for p in {'a': 1, 'b': [2]} | items %}{{ p | list }}{% endfor %}|{{ x | items | list }}",
    "{{ '42' | int }}{{ '4.7' | int }}{{ 'x' | int }}{{ 'x' | int(7) }}{{ 3.9 | int }}{{ '0x1A' | int(0, 16) }}|{{ '2.5' | float }}{{ 'x' | float }}{{ 3 | float }}|{{ 2.5 | round }}{{ 3.5 | round }}{{ 2.567 | round(2) }}{{ 2.1 | round(0, 'ceil') }}{{ 5 | round }}",
    "{{ -3 | abs }}{{ [1, 2, 3] | sum }}{{ [{'v': 1}, {'v': 2}] | sum(attribute='v') }}{{ [3, 1, 2] | max }}{{ ['b', 'A'] | min }}{{ [3, 1, 2] | reverse | list }}{{ 'abc' | reverse }}|{{ 5 | string }}{{ none | string }}{{ [1] | string }}",
    "{{ 'line1\\nline2\\n\\nline4' | indent }}|{{ 'a\\nb' | indent(2, true) }}|{{ 'a\\n\\nb' | indent('> ', blank=true) }}|{{ '<a href=\"x\">link & \\'q\\'</a>' | e }}|{{ '<b>x</b>  y' | striptags }}|{{ 'x' | safe }}",
    "{{ 'one two three four' | truncate(9) }}|{{ 'one two three four' | truncate(9, true) }}|{{ 'one two three four five six' | truncate(12, false, '…', 0) }}|{{ 'a b c' | wordcount }}|{{ 'x' | center(5) }}|{{ '%s=%s' | format('k', 'v') }}",
    "{{ [1, 2, 3, 4, 5] | batch(2) | list }}|{{ [1, 2, 3] | batch(2, 'x') | list }}|{% for g, rows in [{'g': 1, 'v': 'a'}, {'g': 2, 'v': 'b'}, {'g': 1, 'v': 'c'}] | groupby('g') %}{{ g }}{{ rows | map(attribute='v') | join }}{% endfor %}|{{ messages[0] | attr('role') }}|{{ messages[0] | attr('items') is callable }}",
    # tojson as HF defines it
    "{{ {'b': 1, 'a': [1, 2.5, none, true, 'é\"\\n<>&\\''], 'c': {}} | tojson }}",
    "{{ {'b': 1, 'a': [1, {'x': []}]} | tojson(indent=2) }}|{{ [1, [2]] | tojson(indent=0) }}|{{ {'b': 1, 'a': 2} | tojson(sort_keys=true) }}|{{ [1, 2] | tojson(separators=[',', ':']) }}|{{ 'é😀' | tojson(ensure_ascii=true) }}",
    "{{ messages | tojson(indent='\\t') }}|{{ 1.0 | tojson }}|{{ 1e100 | tojson }}|{{ {1: 'int key', none: 'n'} | tojson }}",
    "{{ x | tojson }}",
    # globals
    "{{ range(3) | list }}{{ range(1, 7, 2) | list }}{{ range(5, 0, -2) | list }}{{ dict(a=1, b=2) }}{% set c = cycler('a', 'b') %}{{ c.next() }}{{ c.next() }}{{ c.next() }}{% set j = joiner('|') %}{% for i in [1, 2, 3] %}{{ j() }}{{ i }}{% endfor %}",
    "{{ range(200000) | length }}",
    "{{ raise_exception('Custom failure: ' ~ 42) }}",
    "{{ strftime_now('%Y') | length }}{{ strftime_now is defined }}",
    # errors that must surface as errors
    "{{ 1 / 0 }}",
    "{{ 'a' + 1 }}",
    "{{ 1 + 'a' }}",
    "{{ [1, 2] | first(1) }}",
    "{% for i in 5 %}{% endfor %}",
    "{% for i in none %}{% endfor %}",
    "{{ 'a' < 1 }}",
    "{% set d = {} %}{% set d.k = 1 %}",
    "{{ {'a': 1}.update({'b': 2}) }}",
    "{% if %}{% endif %}",
    "{% for x in y %}",
    "{{ 1 + }}",
    "{% endif %}",
    "{{ x | nosuchfilter }}",
    "{% if false %}{{ x | nosuchfilter }}{{ x is nosuchtest }}{% endif %}ok",
    "{% if true %}{{ x | nosuchfilter }}{% endif %}",
    "{% for i in [] %}{{ i | nosuchfilter }}{% endfor %}",
    "{% for i in [1, 2] %}{% if loop.first %}{% set y = 5 %}{% endif %}[{{ y }}]{% endfor %}",
    "{% set x = 1 %}{% for i in [1, 2] %}{{ x }}{% set x = 5 %}{{ x }}{% endfor %}{{ x }}",
    "{{ x is nosuchtest }}",
    "{% do x %}",
    "{% break %}",
    "{{ 'unterminated }}",
    "{# unterminated comment",
    "{{ [1, 2 }}",
    "{{ 'a' 'b' | upper }}|{{ -2 ** 2 }}|{{ 2 ** 3 ** 2 }}|{{ -1 | abs }}|{{ not 1 == 2 }}|{{ 1 + 2 * 3 - 4 / 2 }}|{{ 'x' ~ 1 + 2 }}",
]


def render_cli(template, tmp_path):
    path = tmp_path / "t.jinja"
    path.write_text(template, encoding="utf-8")
    messages = tmp_path / "m.json"
    messages.write_text(json.dumps(CONTEXT["messages"]), encoding="utf-8")
    return subprocess.run([BINARY, "chat-template", "--chat-template", str(path), "--messages", str(messages),
                           "--bos-token", CONTEXT["bos_token"], "--eos-token", CONTEXT["eos_token"]],
                          capture_output=True, timeout=60)


@pytest.mark.parametrize("template", SNIPPETS, ids=range(len(SNIPPETS)))
def test_construct_matches_jinja2(template, tmp_path):
    try:
        expected = environment().from_string(template).render(tools=None, documents=None, add_generation_prompt=False,
                                                              **CONTEXT)
        error = None
    except Exception as e:
        expected, error = None, e
    p = render_cli(template, tmp_path)
    if error is not None:
        err = p.stderr.decode("utf-8", "replace")
        assert p.returncode != 0, f"jinja2 raised {error!r}, we rendered {p.stdout!r}"
        assert err.strip() and "\n" not in err.strip() and "Fatal" not in err
        return
    assert p.returncode == 0, p.stderr.decode("utf-8", "replace")
    assert p.stdout.decode("utf-8") == expected

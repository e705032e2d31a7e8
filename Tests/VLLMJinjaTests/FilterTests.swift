import Testing
@testable import VLLMJinja

@Suite struct FilterTests {
    @Test(arguments: [
        ("{{ '  t  ' | trim }}|{{ 'xxtxx' | trim('x') }}", "t|t"),
        ("{{ 'abc' | upper }}{{ 'ABC' | lower }}", "ABCabc"),
        ("{{ 'hello world-wide (x)' | title }}|{{ \"they're\" | title }}", "Hello World-Wide (X)|They're"),
        ("{{ 'hELLO' | capitalize }}", "Hello"),
        ("{{ 'aaa' | replace('a', 'b', 2) }}", "bba"),
        ("{{ [3, 1, 2] | first }}{{ [3, 1, 2] | last }}{{ 'abc' | first }}", "32a"),
        ("[{{ [] | first }}]", "[]"),
        ("{{ [3, 1, 2] | length }}{{ 'abc' | count }}{{ {'a': 1} | length }}{{ x | length }}", "3310"),
        ("{{ [3, 1, 2] | sort }}{{ [3, 1, 2] | sort(reverse=true) }}", "[1, 2, 3][3, 2, 1]"),
        ("{{ ['b', 'A', 'a', 'B'] | sort }}{{ ['b', 'A', 'a', 'B'] | sort(case_sensitive=true) }}", "['A', 'a', 'b', 'B']['A', 'B', 'a', 'b']"),
        ("{{ [{'n': 2}, {'n': 1}] | sort(attribute='n') | map(attribute='n') | list }}", "[1, 2]"),
        ("{{ ['a', 'A', 'b'] | unique | list }}", "['a', 'b']"),
        ("{{ [1, 2, 3] | join }}|{{ ['a', 'b'] | join(', ') }}|{{ [{'n': 'x'}, {'n': 'y'}] | join('-', attribute='n') }}", "123|a, b|x-y"),
        ("{{ 'abc' | list }}{{ {'k': 1} | list }}{{ x | list }}", "['a', 'b', 'c']['k'][]"),
        ("{{ ['a', 'b'] | map('upper') | join }}", "AB"),
        ("{{ [1, 2, 3, 4] | select('even') | list }}{{ [1, 2, 3, 4] | reject('even') | list }}{{ [0, 1, '', 'a'] | select | list }}", "[2, 4][1, 3][1, 'a']"),
        ("{{ [{'r': 'u'}, {'r': 'a'}] | selectattr('r', 'equalto', 'u') | list }}{{ [{'r': 'u'}, {'r': 'a'}] | rejectattr('r', 'eq', 'u') | list }}", "[{'r': 'u'}][{'r': 'a'}]"),
        ("{{ [{'a': 1}, {'b': 2}] | selectattr('a', 'defined') | list }}", "[{'a': 1}]"),
        ("{% for k, v in {'b': 1, 'a': 2} | dictsort %}{{ k }}{{ v }}{% endfor %}", "a2b1"),
        ("{% for k, v in {'a': 1, 'b': 2} | items %}{{ k }}{{ v }}{% endfor %}{{ x | items | list }}", "a1b2[]"),
        ("{{ '42' | int }}{{ '4.7' | int }}{{ 'x' | int }}{{ 'x' | int(7) }}{{ 3.9 | int }}", "424073"),
        ("{{ '2.5' | float }}|{{ 'x' | float }}|{{ 3 | float }}", "2.5|0.0|3.0"),
        ("{{ 2.5 | round }}{{ 3.5 | round }}{{ 2.567 | round(2) }}{{ 2.1 | round(0, 'ceil') }}{{ 5 | round }}", "2.04.02.573.05"),
        ("{{ -3 | abs }}{{ [1, 2, 3] | sum }}{{ [{'v': 1}, {'v': 2}] | sum(attribute='v') }}{{ [3, 1, 2] | max }}{{ ['b', 'A'] | min }}", "3633A"),
        ("{{ [3, 1, 2] | reverse | list }}{{ 'abc' | reverse }}", "[2, 1, 3]cba"),
        ("{{ 5 | string }}{{ none | string }}{{ 'x' | safe }}", "5Nonex"),
        ("{{ 'a\\nb\\n\\nc' | indent }}|{{ 'a\\nb' | indent(2, true) }}", "a\n    b\n\n    c|  a\n  b"),
        ("{{ '<a href=\"x\">&\\'</a>' | e }}", "&lt;a href=&#34;x&#34;&gt;&amp;&#39;&lt;/a&gt;"),
        ("{{ 'one two three four' | truncate(9) }}|{{ 'one two three four' | truncate(9, true) }}", "one...|one tw..."),
        ("{{ 'a b c' | wordcount }}{{ '%s=%s' | format('k', 'v') }}", "3k=v"),
        ("{{ [1, 2, 3] | batch(2, 'x') | list }}", "[[1, 2], [3, 'x']]"),
        ("{{ 'x' | default('d') }}{{ y | default('d') }}{{ '' | default('d', true) }}{{ '' | d('d') }}", "xdd"),
    ])
    func builtinFilters(_ t: String, _ expected: String) throws {
        #expect(try render(t) == expected)
    }

    @Test func tojsonIsHuggingFaces() throws {
        #expect(try render("{{ {'b': 1, 'a': [1, 2.5, none, true, 'é\"<>&'], 'c': {}} | tojson }}")
                == #"{"b": 1, "a": [1, 2.5, null, true, "é\"<>&"], "c": {}}"#)
        #expect(try render("{{ {'b': 1, 'a': [1, {}]} | tojson(indent=2) }}") == "{\n  \"b\": 1,\n  \"a\": [\n    1,\n    {}\n  ]\n}")
        #expect(try render("{{ {'b': 1, 'a': 2} | tojson(sort_keys=true) }}{{ [1, 2] | tojson(separators=[',', ':']) }}") == #"{"a": 2, "b": 1}[1,2]"#)
        #expect(try render("{{ 'é😀\\n' | tojson(ensure_ascii=true) }}") == #""\u00e9\ud83d\ude00\n""#)
        #expect(try render("{{ {1: 'i', none: 'n', true: 't'} | tojson }}") == #"{"1": "t", "null": "n"}"#)
        #expect(renderError("{{ x | tojson }}")?.message == "TypeError: Object of type Undefined is not JSON serializable")
    }

    @Test func extraArgumentsAreTypeErrors() {
        #expect(renderError("{{ [1] | first(1) }}")?.message.hasPrefix("TypeError") == true)
    }

    @Test func unknownFilterIsASyntaxErrorExceptInsideIf() throws {
        #expect(renderError("{{ 1 | nosuch }}")?.kind == .syntax)
        #expect(try render("{% if false %}{{ 1 | nosuch }}{{ 1 is nosuch }}{% endif %}ok") == "ok")
        #expect(renderError("{% if true %}{{ 1 | nosuch }}{% endif %}")?.message == "No filter named 'nosuch'.")
    }
}

@Suite struct TestTests {
    @Test(arguments: [
        ("{{ x is defined }}{{ x is undefined }}{{ none is none }}{{ 1 is none }}", "FalseTrueTrueFalse"),
        ("{{ 1 is number }}{{ 1.0 is float }}{{ 1 is integer }}{{ true is integer }}{{ true is boolean }}{{ true is number }}", "TrueTrueTrueFalseTrueTrue"),
        ("{{ 'a' is string }}{{ {} is mapping }}{{ [] is iterable }}{{ 1 is iterable }}{{ x is iterable }}{{ [] is sequence }}", "TrueTrueTrueFalseTrueTrue"),
        ("{{ 4 is even }}{{ 3 is odd }}{{ 6 is divisibleby 3 }}{{ 7 is divisibleby(3) }}", "TrueTrueTrueFalse"),
        ("{{ 1 is eq 1 }}{{ 2 is gt 1 }}{{ 2 is lt 1 }}{{ 2 is ge 2 }}{{ 2 is ne 2 }}{{ 'a' is in 'abc' }}", "TrueTrueFalseTrueFalseTrue"),
        ("{{ 'abc' is lower }}{{ 'ABC' is upper }}{{ none is sameas none }}{{ true is true }}{{ 0 is false }}", "TrueTrueTrueTrueFalse"),
        ("{{ range is callable }}{{ 'x' is callable }}{{ 'upper' is filter }}{{ 'even' is test }}{{ 1 is not none }}", "TrueFalseTrueTrueTrue"),
    ])
    func builtinTests(_ t: String, _ expected: String) throws {
        #expect(try render(t) == expected)
    }
}

@Suite struct StringMethodTests {
    @Test(arguments: [
        ("{{ '  p  '.strip() }}|{{ 'xxhixx'.strip('x') }}|{{ '  l'.lstrip() }}|{{ 'r  '.rstrip() }}", "p|hi|l|r"),
        ("{{ 'a,b,,c'.split(',') }}{{ ' a  b '.split() }}{{ 'a b c'.split(' ', 1) }}{{ 'a b c'.rsplit(' ', 1) }}",
         "['a', 'b', '', 'c']['a', 'b']['a', 'b c']['a b', 'c']"),
        ("{{ 'Hello'.startswith('He') }}{{ 'Hello'.endswith(('lo', 'x')) }}{{ 'e\\u0301'.startswith('e') }}", "TrueTrueTrue"),
        ("{{ 'Hello'.upper() }}{{ 'Hello'.lower() }}{{ \"they're bob\".title() }}{{ 'hELLO'.capitalize() }}", "HELLOhelloThey'Re BobHello"),
        ("{{ 'a-b-c'.replace('-', '+') }}|{{ 'a-b-c'.replace('-', '', 1) }}|{{ 'ab'.replace('', '.') }}", "a+b+c|ab-c|.a.b."),
        ("{{ 'hello'.find('l') }}{{ 'hello'.rfind('l') }}{{ 'hello'.find('z') }}{{ 'hello'.count('l') }}", "23-12"),
        ("{{ ', '.join(['a', 'b']) }}|{{ '{} and {}'.format(1, 'two') }}|{{ '{0}{1}{0}'.format('a', 'b') }}|{{ '{n}!'.format(n='x') }}", "a, b|1 and two|aba|x!"),
        ("{{ '{:>5}|{:<5}|{:^5}|{:05.1f}|{:,}'.format('r', 'l', 'c', 3.14159, 1234567) }}", "    r|l    |  c  |003.1|1,234,567"),
        ("{{ 'a\\nb\\r\\nc'.splitlines() }}{{ 'abc'.isalpha() }}{{ '123'.isdigit() }}{{ 'x'.zfill(3) }}{{ 'x'.center(5, '*') }}", "['a', 'b', 'c']TrueTrue00x**x**"),
        ("{{ 'a=b=c'.partition('=') | join('/') }}|{{ 'pre_x'.removeprefix('pre_') }}|{{ 'x.py'.removesuffix('.py') }}", "a/=/b=c|x|x"),
    ])
    func methods(_ t: String, _ expected: String) throws {
        #expect(try render(t) == expected)
    }

    @Test func mutatingMethodsAreRefusedByTheSandbox() {
        #expect(renderError("{{ [1].append(2) }}")?.kind == .security)
        #expect(renderError("{{ {'a': 1}.update({'b': 2}) }}")?.message == "access to attribute 'update' of 'dict' object is unsafe.")
    }
}

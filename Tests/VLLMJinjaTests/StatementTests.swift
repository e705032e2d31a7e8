import Testing
@testable import VLLMJinja

@Suite struct StatementTests {
    @Test func ifElifElse() throws {
        let t = "{% for x in [0, 1, 2, 3] %}{% if x == 0 %}a{% elif x == 1 %}b{% elif x == 2 %}c{% else %}d{% endif %}{% endfor %}"
        #expect(try render(t) == "abcd")
    }

    @Test func forLoopVariables() throws {
        let t = "{% for x in 'ab' %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }};{% endfor %}"
        #expect(try render(t) == "1021TrueFalse2;2110FalseTrue2;")
        #expect(try render("{% for x in [1, 2, 3] %}{{ loop.previtem }}-{{ loop.nextitem }}-{{ loop.cycle('a', 'b') }};{% endfor %}")
                == "-2-a;1-3-b;2--a;")
    }

    @Test func forElseAndFilter() throws {
        #expect(try render("{% for x in [] %}no{% else %}empty{% endfor %}") == "empty")
        #expect(try render("{% for x in [1, 2, 3, 4] if x is even %}{{ x }}{{ loop.index }}{{ loop.length }},{% endfor %}") == "212,422,")
        #expect(try render("{% for x in [1] if x > 5 %}no{% else %}none kept{% endfor %}") == "none kept")
    }

    @Test func forUnpackingAndDicts() throws {
        #expect(try render("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}") == "a=1;b=2;")
        #expect(try render("{% for k in {'z': 1, 'a': 2} %}{{ k }}{% endfor %}") == "za")
        #expect(try render("{% for a, b in [[1, 2], [3, 4]] %}{{ a * b }}{% endfor %}") == "212")
    }

    @Test func breakAndContinue() throws {
        let t = "{% for x in [1, 2, 3, 4, 5] %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 4 %}{% break %}{% endif %}{{ x }}{% endfor %}"
        #expect(try render(t) == "13")
        #expect(renderError("{% break %}")?.kind == .syntax)
    }

    @Test func recursiveLoop() throws {
        let t = "{% for n in tree recursive %}({{ n.name }}{{ loop(n.children) }}){% endfor %}"
        let tree: Value = [["name": "a", "children": [["name": "b", "children": []]]], ["name": "c", "children": []]]
        #expect(try render(t, ["tree": tree]) == "(a(b))(c)")
    }

    @Test func loopScopesArePerIteration() throws {
        #expect(try render("{% set x = 1 %}{% for i in [1, 2] %}{{ x }}{% set x = 5 %}{{ x }}{% endfor %}{{ x }}") == "15151")
        #expect(try render("{% if true %}{% set y = 'kept' %}{% endif %}{{ y }}") == "kept")
    }

    @Test func setForms() throws {
        #expect(try render("{% set a, b = 1, 2 %}{{ a + b }}") == "3")
        #expect(try render("{% set s %}  Hi {{ 'you' }}  {% endset %}[{{ s }}]") == "[  Hi you  ]")
        #expect(try render("{% set s | upper | trim %} x {% endset %}[{{ s }}]") == "[X]")
    }

    @Test func namespaces() throws {
        let t = "{% set ns = namespace(total=0) %}{% for i in [1, 2, 3] %}{% set ns.total = ns.total + i %}{% endfor %}{{ ns.total }}"
        #expect(try render(t) == "6")
        #expect(renderError("{% set d = {} %}{% set d.k = 1 %}")?.message == "cannot assign attribute on non-namespace object")
    }

    @Test func macrosAndCaller() throws {
        #expect(try render("{% macro g(n, p='!') %}Hi {{ n }}{{ p }}{% endmacro %}{{ g('a') }} {{ g('b', '?') }} {{ g(p='.', n='c') }}")
                == "Hi a! Hi b? Hi c.")
        #expect(try render("{% macro m(a) %}{{ a }}{{ varargs | list }}{{ kwargs }}{% endmacro %}{{ m(1, 2, k=3) }}") == "1[2]{'k': 3}")
        #expect(try render("{% macro w(t) %}<{{ t }}>{{ caller() }}</{{ t }}>{% endmacro %}{% call w('b') %}x{% endcall %}") == "<b>x</b>")
        #expect(try render("{% macro r(x) %}[{{ caller(x * 2) }}]{% endmacro %}{% call(v) r(21) %}{{ v }}{% endcall %}") == "[42]")
    }

    @Test func filterBlockAndWith() throws {
        #expect(try render("{% filter upper %}a{{ 'b' }}{% endfilter %}") == "AB")
        #expect(try render("{% with w = 5 %}{{ w }}{% endwith %}[{{ w }}]") == "5[]")
        #expect(try render("{% generation %}kept{% endgeneration %}") == "kept")
    }

    @Test func runawayRecursionIsAnError() {
        let e = renderError("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}")
        #expect(e?.message.contains("RecursionError") == true)
    }
}

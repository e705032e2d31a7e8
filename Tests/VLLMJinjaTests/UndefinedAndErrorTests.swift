import Testing
import VLLMTestSupport
@testable import VLLMJinja

@Suite struct UndefinedTests {
    @Test func undefinedPrintsEmptyIsFalsyAndIteratesToNothing() throws {
        #expect(try render("[{{ x }}][{{ not x }}][{% for i in x %}no{% endfor %}][{{ x ~ 'a' }}][{{ x == y }}][{{ x | string }}]")
                == "[][True][][a][True][]")
        #expect(try render("{{ [x] }}") == "[Undefined]")
    }

    @Test func missingKeysAndAttributesAreUndefined() throws {
        let ctx: [String: Value] = ["m": ["role": "user"], "l": [1]]
        #expect(try render("[{{ m.content }}][{{ m['content'] }}][{{ l[5] }}][{{ none.attr }}]", ctx) == "[][][][]")
    }

    @Test(arguments: [
        ("{{ x.y }}", "'x' is undefined"),
        ("{{ x['k'] }}", "'x' is undefined"),
        ("{{ x() }}", "'x' is undefined"),
        ("{{ x + 1 }}", "'x' is undefined"),
        ("{{ m.content.strip() }}", "'dict object' has no attribute 'content'"),
        ("{{ l[3].a }}", "'list object' has no element 3"),
        ("{{ 'abc'.nomethod() }}", "'str object' has no attribute 'nomethod'"),
    ])
    func usingUndefinedRaises(_ t: String, _ message: String) {
        let e = renderError(t, ["m": ["role": "user"], "l": [1]])
        #expect(e?.kind == .undefined)
        #expect(e?.message == message)
    }
}

@Suite struct ErrorTests {
    @Test func raiseExceptionKeepsTheTemplatesMessage() {
        let e = renderError("line one\n{{ raise_exception('Only user and assistant roles are supported!') }}")
        #expect(e?.kind == .raised)
        #expect(e?.message == "Only user and assistant roles are supported!")
        #expect(e?.line == 2)
        #expect(e?.description == "TemplateError: Only user and assistant roles are supported! (line 2)")
    }

    @Test(arguments: [
        ("{% if %}{% endif %}", 1), ("a\nb\n{% for x in y %}", 3), ("\n\n{{ 1 + }}", 3), ("{% endif %}", 1),
        ("x\n{% do x %}", 2), ("{{ 'unterminated }}", 1), ("a\n{# open comment", 2), ("{{ [1, 2 }}", 1),
        ("{% macro m(a=1, b) %}{% endmacro %}", 1), ("{{ a is nosuch }}", 1), ("{% set 1 = 2 %}", 1),
    ])
    func syntaxErrorsCarryTheirLine(_ t: String, _ line: Int) {
        let e = renderError(t)
        #expect(e?.kind == .syntax)
        #expect(e?.line == line)
    }

    @Test(arguments: [
        ("\n{{ 1 / 0 }}", "ZeroDivisionError: division by zero", 2),
        ("\n\n{{ 'a' + 1 }}", "TypeError: can only concatenate str (not \"int\") to str", 3),
        ("{% for i in 5 %}{% endfor %}", "TypeError: 'int' object is not iterable", 1),
        ("{{ 'a' < 1 }}", "TypeError: '<' not supported between instances of 'str' and 'int'", 1),
        ("{{ range(200000) | length }}", "OverflowError: Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).", 1),
    ])
    func runtimeErrorsCarryMessageAndLine(_ t: String, _ message: String, _ line: Int) {
        let e = renderError(t)
        #expect(e?.message == message)
        #expect(e?.line == line)
    }

    /// Mutates real template text at random (deleting, duplicating and swapping characters that
    /// matter to the grammar) and renders it: every outcome must be output or a thrown error.
    @Test func fuzzedTemplatesNeverTrap() throws {
        let seeds = [
            "{% for m in messages %}{% if loop.first and m['role'] != 'system' %}{{ 'sys\\n' }}{% endif %}{{ '<|' + m.role + '|>' + m['content'] | trim }}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}",
            "{%- set ns = namespace(x=0) %}{%- for a, b in {'k': [1, 2.5]}.items() if a %}{{- ns.x ~ a ~ b[1:] | tojson(indent=2) }}{%- set ns.x = ns.x + 1 %}{%- else %}none{%- endfor %}",
            "{% macro f(a, b='x') %}{{ a|upper }}{{ caller() if caller is defined }}{% endmacro %}{% call f('q') %}{{ '%s' % 1 }}{% endcall %}{{ f(1) }}{# c #}{% raw %}{{{% endraw %}",
        ]
        let alphabet = Array("{}%#-+()[]|.,:'\"~=<>!*/ \nab0")
        var rng = SeededGenerator(seed: 0x5EED)
        var rendered = 0, failed = 0
        let ctx: [String: Value] = ["messages": [["role": "user", "content": " hi "]], "add_generation_prompt": true]
        for _ in 0..<3000 {
            var chars = Array(seeds[Int(rng.next() % UInt64(seeds.count))])
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let i = Int(rng.next() % UInt64(chars.count))
                switch rng.next() % 4 {
                case 0: chars.remove(at: i)
                case 1: chars.insert(alphabet[Int(rng.next() % UInt64(alphabet.count))], at: i)
                case 2: chars.insert(contentsOf: chars[i..<min(i + 6, chars.count)], at: i)
                default: chars.swapAt(i, Int(rng.next() % UInt64(chars.count)))
                }
                if chars.isEmpty { chars = ["x"] }
            }
            do {
                _ = try Template(String(chars)).render(ctx)
                rendered += 1
            } catch {
                #expect(!error.description.isEmpty)
                failed += 1
            }
        }
        // Both outcomes occur, so the mutations exercise the error paths and the happy path.
        #expect(rendered > 100 && failed > 100)
    }
}

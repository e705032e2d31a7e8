import Testing
import VLLMTestSupport
@testable import VLLMJinja

/// Templates written to crash, hang or exhaust the engine. Each one trapped, overflowed the
/// stack or ran away before render limits existed; now each fails with a `TemplateError` (or
/// renders what jinja2 renders) quickly.

/// The error rendering `source` under `limits` throws, or nil when it renders.
private func failure(_ source: String, _ limits: RenderLimits = .default,
                     _ context: [String: Value] = [:]) -> TemplateError? {
    do {
        _ = try Template(source).render(context, limits: limits)
        return nil
    } catch {
        return error
    }
}

private let intMin = "(-9223372036854775807 - 1)"
private let intMax = "9223372036854775807"

/// Small enough that runaway templates stop in milliseconds.
private let tight = RenderLimits(maxOutputBytes: 1 << 20, maxValueBytes: 1 << 20, maxListLength: 100_000,
                                 maxSteps: 200_000, maxRecursionDepth: 100)

@Suite struct HostileIntegerTests {
    /// Python would compute a big int or raise; either way the process must survive.
    @Test(arguments: [
        ("{{ '%99999999999999999999d' % 1 }}", TemplateError.Kind.runtime),
        ("{{ '%.99999999999999999999d' % 1 }}", .runtime),
        ("{{ '{:99999999999999999999}'.format(1) }}", .runtime),
        ("{{ '{:.99999999999999999999}'.format(1.5) }}", .runtime),
        ("{{ range(-(2**62), 2**62) | length }}", .runtime),
        ("{{ range(\(intMin), \(intMax), 1) | length }}", .runtime),
        ("{{ 2**64 }}", .runtime),
        ("{{ 3**40 }}", .runtime),
        ("{{ \(intMax) + 1 }}", .runtime),
        ("{{ \(intMin) - 1 }}", .runtime),
        ("{{ \(intMax) * 2 }}", .runtime),
        ("{{ -\(intMin) }}", .runtime),
        ("{{ \(intMin) // -1 }}", .runtime),
        ("{{ \(intMin) % -1 }}", .runtime),
        ("{{ [1, 2] | sum(start=\(intMax)) }}", .runtime),
        ("{{ '{-1}'.format(1) }}", .runtime),
        ("{{ '%.9999999999d' % 1 }}", .limit),
        ("{{ '%9999999999d' % 1 }}", .limit),
        ("{{ '%*d' % (9999999999, 1) }}", .limit),
        ("{{ '{:9999999999}'.format(1) }}", .limit),
        ("{{ 'ab' | center(\(intMax)) }}", .limit),
        ("{{ 'ab'.center(\(intMax)) }}", .limit),
        ("{{ 'ab'.ljust(\(intMax)) }}", .limit),
        ("{{ 'ab'.rjust(\(intMax), '*') }}", .limit),
        ("{{ 'ab'.zfill(\(intMax)) }}", .limit),
        ("{{ 'a\\nb' | indent(\(intMax)) }}", .limit),
        ("{{ [1, 2, 3] | batch(\(intMax), 0) | list }}", .limit),
        ("{{ {'a': 1} | tojson(indent=\(intMax)) }}", .limit),
        ("{{ 'a' * \(intMax) }}", .limit),
        ("{{ [1] * \(intMax) }}", .limit),
        ("{{ [1, 2] * 4611686018427387904 }}", .limit),
    ])
    func overflowFailsCleanly(_ source: String, _ kind: TemplateError.Kind) {
        #expect(failure(source)?.kind == kind, "\(source)")
    }

    /// Extreme arguments that jinja2 accepts render what jinja2 renders.
    @Test(arguments: [
        ("{{ [1,2,3][1::\(intMax)] }}", "[2]"),
        ("{{ [1,2,3][::\(intMin)] }}", "[3]"),
        ("{{ 'abc'[\(intMin):\(intMax)] }}", "abc"),
        ("{{ 'ab'.zfill(\(intMin)) }}", "ab"),
        ("{{ 'ab'.center(\(intMin)) }}", "ab"),
        ("{{ \(intMin) is divisibleby(-1) }}", "True"),
        ("{{ range(5, 10, \(intMax)) | list }}", "[5]"),
        ("{{ range(\(intMax) - 1, \(intMax)) | list }}", "[9223372036854775806]"),
        ("{{ range(\(intMin) + 1, \(intMin), -1) | list }}", "[-9223372036854775807]"),
        ("{{ 'abc' | truncate(\(intMax)) }}", "abc"),
        ("{{ 'abc' | truncate(5, leeway=\(intMax)) }}", "abc"),
        ("{{ 1.5 | round(\(intMax)) }}", "1.5"),
        ("{{ 1.5 | round(\(intMin)) }}", "0.0"),
        ("{{ 1.5 | round(400, 'ceil') }}", "1.5"),
        ("{{ '10' | int(base=1) }}|{{ '10' | int(base=99) }}|{{ '10' | int(base=\(intMin)) }}", "10|10|10"),
        ("{{ [1, 2, 3] | batch(2, 0) | list }}", "[[1, 2], [3, 0]]"),
        ("{{ 'ab' * \(intMin) }}|{{ [1] * \(intMin) }}|{{ '' * \(intMax) }}|{{ [] * \(intMax) }}", "|[]||[]"),
        ("{{ 'abc'.count('', \(intMin), \(intMax)) }}", "4"),
        ("{{ 'a b c'.split(none, \(intMax)) }}", "['a', 'b', 'c']"),
        ("{{ loop_max }}{% for i in range(3) %}{{ loop.cycle(1, 2) }}{% endfor %}", "121"),
    ])
    func extremeArgumentsRenderLikeJinja(_ source: String, _ expected: String) throws {
        #expect(try Template(source).render([:]) == expected, "\(source)")
    }
}

@Suite struct HostileNestingTests {
    /// Each would recurse once per level in the parser, the evaluator, or when the tree is freed.
    @Test(arguments: [
        String(repeating: "(", count: 5000) + "1" + String(repeating: ")", count: 5000),
        String(repeating: "[", count: 5000) + "1" + String(repeating: "]", count: 5000),
        String(repeating: "{'a': ", count: 5000) + "1" + String(repeating: "}", count: 5000),
        String(repeating: "-", count: 5000) + "1",
        String(repeating: "not ", count: 5000) + "1",
        "1" + String(repeating: " + 1", count: 5000),
        "x" + String(repeating: " | string", count: 5000),
        "x" + String(repeating: ".a", count: 5000),
        "x" + String(repeating: "()", count: 5000),
        "1" + String(repeating: " if x else 1", count: 5000),
        "f(" + String(repeating: "f(", count: 5000) + String(repeating: ")", count: 5001),
    ])
    func deepExpressionsAreSyntaxErrors(_ expression: String) {
        let e = failure("{{ \(expression) }}")
        #expect(e?.kind == .syntax)
        #expect(e?.message.contains("too deeply nested") == true)
    }

    @Test func deepStatementsAreSyntaxErrors() {
        let ifs = String(repeating: "{% if true %}", count: 5000) + "x" + String(repeating: "{% endif %}", count: 5000)
        let fors = "{% for " + String(repeating: "(", count: 5000) + "a" + String(repeating: ")", count: 5000) + " in x %}{% endfor %}"
        for source in [ifs, fors] {
            #expect(failure(source)?.kind == .syntax)
        }
        // Well within the limit still parses.
        let fifty = String(repeating: "{% if true %}", count: 50) + "x" + String(repeating: "{% endif %}", count: 50)
        #expect(failure(fifty) == nil)
        #expect(failure("{{ " + String(repeating: "(", count: 60) + "1" + String(repeating: ")", count: 60) + " }}") == nil)
    }

    @Test(arguments: [
        "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
        "{% macro f(n) %}{{ f(n + 1) if n >= 0 }}{% endmacro %}{{ f(0) }}",
        "{% macro f() %}{% call f() %}x{% endcall %}{% endmacro %}{{ f() }}",
        "{% macro f() %}{{ caller() }}{% endmacro %}{% macro g() %}{% call f() %}{{ g() }}{% endcall %}{% endmacro %}{{ g() }}",
        "{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}",
        // Deep expressions at every level of a recursion: the evaluator's stack guard.
        "{% macro f() %}{{ " + String(repeating: "[", count: 150) + "f()" + String(repeating: "]", count: 150) + " }}{% endmacro %}{{ f() }}",
    ])
    func runawayRecursionHitsTheLimit(_ source: String) {
        let e = failure(source)
        #expect(e?.kind == .limit)
        #expect(e?.message.contains("RecursionError") == true)
    }

    @Test func aNamespaceHoldingItselfPrintsLikePython() throws {
        #expect(try render("{% set ns = namespace() %}{% set ns.x = ns %}{{ ns }}") == "<Namespace {'x': <Namespace {...}>}>")
        #expect(try render("{% set ns = namespace() %}{% set ns.x = [ns, {'n': ns}] %}{{ ns.x | length }}") == "2")
    }

    /// Values wrapped in themselves level after level, by every means a template has.
    @Test(arguments: [
        "{% set ns = namespace(x=[]) %}{% for i in range(100000) %}{% set ns.x = [ns.x] %}{% endfor %}",
        "{% set ns = namespace(x=[]) %}{% for i in range(100000) %}{% set ns.x = {'k': ns.x} %}{% endfor %}",
        "{% set ns = namespace(x=[]) %}{% for i in range(100000) %}{% set ns.x = (ns.x, 1) %}{% endfor %}",
        "{% set ns = namespace(x=[1]) %}{% for i in range(100000) %}{% set ns.x = ns.x | batch(1) | list %}{% endfor %}",
        "{% set ns = namespace(x=1) %}{% for i in range(100000) %}{% set ns.x = {'k': ns.x} | items | list %}{% endfor %}",
        "{% set ns = namespace(x=1) %}{% for i in range(100000) %}{% set ns.x = {'k': ns.x}.items() %}{% endfor %}",
        "{% set ns = namespace(x=1) %}{% for i in range(100000) %}{% set ns.x = cycler(ns.x) %}{% endfor %}",
        "{% set ns = namespace(x=1) %}{% for i in range(100000) %}{% set ns.x = joiner(ns.x) %}{% endfor %}",
        "{% set ns = namespace(x=1) %}{% for i in range(100000) %}{% set ns.x = [ns.x].copy %}{% endfor %}",
        "{% set ns = namespace(x=1) %}{% for i in range(100000) %}{% set ns.x = namespace(p=ns.x) %}{% endfor %}",
        "{% set ns = namespace(x=1) %}{% for i in range(100000) %}{% set ns.x = dict(p=ns.x) %}{% endfor %}",
        "{% set ns = namespace(x=1) %}{% for i in range(100000) %}{% for j in [ns.x] %}{% set ns.x = loop %}{% endfor %}{% endfor %}",
        "{% set x = 1 %}" + String(repeating: "{% set x = [x] %}", count: 2000),
    ])
    func selfWrappingValuesHitTheNestingLimit(_ source: String) {
        let e = failure(source)
        #expect(e?.kind == .limit)
        #expect(e?.message.contains("nesting") == true)
    }

    @Test func deepInputValuesAreRefusedOrCut() throws {
        // The JSON parser caps nesting at 512 levels.
        let deepJSON = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: TemplateError.self) { try Value(json: deepJSON) }
        // Values built in Swift can be deeper: printing them stops at the cap instead of recursing on.
        var v: Value = 1
        for _ in 0..<2000 { v = .list([v]) }
        #expect(v.pyRepr.hasSuffix("..."))
        #expect(failure("{{ v }}", .default, ["v": v])?.kind == .limit)
        #expect(failure("{{ v | tojson }}", .default, ["v": v]) != nil)
        #expect(failure("{{ v | string }}", .default, ["v": v])?.kind == .limit)
    }
}

@Suite struct HostileWorkTests {
    @Test func aHugeRepeatFailsBeforeAllocating() {
        let start = ContinuousClock.now
        let e = failure("{{ 'a' * 10000000000 }}")
        #expect(e?.kind == .limit)
        #expect(e?.message == "rendering exceeded the value size limit of 16777216 bytes")
        #expect(ContinuousClock.now - start < .seconds(1))
    }

    /// Each grows a value or the output without bound; the limits stop them early.
    @Test(arguments: [
        "{% set ns = namespace(s='ab') %}{% for i in range(100000) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
        "{% set ns = namespace(s='ab') %}{% for i in range(100000) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
        "{% set ns = namespace(l=[1]) %}{% for i in range(100000) %}{% set ns.l = ns.l + ns.l %}{% endfor %}",
        "{% set ns = namespace(l=[1]) %}{% for i in range(100000) %}{% set ns.l = ns.l * 2 %}{% endfor %}",
        "{% set ns = namespace(s='ab') %}{% for i in range(100000) %}{% set ns.s = ns.s.replace('a', 'aa') %}{% endfor %}",
        "{{ ('x' * 100000).replace('', 'yyyyyyyyyyyyyyyy') }}",
        "{{ ('x' * 100000) | replace('', 'yyyyyyyyyyyyyyyy') }}",
        "{{ (['a' * 100000] * 100) | join }}",
        "{{ '-'.join(['a' * 100000] * 100) }}",
        "{{ ['a' * 100000] * 100 }}",
        "{{ (['a' * 100000] * 100) | tojson }}",
        "{{ (['a' * 100000] * 100) | string }}",
        "{{ 'x' ~ (['a' * 100000] * 100) }}",
        "{{ '%s' % ((['a' * 100000] * 100),) }}",
        "{{ '{}'.format(['a' * 100000] * 100) }}",
        "{{ ('a' * 100000) | format() ~ ('%s%s%s%s%s%s%s%s%s%s%s' % (('a' * 100000,) * 11)) }}",
        "{{ ('a\\n' * 100000) | indent(100) }}",
        "{{ {'k': ['a' * 1000] * 2000} | tojson(indent=4) }}",
        "{% for c in 'a' * 200000 %}{% endfor %}",
        "{{ ('a ' * 200000).split() | length }}",
        "{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}",
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}x{% endmacro %}{{ f(60) }}",
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "{% for i in range(100000) %}{% for j in range(100000) %}{% set x = 'a' * 100000 %}{% endfor %}{% endfor %}",
    ])
    func runawayGrowthHitsALimit(_ source: String) {
        let start = ContinuousClock.now
        let e = failure(source, tight)
        #expect(e?.kind == .limit, "\(source)")
        #expect(ContinuousClock.now - start < .seconds(10))
    }

    @Test func theOutputLimitAppliesUnderDefaults() {
        let e = failure("{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}")
        #expect(e?.message == "rendering exceeded the output limit of 33554432 bytes")
    }

    @Test func aPastDeadlineStopsRendering() {
        var limits = RenderLimits.default
        limits.deadline = .now - .seconds(1)
        let start = ContinuousClock.now
        let e = failure("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", limits)
        #expect(e?.kind == .limit)
        #expect(e?.message.hasPrefix("rendering exceeded its time limit") == true)
        #expect(ContinuousClock.now - start < .seconds(1))
    }

    @Test func aDeadlineReachedMidwayStopsRendering() {
        var limits = RenderLimits.default
        limits.deadline = .now + .milliseconds(50)
        let start = ContinuousClock.now
        let e = failure("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", limits)
        #expect(e?.kind == .limit)
        #expect(ContinuousClock.now - start < .seconds(5))
    }

    @Test func cancellationStopsRendering() {
        var limits = RenderLimits.default
        limits.isCancelled = { true }
        let e = failure("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", limits)
        #expect(e?.kind == .limit)
        #expect(e?.message == "rendering was cancelled")
    }

    @Test func theStepLimitNamesItself() {
        let e = failure("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
                        RenderLimits(maxSteps: 10_000))
        #expect(e?.message == "rendering exceeded the step limit of 10000")
        #expect(e?.description.hasPrefix("TemplateLimitError: ") == true)
    }

    @Test func chatTemplatesTakeLimits() throws {
        let t = try ChatTemplate("{% for m in messages %}{{ m.content * 1000 }}{% endfor %}")
        let messages = try Value(json: #"[{"role": "user", "content": "hello"}]"#)
        #expect(try t.apply(messages: messages).count == 5000)
        #expect(throws: TemplateError.self) { try t.apply(messages: messages, limits: RenderLimits(maxValueBytes: 100)) }
    }

    @Test func defaultsAreGenerous() {
        let d = RenderLimits.default
        #expect(d.maxOutputBytes == 32 << 20 && d.maxValueBytes == 16 << 20 && d.maxListLength == 1_000_000)
        #expect(d.maxSteps == 50_000_000 && d.maxRecursionDepth == 200 && d.deadline == nil && d.isCancelled == nil)
    }
}

@Suite struct RandomHostileTemplateTests {
    /// Random expressions over extreme integers, operators, filters and methods: each must
    /// render or throw a `TemplateError`. A trap kills the test process, so finishing is the test.
    @Test func randomExpressionsNeverTrap() {
        var rng = SeededGenerator(seed: 0xBAD_5EED)
        func pick<T>(_ xs: [T]) -> T { xs[Int(rng.next() % UInt64(xs.count))] }
        let ints = [intMin, intMax, "4611686018427387904", "-1", "0", "1", "2", "3", "-4611686018427387904", "100000"]
        let atoms = ints + ["'ab'", "''", "'%d'", "'%s|%r'", "'{}'", "'{:>9}'", "'{0[0]}'", "[1, 'a']", "[]", "{'k': 2}",
                            "none", "true", "1.5", "-0.0", "1e308", "x", "ns", "ns.v"]
        let binary = ["+", "-", "*", "/", "//", "%", "**", "~", "==", "<", "in"]
        func int() -> String { pick(ints) }
        func expr(_ depth: Int) -> String {
            if depth == 0 { return pick(atoms) }
            let a = expr(depth - 1)
            switch rng.next() % 16 {
            case 0, 1, 2: return "(\(a) \(pick(binary)) \(expr(depth - 1)))"
            case 3: return "(-\(a))"
            case 4: return "(\(a) | \(pick(["abs", "int", "float", "string", "tojson", "first", "last", "list", "length", "reverse", "sort", "unique", "sum", "items", "trim", "upper", "title", "wordcount"])))"
            case 5: return "(\(a) | \(pick(["round", "truncate", "center", "indent", "batch", "int", "default", "join", "format"]))(\(int())))"
            case 6: return "(\(a) | replace(\(expr(depth - 1)), \(expr(depth - 1)), \(int())))"
            case 7: return "(\(a)).\(pick(["zfill", "ljust", "rjust", "center", "split", "rsplit", "count", "find", "startswith", "format", "join", "index"]))(\(int()))"
            case 8: return "(\(a))[\(int()):\(int()):\(pick(ints + ["none"]))]"
            case 9: return "(\(a))[\(int())]"
            case 10: return "range(\(int()), \(int()), \(int()))"
            case 11: return "(\(a) is divisibleby(\(int())))"
            case 12: return "(\(a) | round(\(int()), '\(pick(["ceil", "floor", "common"]))'))"
            case 13: return "((\(a)) % (\(int()), \(int())))"
            case 14: return "[\(a), \(expr(depth - 1))]"
            default: return "(\(a) if \(expr(depth - 1)) else \(expr(depth - 1)))"
            }
        }
        let limits = RenderLimits(maxOutputBytes: 1 << 16, maxValueBytes: 1 << 16, maxListLength: 10_000,
                                  maxSteps: 100_000, maxRecursionDepth: 50)
        var rendered = 0, failed = 0
        for i in 0..<3000 {
            let e = expr(1 + i % 3)
            let source = "{% set ns = namespace(v=\(int())) %}{% set ns.v = \(e) %}{{ ns.v }}{{ \(expr(1)) }}"
            do {
                _ = try Template(source).render(["x": .int(Int.min)], limits: limits)
                rendered += 1
            } catch {
                #expect(!error.description.isEmpty)
                failed += 1
            }
        }
        #expect(rendered > 100 && failed > 100)
    }
}

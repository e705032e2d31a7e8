import Testing
@testable import VLLMJinja

@Suite struct ExpressionTests {
    @Test func literalsPrintLikePython() throws {
        #expect(try render("{{ [1, 'a', none, true, 2.5] }}") == "[1, 'a', None, True, 2.5]")
        #expect(try render("{{ {'a': 1, 'b': {'c': none}} }}") == "{'a': 1, 'b': {'c': None}}")
        #expect(try render("{{ \"it's\" }}|{{ [\"it's\", 'q\"'] }}") == "it's|[\"it's\", 'q\"']")
        #expect(try render("{{ ['\\n', '\\u00a0', '\\x07', 'é'] }}") == "['\\n', '\\xa0', '\\x07', 'é']")
    }

    @Test(arguments: [
        ("{{ 1.5 }}", "1.5"), ("{{ 1e20 }}", "1e+20"), ("{{ 1e16 }}", "1e+16"), ("{{ 1e15 }}", "1000000000000000.0"),
        ("{{ 0.0001 }}", "0.0001"), ("{{ 0.00001 }}", "1e-05"), ("{{ 0.1 + 0.2 }}", "0.30000000000000004"),
        ("{{ 10 / 4 }}", "2.5"), ("{{ 10 / 5 }}", "2.0"), ("{{ 10 // 4 }}", "2"), ("{{ -7 // 2 }}", "-4"), ("{{ -7 % 3 }}", "2"),
        ("{{ 2 ** 10 }}", "1024"), ("{{ 2 ** -1 }}", "0.5"), ("{{ 2 ** 3 ** 2 }}", "64"), ("{{ -2 ** 2 }}", "4"),
        ("{{ 1 + 2 * 3 - 4 / 2 }}", "5.0"), ("{{ true + 1 }}", "2"), ("{{ -0.0 }}", "-0.0"),
    ])
    func arithmeticAndNumberFormatting(_ t: String, _ expected: String) throws {
        #expect(try render(t) == expected)
    }

    @Test func stringOperators() throws {
        #expect(try render("{{ 'x' ~ 1 ~ none ~ true }}") == "x1NoneTrue")
        #expect(try render("{{ 'a' 'b' }}{{ 'ab' * 2 }}{{ [1] + [2] }}") == "ababab[1, 2]")
        #expect(try render("{{ '%s-%d-%.2f-%5s|%-3s|%x' % ('a', 3.7, 2.345, 'r', 'l', 255) }}") == "a-3-2.35-    r|l  |ff")
        #expect(try render("{{ '%(a)s%%' % {'a': 1} }}") == "1%")
    }

    @Test func comparisonsAndLogic() throws {
        #expect(try render("{{ 1 == 1.0 }}{{ 1 == true }}{{ 'a' < 'b' }}{{ [1, 2] < [1, 3] }}{{ 1 < 2 < 3 }}{{ 3 > 2 > 2 }}") == "TrueTrueTrueTrueTrueFalse")
        #expect(try render("{{ none or 'x' }}|{{ 0 and 1 }}|{{ not 1 == 2 }}") == "x|0|True")
        #expect(try render("{{ 'y' if 1 else 'n' }}{{ 'y' if 0 else 'n' }}[{{ 'y' if 0 }}]") == "yn[]")
    }

    @Test func membership() throws {
        #expect(try render("{{ 'a' in 'cat' }}{{ 2 in [1, 2] }}{{ 'k' in {'k': 1} }}{{ 'z' not in 'cat' }}{{ 'a' in x }}") == "TrueTrueTrueTrueFalse")
        #expect(renderError("{{ 1 in 'abc' }}")?.message.contains("requires string as left operand") == true)
    }

    @Test(arguments: [
        ("{{ [1, 2, 3, 4, 5][1:3] }}", "[2, 3]"), ("{{ [1, 2, 3, 4, 5][::-1] }}", "[5, 4, 3, 2, 1]"),
        ("{{ [1, 2, 3, 4, 5][::2] }}", "[1, 3, 5]"), ("{{ [1, 2, 3, 4, 5][-2:] }}", "[4, 5]"), ("{{ [1, 2, 3][5:] }}", "[]"),
        ("{{ [1, 2, 3][4:1:-1] }}", "[3]"), ("{{ 'hello'[::-1] }}", "olleh"), ("{{ 'abcdef'[-2::-2] }}", "eca"),
        ("{{ 'héllo👍'[4:] }}", "o👍"), ("{{ 'hello'[-1] }}", "o"), ("{{ [1, 2][-1] }}", "2"),
    ])
    func slicingAndIndexing(_ t: String, _ expected: String) throws {
        #expect(try render(t) == expected)
    }

    @Test func attributeAndItemAccess() throws {
        let ctx: [String: Value] = ["m": ["role": "user", "items": "key wins for []"]]
        #expect(try render("{{ m.role }}{{ m['role'] }}{{ m.missing }}|{{ m['items'] }}|{{ m.items() | list | length }}", ctx)
                == "useruser|key wins for []|2")
        #expect(try render("{{ [[1, 2]].0.1 }}") == "2")
    }

    @Test func unicodeLengthsCountCodePoints() throws {
        #expect(try render("{{ 'e\\u0301' | length }}{{ '👍🏽' | length }}{{ 'e\\u0301' == 'é' }}") == "22False")
    }
}

import Testing
import VLLMTestSupport
@testable import VLLMStructuredOutput

/// Whole texts through each constraint form: what must match, what must not, and the errors.
func matcher(_ spec: StructuredOutputSpec, anyWhitespace: Bool = true) throws -> GrammarMatcher {
    let g = try GrammarCompiler.compile(spec, anyWhitespace: anyWhitespace)
    return GrammarMatcher(g, tokenizer: TokenizerInfo(tokenBytes: [], vocabSize: 1, stopTokenIDs: [0]))
}

func matches(_ spec: StructuredOutputSpec, _ text: String, anyWhitespace: Bool = true) throws -> Bool {
    let m = try matcher(spec, anyWhitespace: anyWhitespace)
    return m.acceptString(text) && m.isCompleted
}

func isPrefix(_ spec: StructuredOutputSpec, _ text: String) throws -> Bool {
    try matcher(spec).acceptString(text)
}

func compileError(_ spec: StructuredOutputSpec) -> String? {
    do { _ = try GrammarCompiler.compile(spec); return nil } catch { return error.message }
}

@Suite struct RegexTests {
    @Test func wholeOutputMatches() throws {
        let phone = StructuredOutputSpec.regex(#"\d{3}-\d{4}"#)
        #expect(try matches(phone, "555-1234"))
        #expect(try !matches(phone, "5551234"))
        #expect(try !matches(phone, "555-123"))
        #expect(try isPrefix(phone, "555-12"))
        #expect(try !isPrefix(phone, "555-12345"))
        let alt = StructuredOutputSpec.regex("^(ab|c)+d?$")
        for s in ["ab", "cabd", "ccc", "abd"] { #expect(try matches(alt, s), "\(s)") }
        for s in ["", "a", "abdd", "d"] { #expect(try !matches(alt, s), "\(s)") }
        #expect(try matches(.regex("[^a-c]x"), "éx"))
        #expect(try !matches(.regex("[^a-c]x"), "bx"))
        #expect(try matches(.regex("a.b"), "a\nb"))
        #expect(try matches(.regex(#"[\w.]+@\w+\.(com|org)"#), "j.doe@example.org"))
        #expect(try matches(.regex("x{2,}y{,2}z{1}"), "xxxyyz"))
        #expect(try !matches(.regex("x{2,}y{,2}z{1}"), "xyz"))
        #expect(try matches(.regex("a{b"), "a{b"))
        #expect(try matches(.regex(#"(?:a|b)(?P<n>c)(?<m>\u00e9)\x41"#), "acéA"))
        #expect(try matches(.regex("[]a]+"), "]a]"))
        #expect(try matches(.regex(#"\s\S"#), "\u{a0}x"))
    }

    @Test func unsupportedAndMalformedRegexesAreErrors() {
        for (pattern, words) in [("(a", "unterminated"), ("a)", "unbalanced"), ("a**", "multiple repeat"),
                                 ("(?=a)b", "lookahead"), ("(?<!a)b", "lookbehind"), (#"(a)\1"#, "backreferences"),
                                 ("[z-a]", "bad character range"), ("a{3,2}", "min repeat"), ("*a", "nothing to repeat"),
                                 (#"\bword"#, "word boundaries"), ("(?i)a", "inline flags"), ("[abc", "unterminated"),
                                 (#"\q"#, "bad escape")] {
            let e = compileError(.regex(pattern))
            #expect(e?.contains(words) == true, "\(pattern): \(e ?? "compiled")")
        }
    }
}

@Suite struct ChoiceAndGrammarTests {
    @Test func choice() throws {
        let c = StructuredOutputSpec.choice(["yes", "no", "not sure", "日本"])
        for s in ["yes", "no", "not sure", "日本"] { #expect(try matches(c, s)) }
        #expect(try isPrefix(c, "not"))
        #expect(try !matches(c, "not"))
        #expect(try !isPrefix(c, "maybe"))
        #expect(compileError(.choice([])) == "Choice '[]' cannot be an empty list")
    }

    @Test func ebnf() throws {
        let arithmetic = StructuredOutputSpec.grammar("""
            # comment
            root ::= expr
            expr ::= term ("+" term)*
            term ::= [0-9]+ | "(" expr ")"
                   | "-" term
            """)
        for s in ["1", "1+(2+33)", "-(4)+5"] { #expect(try matches(arithmetic, s), "\(s)") }
        #expect(try isPrefix(arithmetic, "1+("))
        #expect(try !matches(arithmetic, "1+"))
        #expect(try !isPrefix(arithmetic, "1++"))
        let escapes = StructuredOutputSpec.grammar(#"root ::= "a\n\t\"\x41\u00e9" [\]\\-] . "end" r2{2,3}"# + "\nr2 ::= \"z\"")
        #expect(try matches(escapes, "a\n\t\"Aé\\Xendzz"))
        #expect(try matches(escapes, "a\n\t\"Aé-\u{1F600}endzzz"))
        #expect(try !matches(escapes, "a\n\t\"Aé-Xendz"))
        let dotted = StructuredOutputSpec.grammar("root ::= a.b\na.b ::= \"x\"")
        #expect(try matches(dotted, "x"))
    }

    @Test func lark() throws {
        let g = StructuredOutputSpec.grammar("""
            start: greeting " " NAME [punct]
            ?greeting: "hello" | 'hi'
                | "hey"
            NAME: /[a-z]+/
            punct: "!" // a comment
            """)
        for s in ["hello bob", "hi al!", "hey x"] { #expect(try matches(g, s), "\(s)") }
        #expect(try !matches(g, "hello Bob"))
        #expect(try !matches(g, "hellobob"))
    }

    @Test func grammarErrorsNameTheProblem() {
        let cases: [(String, String)] = [
            ("expr ::= \"a\"", "no rule named 'root'"),
            ("root ::= a b\na ::= \"x\"", "rule 'b' is used (line 1) but not defined"),
            ("root ::= root \"a\" | \"a\"", "left-recursive"),
            ("root ::= \"abc", "unterminated string literal"),
            ("root ::= [a-", "unterminated character class"),
            ("root ::= (\"a\"", "expected ')'"),
            ("root ::= \"a\"\nroot ::= \"b\"", "defined more than once"),
            ("root ::= \"a\" (= \"b\")", "lookahead"),
            ("root ::= \"x\" root", "matches no string"),
            ("root ::= \"a\"{3,1}", "maximum below its minimum"),
            ("   ", "empty"),
            ("%import common.WS\nstart: \"a\"", "directives"),
            ("start: \"a\" b", "rule 'b' is used"),
        ]
        for (text, words) in cases {
            let e = compileError(.grammar(text))
            #expect(e?.contains(words) == true, "\(text): \(e ?? "compiled")")
        }
    }

    @Test func hugeRepetitionsAreRefusedNotExpanded() {
        let e = compileError(.grammar("root ::= ([a-z] [0-9]{10000}){10000}"))
        #expect(e?.contains("too large") == true, "\(e ?? "compiled")")
    }
}

@Suite struct JSONSchemaTests {
    static let person = StructuredOutputSpec.jsonSchema("""
        {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"},
         "tags": {"type": "array", "items": {"type": "string"}}}, "required": ["name"]}
        """)

    @Test func objectsFollowPropertyOrderAndRequirements() throws {
        for s in [#"{"name": "a"}"#, #"{"name":"a","age":3}"#, "{\n\t\"name\" : \"a\" ,\"tags\":[ \"x\",\"y\" ]}",
                  #"{"name":"a","age":-12,"tags":[]}"#] {
            #expect(try matches(Self.person, s), "\(s)")
        }
        for s in [#" {"name":"a"}"#, #"{"name":"a"} "#, #"{"age":3}"#, #"{"age":3,"name":"a"}"#, #"{"name":"a","x":1}"#,
                  #"{"name":"a","age":03}"#, #"{"name":"a","age":1.5}"#, #"{"name":"a",}"#, #"{}"#] {
            #expect(try !matches(Self.person, s), "\(s)")
        }
        #expect(try matches(Self.person, #"{"name": "a", "age": 3}"#, anyWhitespace: false))
        #expect(try !matches(Self.person, #"{"name":"a"}"#, anyWhitespace: false))
        #expect(try !matches(Self.person, #"{"name": "a",  "age": 3}"#, anyWhitespace: false))
    }

    @Test func additionalPropertiesAndFreeObjects() throws {
        let extra = StructuredOutputSpec.jsonSchema(#"{"properties": {"a": {"type": "integer"}}, "additionalProperties": {"type": "boolean"}}"#)
        #expect(try matches(extra, #"{"a":1,"b":true,"c":false}"#))
        #expect(try matches(extra, #"{"b":true}"#))
        #expect(try !matches(extra, #"{"a":1,"b":1}"#))
        let free = StructuredOutputSpec.jsonSchema(#"{"type": "object"}"#)
        #expect(try matches(free, #"{"x": [1, {"y": null}], "z": "\u00e9"}"#))
        #expect(try matches(.jsonObject, "{ }"))
        #expect(try matches(.jsonObject, #"{"k":[true,false,null,-0.5e+3,"s\n"]}"#))
        #expect(try !matches(.jsonObject, "[]"))
        #expect(try !matches(.jsonObject, #"{"a":01}"#))
    }

    @Test func valuesAndCombinators() throws {
        let e = StructuredOutputSpec.jsonSchema(#"{"enum": ["a", 1, null, {"k": [1.0, true]}]}"#)
        for s in [#""a""#, "1", "null", #"{"k":[1,true]}"#] { #expect(try matches(e, s), "\(s)") }
        #expect(try !matches(e, #""b""#))
        let c = StructuredOutputSpec.jsonSchema(#"{"const": "x/y"}"#)
        #expect(try matches(c, #""x/y""#))
        let any = StructuredOutputSpec.jsonSchema(#"{"anyOf": [{"type": "string"}, {"type": "null"}, {"type": "integer", "minimum": 5}]}"#)
        for s in [#""s""#, "null", "7"] { #expect(try matches(any, s)) }
        #expect(try !matches(any, "4"))
        let types = StructuredOutputSpec.jsonSchema(#"{"type": ["boolean", "number"]}"#)
        for s in ["true", "-1.25e-3", "0"] { #expect(try matches(types, s)) }
        let all = StructuredOutputSpec.jsonSchema("""
            {"allOf": [{"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]},
                       {"properties": {"b": {"type": "string"}}, "required": ["b"]}]}
            """)
        #expect(try matches(all, #"{"a":1,"b":"x"}"#))
        #expect(try !matches(all, #"{"a":1}"#))
        let tree = StructuredOutputSpec.jsonSchema("""
            {"$defs": {"node": {"type": "object", "properties": {"v": {"type": "integer"},
             "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}}, "required": ["v"]}},
             "$ref": "#/$defs/node"}
            """)
        #expect(try matches(tree, #"{"v":1,"children":[{"v":2,"children":[{"v":3}]},{"v":4}]}"#))
        #expect(try !matches(tree, #"{"v":1,"children":[{"children":[]}]}"#))
    }

    @Test func arrays() throws {
        let bounded = StructuredOutputSpec.jsonSchema(#"{"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 3}"#)
        for s in ["[1]", "[1, 2]", "[1,2,3]"] { #expect(try matches(bounded, s)) }
        for s in ["[]", "[1,2,3,4]", "[1,]"] { #expect(try !matches(bounded, s)) }
        let tuple = StructuredOutputSpec.jsonSchema(#"{"type": "array", "prefixItems": [{"type": "string"}, {"type": "boolean"}], "items": false}"#)
        for s in ["[]", #"["a"]"#, #"["a",true]"#] { #expect(try matches(tuple, s)) }
        for s in [#"[true]"#, #"["a",true,1]"#] { #expect(try !matches(tuple, s)) }
    }

    @Test func stringsEscapesLengthsPatternsAndFormats() throws {
        let s = StructuredOutputSpec.jsonSchema(#"{"type": "string"}"#)
        #expect(try matches(s, #""a\"b\\ \u00e9\n é""#))
        #expect(try !matches(s, "\"a\u{1}\""))
        #expect(try !matches(s, #""\x""#))
        let len = StructuredOutputSpec.jsonSchema(#"{"type": "string", "minLength": 2, "maxLength": 3}"#)
        for t in [#""ab""#, #""日本語""#] { #expect(try matches(len, t)) }
        for t in [#""a""#, #""abcd""#] { #expect(try !matches(len, t)) }
        let quote = StructuredOutputSpec.jsonSchema(#"{"type": "string", "pattern": "^a\"b\\d$"}"#)
        #expect(try matches(quote, #""a\"b1""#))
        #expect(try !matches(quote, #""a"b1""#))
        let formats: [(String, [String], [String])] = [
            ("date", ["2024-02-29", "2023-12-31", "2000-02-29", "0001-01-01", "0400-02-29"],
             ["2023-02-29", "1900-02-29", "2024-04-31", "2024-13-01", "0000-01-01", "0000-02-29"]),
            ("time", ["23:59:60Z", "08:30:00.5+02:00"], ["24:00:00Z", "08:30:00"]),
            ("date-time", ["2024-01-02T03:04:05Z"], ["2024-01-02 03:04:05Z"]),
            ("uuid", ["123e4567-e89b-12d3-a456-426614174000"], ["123e4567e89b12d3a456426614174000"]),
            ("ipv4", ["192.168.0.255", "0.0.0.0"], ["256.1.1.1", "1.2.3", "01.2.3.4"]),
            ("email", ["a.b+c@example.co.uk"], ["a@b", "@x.com", "a..b@x.com"]),
        ]
        for (format, good, bad) in formats {
            let spec = StructuredOutputSpec.jsonSchema(#"{"type": "string", "format": "\#(format)"}"#)
            for g in good { #expect(try matches(spec, "\"\(g)\""), "\(format) \(g)") }
            for b in bad { #expect(try !matches(spec, "\"\(b)\""), "\(format) \(b)") }
        }
    }

    @Test func integerBoundsAreExact() throws {
        var rng = SeededGenerator(seed: 99)
        for _ in 0..<40 {
            var schema = #"{"type": "integer""#
            var lo = Int.min, hi = Int.max
            if Bool.random(using: &rng) {
                let v = Int.random(in: -1100...1100, using: &rng)
                if Bool.random(using: &rng) { schema += #", "minimum": \#(v)"#; lo = v } else { schema += #", "exclusiveMinimum": \#(v)"#; lo = v + 1 }
            }
            if Bool.random(using: &rng) || lo == Int.min {
                let v = Int.random(in: -1100...1100, using: &rng)
                if Bool.random(using: &rng) { schema += #", "maximum": \#(v)"#; hi = v } else { schema += #", "exclusiveMaximum": \#(v)"#; hi = v - 1 }
            }
            schema += "}"
            guard lo <= hi else {
                #expect(compileError(.jsonSchema(schema))?.contains("empty") == true, "\(schema)")
                continue
            }
            let m = try matcher(.jsonSchema(schema))
            for n in stride(from: -1300, through: 1300, by: 7) + [lo, hi, lo &- 1, hi &+ 1].filter({ $0 > -5000 && $0 < 5000 }) {
                let ok = m.acceptString(String(n)) && m.isCompleted
                if m.acceptedTokenCount > 0 { m.rollback(1) }
                #expect(ok == (lo...hi).contains(n), "\(schema) \(n)")
            }
            #expect(!m.acceptString("-0") || !m.isCompleted)
            m.reset()
            #expect(!m.acceptString("007"))
        }
    }

    @Test func schemaErrorsNameThePlace() {
        let cases: [(String, String)] = [
            ("{", "not valid JSON"),
            (#"{"type": "strin"}"#, "at #: unknown type 'strin'"),
            (#"{"properties": {"a": false}}"#, "at #/properties/a: the schema 'false' allows no value"),
            (#"{"$ref": "http://x/y.json"}"#, "only references into the same schema"),
            (##"{"$ref": "#/$defs/missing"}"##, "does not point into the schema"),
            (#"{"type": "array", "minItems": 3, "maxItems": 2}"#, "length range is empty"),
            (#"{"type": "string", "pattern": "(a"}"#, "pattern: invalid regex"),
            (#"{"enum": []}"#, "enum must be a non-empty array"),
            (#"{"type": "integer", "minimum": 5, "maximum": 4}"#, "range is empty"),
        ]
        for (schema, words) in cases {
            let e = compileError(.jsonSchema(schema))
            #expect(e?.contains(words) == true, "\(schema): \(e ?? "compiled")")
        }
    }
}

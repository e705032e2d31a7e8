import Testing
import VLLMTestSupport
@testable import VLLMToolParsers

/// Outputs no one wrote by hand: the realistic cases with characters deleted, duplicated or
/// replaced, and strings glued together from the formats' own pieces. Whatever they are, the
/// parsers must not trap, must keep all text when no call is found, and must stream to the
/// non-streamed result at every cut.
@Suite struct FuzzTests {
    static let pieces = [
        "<tool_call>", "</tool_call>", "<|python_tag|>", "[TOOL_CALLS]", "[ARGS]", "{", "}", "[", "]", "(", ")",
        "\"name\"", "\"arguments\"", "\"parameters\"", ": ", ":", ", ", ",", ";", "=", "\"", "'", "\\", "\\u00e9",
        "\\ud83d", "\\ude00", "\\n", "f", "get_weather", "x", "1", "-2.5e3", "0", "true", "None", "True", "null",
        " ", "\n", "é", "🌤", "天", "\u{1}", "text ",
    ]

    static func mutate(_ s: String, _ rng: inout SeededGenerator) -> String {
        var scalars = Array(s.unicodeScalars)
        for _ in 0..<Int.random(in: 1...3, using: &rng) where !scalars.isEmpty {
            let i = Int.random(in: 0..<scalars.count, using: &rng)
            switch Int.random(in: 0..<3, using: &rng) {
            case 0: scalars.remove(at: i)
            case 1: scalars.insert(scalars[i], at: i)
            default: scalars[i] = ["{", "}", "\"", ",", "[", "]", ")", "x", " "].randomElement(using: &rng)!
            }
        }
        return String(String.UnicodeScalarView(scalars))
    }

    static func glued(_ rng: inout SeededGenerator) -> String {
        (0..<Int.random(in: 1...24, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()
    }

    static let parsers: [(ToolParser, [Case])] = [
        (.hermes, hermesCases), (.llama3JSON, llamaCases), (.mistral, mistralCases), (.pythonic, pythonicCases),
        (.granite, graniteCases),
    ]

    @Test(arguments: 0..<5)
    func mutatedCases(_ which: Int) {
        let (parser, cases) = FuzzTests.parsers[which]
        var rng = SeededGenerator(seed: UInt64(100 + which))
        for c in cases {
            for _ in 0..<4 {
                let output = FuzzTests.mutate(c.output, &rng)
                checkStreamingMatches(parser, output, seed: rng.next())
                checkEveryPrefix(parser, output)
            }
        }
    }

    @Test(arguments: 0..<5)
    func gluedPieces(_ which: Int) {
        let (parser, _) = FuzzTests.parsers[which]
        var rng = SeededGenerator(seed: UInt64(200 + which))
        for _ in 0..<150 {
            let output = FuzzTests.glued(&rng)
            checkStreamingMatches(parser, output, seed: rng.next())
            checkEveryPrefix(parser, output)
        }
    }
}

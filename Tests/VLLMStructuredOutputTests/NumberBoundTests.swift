import Testing
import VLLMTestSupport
@testable import VLLMStructuredOutput

/// `minimum`/`maximum`/`exclusive*` on numbers, whole and fractional, against exact decimal
/// comparison: every text the grammar takes is in range, every in-range text is taken.
struct NumberBoundTests {
    /// A decimal text with at most 8 places as an integer count of 1e-8 (so -0 and 0.50 compare right).
    static func scaled(_ text: String) -> Int {
        let negative = text.hasPrefix("-")
        let body = negative ? String(text.dropFirst()) : text
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        let fraction = parts.count > 1 ? String(parts[1]) : ""
        let v = Int(parts[0])! * 100_000_000 + Int((fraction + String(repeating: "0", count: 8 - fraction.count)))!
        return negative ? -v : v
    }

    static func randomDecimal(_ rng: inout SeededGenerator, places: ClosedRange<Int>) -> String {
        var text = (Bool.random(using: &rng) ? "-" : "") + String(Int.random(in: 0...30, using: &rng))
        let n = Int.random(in: places, using: &rng)
        if n > 0 {
            var digits = (0..<n).map { _ in Int.random(in: 0...9, using: &rng) }
            if digits.last == 0 { digits[n - 1] = Int.random(in: 1...9, using: &rng) }
            text += "." + digits.map(String.init).joined()
        }
        return text
    }

    /// Texts near a bound: its own digits with a digit changed, digits appended or cut.
    static func neighbour(of bound: String, _ rng: inout SeededGenerator) -> String {
        var text = bound
        if !text.contains(".") { text += "." }
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: text += String(repeating: "0", count: Int.random(in: 1...2, using: &rng))
        case 1: text += String(Int.random(in: 1...9, using: &rng))
        case 2:
            var chars = Array(text)
            if let i = chars.indices.filter({ chars[$0].isNumber }).randomElement(using: &rng) {
                chars[i] = Character(String(Int.random(in: 0...9, using: &rng)))
            }
            text = String(chars)
        default: if text.count > 2 { text.removeLast() }
        }
        if text.hasSuffix(".") { text.removeLast() }
        if text.isEmpty || text == "-" { text += "0" }
        let whole = text.drop { $0 == "-" }.prefix { $0 != "." }
        return whole.count > 1 && whole.hasPrefix("0") ? bound : text
    }

    @Test func boundsWithAndWithoutFractionsAreExact() throws {
        var rng = SeededGenerator(seed: 17)
        let keys: [(String, (Int, Int) -> Bool)] = [("minimum", { $0 >= $1 }), ("exclusiveMinimum", { $0 > $1 }),
                                                     ("maximum", { $0 <= $1 }), ("exclusiveMaximum", { $0 < $1 })]
        var nonEmpty = 0
        for round in 0..<120 {
            var schema = #"{"type": "number""#
            var bounds: [(String, (Int, Int) -> Bool)] = []
            for (key, test) in keys where Int.random(in: 0..<3, using: &rng) == 0 {
                // Every third schema has whole-number bounds only.
                let b = Self.randomDecimal(&rng, places: round % 3 == 0 ? 0...0 : 0...4)
                schema += #", "\#(key)": \#(b)"#
                bounds.append((b, test))
            }
            schema += "}"
            var texts = (0..<120).map { _ in Self.randomDecimal(&rng, places: 0...5) }
            for (b, _) in bounds { texts += (0..<60).map { _ in Self.neighbour(of: b, &rng) } + [b] }
            let expected = { (t: String) in bounds.allSatisfy { $0.1(Self.scaled(t), Self.scaled($0.0)) } }
            guard let m = try? matcher(.jsonSchema(schema)) else {
                #expect(compileError(.jsonSchema(schema))?.contains("empty") == true, "\(schema)")
                #expect(!texts.contains(where: expected), "\(schema) refused but has members")
                continue
            }
            nonEmpty += 1
            for text in texts {
                let ok = m.acceptString(text) && m.isCompleted
                if m.acceptedTokenCount > 0 { m.rollback(1) }
                #expect(ok == expected(text), "\(schema) \(text)")
            }
            m.reset()
            if !bounds.isEmpty { #expect(!m.acceptString("1e5"), "bounded numbers are written without an exponent") }
        }
        #expect(nonEmpty > 80)
    }

    @Test func boundsWrittenWithExponentsAndEdges() throws {
        let cases: [(String, [String], [String])] = [
            (#""minimum": 1e-5"#, ["0.00001", "0.000010", "0.0001", "3"], ["0.000009", "0", "-0.00001"]),
            (#""exclusiveMaximum": 1.5e16"#, ["14999999999999999.99", "-1"], ["15000000000000000", "15000000000000000.1"]),
            (#""minimum": 0.5, "maximum": 0.5"#, ["0.5", "0.50"], ["0.51", "0.49", "1"]),
            (#""minimum": 0, "exclusiveMaximum": 0.001"#, ["0", "-0", "-0.000", "0.0009"], ["0.001", "-0.1", "0.0010"]),
            (#""exclusiveMinimum": -0.25, "maximum": -0.125"#, ["-0.2", "-0.125", "-0.24999"], ["-0.25", "-0.12", "0"]),
        ]
        for (bounds, good, bad) in cases {
            let spec = StructuredOutputSpec.jsonSchema(#"{"type": "number", \#(bounds)}"#)
            for t in good { #expect(try matches(spec, t), "\(bounds) \(t)") }
            for t in bad { #expect(try !matches(spec, t), "\(bounds) \(t)") }
        }
        #expect(compileError(.jsonSchema(#"{"type": "number", "exclusiveMinimum": 0.5, "exclusiveMaximum": 0.5}"#))?.contains("empty") == true)
        #expect(compileError(.jsonSchema(#"{"type": "number", "minimum": 1e-30}"#))?.contains("decimal places") == true)
        #expect(compileError(.jsonSchema(#"{"type": "number", "maximum": 1e20}"#))?.contains("1e17") == true)
    }
}

import Synchronization

/// What a `Split` pre-tokenizer or a `Replace` normalizer / decoder searches for: a literal
/// string or a regex (`{"String": …}` / `{"Regex": …}` in tokenizer.json).
///
/// Hugging Face runs these regexes with Oniguruma. The regexes real models ship (GPT-2,
/// Llama 3, Qwen 2, the digit splits) map to the hand-written matchers of `PreTokenizer`,
/// which are fast and checked against the reference tokenizers. Any other regex runs on Swift's
/// `Regex` over Unicode scalars with line anchors as in Oniguruma's Ruby syntax; the few
/// constructs whose meaning differs between the two engines are refused by name.
enum TextPattern: Sendable {
    case literal([Unicode.Scalar])
    case stage(PreTokenizer.Stage)
    case regex(SwiftRegex)
    /// One character (the `Metaspace` split).
    case scalar(Unicode.Scalar)

    /// Regexes with a hand-written matcher, by their exact source text.
    static let knownRegexes: [String: PreTokenizer.Stage] = [
        #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#: .gpt2,
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#:
            .llama3(maxDigits: 3),
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#:
            .llama3(maxDigits: 1),
        #"\p{N}"#: .eachNumber,
        #"\p{N}+"#: .numberRuns,
        #"[0-9][0-9][0-9]"#: .asciiDigitTriples,
        #"[\p{P}\$\+<=>\^~\|]+"#: .punctuationRuns,
    ]

    /// Parses `{"String": s}` or `{"Regex": r}`.
    init(json node: JSONNode) throws(TokenizerError) {
        let m = try node.members()
        guard m.count == 1 else { throw node.fail("expected {\"String\": …} or {\"Regex\": …}") }
        let text = try m[0].node.string()
        guard !text.isEmpty else { throw m[0].node.unsupported("an empty pattern matches everywhere") }
        switch m[0].key {
        case "String":
            self = .literal(Array(text.unicodeScalars))
        case "Regex":
            if let stage = Self.knownRegexes[text] {
                self = .stage(stage)
            } else {
                self = .regex(try SwiftRegex(text, at: m[0].node))
            }
        default:
            throw node.fail("expected {\"String\": …} or {\"Regex\": …}, found key '\(m[0].key)'")
        }
    }

    /// Whether `findMatches` reads the character classes (otherwise pass an empty array).
    var needsClasses: Bool {
        switch self {
        case .stage: true
        case .literal, .regex, .scalar: false
        }
    }

    /// Hugging Face's `find_matches`: the matches in `r` and the gaps between them, in order and
    /// covering `r`, each flagged whether it is a match. Matches never overlap; an empty `r`
    /// gives nothing.
    func findMatches(_ s: [Unicode.Scalar], _ cls: [CharClass], _ r: Range<Int>,
                     into out: inout [(Range<Int>, Bool)]) {
        switch self {
        case let .stage(stage):
            Matcher(s: s, cls: cls).findMatches(r, stage, into: &out)
        case let .scalar(c):
            findEach(s, r, into: &out) { u, _ in u == c }
        case let .literal(p):
            var gap = r.lowerBound
            var i = r.lowerBound
            while i + p.count <= r.upperBound {
                if s[i] == p[0], s[i..<(i + p.count)].elementsEqual(p) {
                    if gap < i { out.append((gap..<i, false)) }
                    out.append((i..<(i + p.count), true))
                    i += p.count
                    gap = i
                } else {
                    i += 1
                }
            }
            if gap < r.upperBound { out.append((gap..<r.upperBound, false)) }
        case let .regex(re):
            re.findMatches(s, r, into: &out)
        }
    }

    /// Character-predicate matching: every matching character is its own match.
    private func findEach(_ s: [Unicode.Scalar], _ r: Range<Int>, into out: inout [(Range<Int>, Bool)],
                          _ pred: (Unicode.Scalar, Int) -> Bool) {
        var gap = r.lowerBound
        for k in r where pred(s[k], k) {
            if gap < k { out.append((gap..<k, false)) }
            out.append((k..<(k + 1), true))
            gap = k + 1
        }
        if gap < r.upperBound { out.append((gap..<r.upperBound, false)) }
    }
}

/// A regex without a hand-written matcher, run by Swift's `Regex`. Its compiled program is
/// shared and not documented as thread-safe, so matching holds a lock: this is the slow path.
final class SwiftRegex: Sendable {
    let source: String
    private let regex: Mutex<Regex<AnyRegexOutput>>

    /// Constructs where Oniguruma (Ruby syntax, as Hugging Face builds it) and Swift disagree.
    private static let refused: [(String, String)] = [
        (#"\h"#, #"\h is a hex digit in Oniguruma but horizontal space in Swift"#),
        (#"\H"#, #"\H is a non-hex-digit in Oniguruma but non-horizontal-space in Swift"#),
        (#"(?m"#, #"(?m) makes '.' match newlines in Oniguruma but changes anchors in Swift"#),
    ]

    init(_ source: String, at node: JSONNode) throws(TokenizerError) {
        self.source = source
        guard source.utf8.count <= 4096 else { throw node.unsupported("regex longer than 4096 bytes") }
        for (needle, why) in Self.refused where source.contains(needle) {
            throw node.unsupported("regex \(Self.quote(source)): \(why)")
        }
        let re: Regex<AnyRegexOutput>
        do {
            re = try Regex(source).matchingSemantics(.unicodeScalar).anchorsMatchLineEndings(true)
        } catch {
            throw node.unsupported("regex \(Self.quote(source)) does not compile in Swift: \(error)")
        }
        regex = Mutex(re)
    }

    static func quote(_ s: String) -> String { "'" + (s.count > 120 ? String(s.prefix(120)) + "…" : s) + "'" }

    /// Matches over `s[r]`. Empty matches are dropped: Oniguruma and Swift differ on where an
    /// empty match may follow another, and an empty match only ever makes an empty split,
    /// which Hugging Face discards.
    func findMatches(_ s: [Unicode.Scalar], _ r: Range<Int>, into out: inout [(Range<Int>, Bool)]) {
        guard !r.isEmpty else { return }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: s[r])
        let text = String(view)
        let scalars = text.unicodeScalars
        regex.withLock { re in
            var gap = r.lowerBound
            // Offsets of String.Index values, found by walking forward from the last one.
            var lastIndex = scalars.startIndex
            var lastOffset = r.lowerBound
            func offset(_ idx: String.Index) -> Int {
                lastOffset += scalars.distance(from: lastIndex, to: idx)
                lastIndex = idx
                return lastOffset
            }
            for m in text.matches(of: re) where !m.range.isEmpty {
                let lo = offset(m.range.lowerBound)
                let hi = offset(m.range.upperBound)
                if gap < lo { out.append((gap..<lo, false)) }
                out.append((lo..<hi, true))
                gap = hi
            }
            if gap < r.upperBound { out.append((gap..<r.upperBound, false)) }
        }
    }
}

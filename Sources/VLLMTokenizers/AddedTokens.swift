/// One entry of tokenizer.json's `added_tokens`.
struct HFAddedToken: Sendable {
    var id: Int
    var content: String
    /// Control token: skipped by `skipSpecialTokens`, matched only when parsing special tokens.
    var special: Bool
    var singleWord: Bool
    /// Swallow the whitespace before / after the token when it is found in text.
    var lstrip: Bool
    var rstrip: Bool
    /// Matched against normalized text (by its normalized form) rather than the raw input.
    var normalized: Bool
}

/// Cuts added tokens out of text as Hugging Face's `AddedVocabulary::find_matches` does: an
/// Aho-Corasick leftmost-longest scan over all the set's patterns, then per match the
/// special-token, `single_word`, `lstrip` and `rstrip` rules. A discarded match is still
/// consumed by the scan, so a pattern overlapping it is not found either.
struct AddedTokenSplitter: Sendable {
    private struct Entry: Sendable {
        let scalars: [Unicode.Scalar]
        let token: HFAddedToken
    }

    /// Candidates by first character, longest first.
    private let byFirst: [Unicode.Scalar: [Entry]]

    var isEmpty: Bool { byFirst.isEmpty }

    /// - Parameter patterns: each token with the text to look for (its content, or for
    ///   normalized tokens its normalized content).
    init(_ patterns: [(pattern: String, token: HFAddedToken)]) {
        var byFirst: [Unicode.Scalar: [Entry]] = [:]
        var seen = Set<String>()
        for (p, t) in patterns where !p.isEmpty {
            // Two tokens with one pattern: Aho-Corasick reports the first added.
            guard seen.insert(p).inserted else { continue }
            let u = Array(p.unicodeScalars)
            byFirst[u[0], default: []].append(Entry(scalars: u, token: t))
        }
        for k in byFirst.keys { byFirst[k]!.sort { $0.scalars.count > $1.scalars.count } }
        self.byFirst = byFirst
    }

    /// The fragments of `s[r]` in order; text fragments are never empty.
    func split(_ s: [Unicode.Scalar], _ r: Range<Int>, parseSpecial: Bool, into out: inout [Fragment]) {
        guard !byFirst.isEmpty else {
            if !r.isEmpty { out.append(.text(r)) }
            return
        }
        var startOffset = r.lowerBound
        var i = r.lowerBound
        scan: while i < r.upperBound {
            guard let candidates = byFirst[s[i]] else { i += 1; continue }
            for e in candidates {
                let end = i + e.scalars.count
                guard end <= r.upperBound, s[i..<end].elementsEqual(e.scalars) else { continue }
                i = end
                let t = e.token
                var start = end - e.scalars.count
                var stop = end
                if t.special, !parseSpecial { continue scan }
                if t.singleWord {
                    let startSpace = start == r.lowerBound || !Self.isWordCharacter(s[start - 1])
                    let stopSpace = stop == r.upperBound || !Self.isWordCharacter(s[stop])
                    if !startSpace || !stopSpace { continue scan }
                }
                if t.lstrip {
                    var newStart = start
                    while newStart > r.lowerBound, s[newStart - 1].properties.isWhitespace { newStart -= 1 }
                    start = max(newStart, startOffset)
                }
                if t.rstrip {
                    while stop < r.upperBound, s[stop].properties.isWhitespace { stop += 1 }
                }
                if startOffset < start { out.append(.text(startOffset..<start)) }
                out.append(.token(t.id))
                startOffset = stop
                continue scan
            }
            i += 1
        }
        if startOffset < r.upperBound { out.append(.text(startOffset..<r.upperBound)) }
    }

    /// Rust regex's Unicode `\w`: Alphabetic, marks, decimal digits, connector punctuation and
    /// Join_Control.
    static func isWordCharacter(_ c: Unicode.Scalar) -> Bool {
        if c.value < 128 {
            return ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || c == "_"
        }
        let p = c.properties
        if p.isAlphabetic || p.isJoinControl { return true }
        switch p.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
        default: return false
        }
    }
}

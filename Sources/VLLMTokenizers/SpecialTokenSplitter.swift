/// One stretch of input: plain text for the model's tokenizer, or an already-recognised token.
enum Fragment: Equatable {
    case text(Range<Int>)
    case token(Int)
}

/// Cuts the strings of special and added tokens out of text before normal tokenization, as
/// Hugging Face tokenizers and vLLM do: scanning left to right, at each position the longest
/// token string that starts there wins.
///
/// Which tokens take part follows llama.cpp's `tokenizer_st_partition`: user-defined (added)
/// tokens are always matched; control and unknown tokens only when special parsing is on.
struct SpecialTokenSplitter: Sendable {
    private struct Entry: Sendable {
        let scalars: [Unicode.Scalar]
        let id: Int
        let onlyWhenParsingSpecial: Bool
    }

    /// Candidates by first scalar, longest first.
    private let byFirst: [Unicode.Scalar: [Entry]]

    init(tokens: [String], types: [TokenType]) {
        var byFirst: [Unicode.Scalar: [Entry]] = [:]
        var seen = Set<String>()
        for (id, t) in tokens.enumerated() where !t.isEmpty {
            let always: Bool
            switch types[id] {
            case .userDefined: always = true
            case .control, .unknown: always = false
            default: continue
            }
            // Two ids with one string: the first (lowest) id wins, deterministically.
            guard seen.insert(t).inserted else { continue }
            let u = Array(t.unicodeScalars)
            byFirst[u[0], default: []].append(Entry(scalars: u, id: id, onlyWhenParsingSpecial: !always))
        }
        for k in byFirst.keys { byFirst[k]!.sort { $0.scalars.count > $1.scalars.count } }
        self.byFirst = byFirst
    }

    /// The fragments of `s`, in order; text fragments are never empty.
    func split(_ s: [Unicode.Scalar], parseSpecial: Bool) -> [Fragment] {
        var out: [Fragment] = []
        var textStart = 0
        var i = 0
        scan: while i < s.count {
            if let candidates = byFirst[s[i]] {
                for e in candidates where parseSpecial || !e.onlyWhenParsingSpecial {
                    let end = i + e.scalars.count
                    guard end <= s.count, s[i..<end].elementsEqual(e.scalars) else { continue }
                    if textStart < i { out.append(.text(textStart..<i)) }
                    out.append(.token(e.id))
                    i = end
                    textStart = end
                    continue scan
                }
            }
            i += 1
        }
        if textStart < s.count { out.append(.text(textStart..<s.count)) }
        return out
    }
}

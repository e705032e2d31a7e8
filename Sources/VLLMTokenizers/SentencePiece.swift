/// SentencePiece-style BPE (`tokenizer.ggml.model == "llama"`): symbols start as single
/// characters and the adjacent pair whose concatenation is the highest-scoring vocabulary piece
/// is merged until no pair is a piece. Characters left over that are not pieces fall back to
/// their UTF-8 bytes as `<0xXX>` tokens (or the unknown token when the model has none).
struct SentencePiece: Sendable {
    /// The escape SentencePiece writes for a space (U+2581 LOWER ONE EIGHTH BLOCK).
    static let spaceMarker: Unicode.Scalar = "\u{2581}"

    /// Pieces normal text may be merged into (control, unknown and byte tokens excluded, as in
    /// sentencepiece: `<s>` is never produced by merging '<', 's', '>').
    private let pieceIDs: [String: Int]
    private let scores: [Float]
    /// `<0xXX>` token id per byte; -1 when absent.
    private let byteTokens: [Int32]
    private let unknownID: Int?

    init(tokens: [String], types: [TokenType], scores: [Float], unknownID: Int?) {
        var pieceIDs: [String: Int] = [:]
        var byteTokens = [Int32](repeating: -1, count: 256)
        for (id, t) in tokens.enumerated() {
            switch types[id] {
            case .normal, .userDefined, .undefined:
                if pieceIDs[t] == nil { pieceIDs[t] = id }
            case .byte:
                if let b = Self.byteValue(t) { byteTokens[Int(b)] = Int32(id) }
            default:
                break
            }
        }
        self.pieceIDs = pieceIDs
        self.scores = scores
        self.byteTokens = byteTokens
        self.unknownID = unknownID
    }

    /// The byte a `<0xXX>` token stands for.
    static func byteValue(_ token: String) -> UInt8? {
        let u = Array(token.utf8)
        guard u.count == 6, u[0] == UInt8(ascii: "<"), u[1] == UInt8(ascii: "0"),
              u[2] == UInt8(ascii: "x"), u[5] == UInt8(ascii: ">") else { return nil }
        return UInt8(String(decoding: u[3...4], as: UTF8.self), radix: 16)
    }

    /// Maps a float so that unsigned integer order equals float order (for heap keys).
    @inline(__always) private static func orderable(_ f: Float) -> UInt32 {
        let b = f.bitPattern
        return b & 0x8000_0000 != 0 ? ~b : b | 0x8000_0000
    }

    /// Appends the ids of `s`, text whose spaces are already escaped as `▁`.
    func encode(_ s: [Unicode.Scalar], into out: inout [Int]) {
        let n = s.count
        guard n > 0 else { return }
        // Symbol i spans s[start[i] ..< start[i] + len[i]]; symbols form a linked list.
        var len = [Int](repeating: 1, count: n)
        var next = (0..<n).map { $0 + 1 < n ? $0 + 1 : -1 }
        var prev = (0..<n).map { $0 - 1 }
        func text(_ a: Int, _ b: Int) -> String {
            var v = String.UnicodeScalarView()
            v.append(contentsOf: s[a..<b])
            return String(v)
        }
        // Heap key: highest score first, then leftmost; both packed into one ascending integer.
        var heap = MinHeap(capacity: n)
        func tryPush(_ left: Int) {
            let right = next[left]
            guard left >= 0, right >= 0, let id = pieceIDs[text(left, right + len[right])] else { return }
            heap.push(UInt64(~Self.orderable(scores[id])) << 32 | UInt64(left))
        }
        for i in 0..<(n - 1) { tryPush(i) }
        while let top = heap.pop() {
            let left = Int(top & 0xFFFF_FFFF)
            let score = ~UInt32(top >> 32)
            // Stale entries: the left symbol died, or the pair there is no longer this piece.
            // A live entry with an equal key is the same merge at the same place, so it is safe.
            guard len[left] > 0, case let right = next[left], right >= 0,
                  let id = pieceIDs[text(left, right + len[right])], Self.orderable(scores[id]) == score
            else { continue }
            len[left] += len[right]
            len[right] = 0
            next[left] = next[right]
            if next[right] >= 0 { prev[next[right]] = left }
            if prev[left] >= 0 { tryPush(prev[left]) }
            tryPush(left)
        }
        var i = 0
        while i >= 0 {
            let piece = text(i, i + len[i])
            if let id = pieceIDs[piece] {
                out.append(id)
            } else {
                for b in piece.utf8 {
                    if byteTokens[Int(b)] >= 0 {
                        out.append(Int(byteTokens[Int(b)]))
                    } else if let unk = unknownID {
                        out.append(unk)
                        break // one unknown token per character, not per byte
                    }
                }
            }
            i = next[i]
        }
    }
}

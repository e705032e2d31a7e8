/// Turns a stream of generated token ids into text as they arrive, never emitting a broken
/// character: byte-level tokens can end in the middle of a multi-byte UTF-8 sequence (emoji and
/// CJK are often split over two or three tokens), so trailing bytes that could still be completed
/// are held back until the next token arrives or `finish()` is called.
///
/// The concatenation of everything `feed` and `finish` return equals `Tokenizer.decode` of the
/// same ids with the same options. (One exception, for tokenizer.json byte-fallback decoders
/// only: where `<0xXX>` tokens form invalid UTF-8, `decode` writes one U+FFFD per byte as Hugging
/// Face does, the stream one per invalid sequence.)
public struct IncrementalDetokenizer: Sendable {
    public let tokenizer: Tokenizer
    public let skipSpecialTokens: Bool
    private var pending: [UInt8] = []
    private var position: Tokenizer.DecodePosition

    /// - Parameters:
    ///   - skipSpecialTokens: as in `Tokenizer.decode`.
    ///   - atSequenceStart: the first token fed begins the text, so SentencePiece's space prefix is
    ///     stripped from it as `decode` does (and tokenizer.json decoders treat it as the first
    ///     token). Pass false when continuing after other tokens (e.g. decoding only the
    ///     completion of a prompt), to keep the space between words.
    public init(tokenizer: Tokenizer, skipSpecialTokens: Bool = true, atSequenceStart: Bool = true) {
        self.tokenizer = tokenizer
        self.skipSpecialTokens = skipSpecialTokens
        position = tokenizer.startPosition(atSequenceStart: atSequenceStart)
    }

    /// Adds one token; returns the text it completes (possibly empty).
    public mutating func feed(_ id: Int) -> String {
        guard let p = tokenizer.decodedPiece(id, skipSpecialTokens: skipSpecialTokens, position: &position) else {
            return ""
        }
        pending.append(contentsOf: p)
        let cut = Self.completePrefixLength(pending)
        guard cut > 0 else { return "" }
        let text = String(decoding: pending[..<cut], as: UTF8.self)
        pending.removeFirst(cut)
        return text
    }

    /// Flushes held-back bytes (which can then only be an incomplete sequence: U+FFFD).
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return pending.isEmpty ? "" : String(decoding: pending, as: UTF8.self)
    }

    /// Length of the longest prefix that ends at a character boundary: everything except a
    /// trailing lead byte plus fewer continuation bytes than it announces. Cutting just before a
    /// lead byte never changes how the bytes before it decode (a lead byte cannot continue an
    /// earlier sequence), so decoding the pieces separately equals decoding the whole.
    static func completePrefixLength(_ b: [UInt8]) -> Int {
        let n = b.count
        // A UTF-8 sequence is at most 4 bytes: look back at most 3 for its lead byte.
        var i = n - 1
        while i >= 0, i >= n - 4 {
            let x = b[i]
            if x & 0xC0 != 0x80 { // not a continuation byte
                let need: Int
                switch x {
                case 0xC2...0xDF: need = 2
                case 0xE0...0xEF: need = 3
                case 0xF0...0xF4: need = 4
                default: need = 1 // ASCII or a byte that can never start a sequence
                }
                return n - i < need ? i : n
            }
            i -= 1
        }
        return n
    }
}

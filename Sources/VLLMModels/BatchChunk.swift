/// A slice of a forward batch small enough for the activation buffers: consecutive pieces of
/// the inputs' token lists, in order. A long prefill may span chunks; causality holds because
/// an earlier chunk has written its keys and values before a later one attends to them.
struct BatchChunk {
    struct Piece {
        let input: Int
        let range: Range<Int>
        /// The piece ends its input's tokens (its last row gives the input's logits).
        let isLast: Bool
        var count: Int { range.count }
    }

    struct Token {
        let input: Int
        let position: Int
    }

    var pieces: [Piece] = []
    var tokenCount: Int { pieces.reduce(0) { $0 + $1.count } }

    /// Each row of the chunk as (input, absolute position), in row order.
    func tokens(_ inputs: [SequenceInput]) -> [Token] {
        pieces.flatMap { p in p.range.map { Token(input: p.input, position: inputs[p.input].firstPosition + $0) } }
    }

    static func split(_ inputs: [SequenceInput], maxTokens: Int) -> [BatchChunk] {
        var chunks: [BatchChunk] = [], current = BatchChunk(), room = maxTokens
        for (index, s) in inputs.enumerated() {
            var start = 0
            while start < s.tokens.count {
                let n = min(room, s.tokens.count - start)
                current.pieces.append(Piece(input: index, range: start..<start + n, isLast: start + n == s.tokens.count))
                start += n
                room -= n
                if room == 0 {
                    chunks.append(current)
                    current = BatchChunk()
                    room = maxTokens
                }
            }
        }
        if !current.pieces.isEmpty { chunks.append(current) }
        return chunks
    }
}

import Synchronization

/// Byte-level BPE (`tokenizer.ggml.model == "gpt2"`): a piece's UTF-8 bytes start as one symbol
/// each and the adjacent pair with the lowest merge rank is merged until no ranked pair is left.
final class ByteLevelBPE: Sendable {
    /// Token id of each byte's one-character spelling; -1 when the vocabulary lacks it.
    private let byteTokens: [Int32]
    private let merges: BPEMerges
    private let ignoreMerges: Bool
    private let tokenIDs: [String: Int]
    private let unknownID: Int?
    /// Text repeats words constantly; caching short words skips most merge loops.
    private let cache = Mutex<[[UInt8]: [Int32]]>([:])
    private static let cacheLimit = 65_536
    private static let cachedWordMaxBytes = 128

    /// - Parameters:
    ///   - mergeStrings: `tokenizer.ggml.merges`, best first: "left right" in byte-level spelling.
    init(tokenIDs: [String: Int], mergeStrings: [String], ignoreMerges: Bool,
         unknownID: Int?) throws(TokenizerError) {
        self.tokenIDs = tokenIDs
        self.ignoreMerges = ignoreMerges
        self.unknownID = unknownID
        byteTokens = ByteLevel.byteToScalar.map { s in
            tokenIDs[String(Character(s))].map(Int32.init) ?? -1
        }
        var pairs: [(left: Int32, right: Int32, result: Int32)] = []
        pairs.reserveCapacity(mergeStrings.count)
        for (rank, m) in mergeStrings.enumerated() {
            // The separator is the first space after the first character (a part never
            // contains a raw space in byte-level spelling, but llama.cpp allows a leading one).
            guard let sep = m.unicodeScalars.dropFirst().firstIndex(of: " ") else {
                throw .invalidMetadata(key: "tokenizer.ggml.merges", reason: "entry \(rank) '\(m)' is not 'left right'")
            }
            let left = String(m.unicodeScalars[..<sep])
            let right = String(m.unicodeScalars[m.unicodeScalars.index(after: sep)...])
            // Merges whose parts or result are not tokens can never fire; llama.cpp and HF
            // skip them too.
            guard let l = tokenIDs[left], let r = tokenIDs[right], let res = tokenIDs[left + right] else { continue }
            pairs.append((Int32(l), Int32(r), Int32(res)))
        }
        merges = BPEMerges(pairs, lastWins: false)
    }

    /// Appends the token ids of one pre-tokenized piece, given as UTF-8 bytes.
    func encode(word: [UInt8], into out: inout [Int]) {
        if word.isEmpty { return }
        let cacheable = word.count <= Self.cachedWordMaxBytes
        if cacheable, let hit = cache.withLock({ $0[word] }) {
            for id in hit { out.append(Int(id)) }
            return
        }
        let ids = encodeUncached(word)
        for id in ids { out.append(Int(id)) }
        if cacheable {
            cache.withLock { c in
                if c.count >= Self.cacheLimit { c.removeAll(keepingCapacity: true) }
                c[word] = ids
            }
        }
    }

    private func encodeUncached(_ word: [UInt8]) -> [Int32] {
        if ignoreMerges, let id = tokenIDs[ByteLevel.spell(word)] { return [Int32(id)] }
        var ids = word.map { byteTokens[Int($0)] }
        merges.mergeAll(&ids)
        var out: [Int32] = []
        out.reserveCapacity(ids.count)
        for id in ids {
            if id >= 0 {
                out.append(id)
            } else if let unk = unknownID {
                // Only a vocabulary missing some byte's character gets here.
                out.append(Int32(unk))
            }
        }
        return out
    }
}

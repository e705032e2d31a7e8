import Synchronization

/// Byte-level BPE (`tokenizer.ggml.model == "gpt2"`): a piece's UTF-8 bytes start as one symbol
/// each and the adjacent pair with the lowest merge rank is merged until no ranked pair is left.
final class ByteLevelBPE: Sendable {
    private struct Merge { var rank: UInt32; var result: Int32 }

    /// Token id of each byte's one-character spelling; -1 when the vocabulary lacks it.
    private let byteTokens: [Int32]
    /// (left id, right id) packed as `left << 32 | right` → rank and merged id.
    private let merges: [UInt64: Merge]
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
        var merges: [UInt64: Merge] = [:]
        merges.reserveCapacity(mergeStrings.count)
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
            let key = UInt64(l) << 32 | UInt64(r)
            if merges[key] == nil { merges[key] = Merge(rank: UInt32(rank), result: Int32(res)) }
        }
        self.merges = merges
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
        mergeAll(&ids)
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

    @inline(__always) private func merge(_ l: Int32, _ r: Int32) -> Merge? {
        guard l >= 0, r >= 0 else { return nil }
        return merges[UInt64(UInt32(l)) << 32 | UInt64(UInt32(r))]
    }

    /// Merges `ids` in place and compacts it to the surviving symbols. Symbols form a linked list
    /// and candidate pairs sit in a heap keyed by (rank, left position), so a word of n bytes
    /// costs O(n log n) rather than the naive O(n²) rescans. A heap entry is stale when its left
    /// symbol changed or died; since a rank identifies exactly one pair, re-looking-up the pair
    /// and comparing ranks detects that.
    private func mergeAll(_ ids: inout [Int32]) {
        let n = ids.count
        guard n >= 2 else { return }
        var next = [Int32](unsafeUninitializedCapacity: n) { buf, count in
            for i in 0..<n { buf[i] = i + 1 < n ? Int32(i + 1) : -1 }
            count = n
        }
        var prev = [Int32](unsafeUninitializedCapacity: n) { buf, count in
            for i in 0..<n { buf[i] = Int32(i - 1) }
            count = n
        }
        var alive = [Bool](repeating: true, count: n)
        var heap = MinHeap(capacity: n)
        @inline(__always) func key(_ rank: UInt32, _ pos: Int) -> UInt64 { UInt64(rank) << 32 | UInt64(pos) }
        for i in 0..<(n - 1) {
            if let m = merge(ids[i], ids[i + 1]) { heap.push(key(m.rank, i)) }
        }
        while let top = heap.pop() {
            let rank = UInt32(top >> 32), pos = Int(top & 0xFFFF_FFFF)
            guard alive[pos] else { continue }
            let nx = Int(next[pos])
            guard nx >= 0, let m = merge(ids[pos], ids[nx]), m.rank == rank else { continue }
            ids[pos] = m.result
            alive[nx] = false
            let after = next[nx]
            next[pos] = after
            if after >= 0 { prev[Int(after)] = Int32(pos) }
            let pv = Int(prev[pos])
            if pv >= 0, let m = merge(ids[pv], ids[pos]) { heap.push(key(m.rank, pv)) }
            if after >= 0, let m = merge(ids[pos], ids[Int(after)]) { heap.push(key(m.rank, pos)) }
        }
        var w = 0
        for i in 0..<n where alive[i] {
            ids[w] = ids[i]
            w += 1
        }
        ids.removeLast(n - w)
    }
}

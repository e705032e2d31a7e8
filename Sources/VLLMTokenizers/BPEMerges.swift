/// The merge table of a BPE vocabulary and the merge loop both BPE front ends share: GGUF's
/// byte-level model and the `tokenizer.json` model. Pairs are keyed by token ids, so a word is
/// merged without building strings.
struct BPEMerges: Sendable {
    struct Merge: Sendable { var rank: UInt32; var result: Int32 }

    /// (left id, right id) packed as `left << 32 | right` → rank and merged id.
    private let table: [UInt64: Merge]

    /// - Parameters:
    ///   - pairs: (left, right, merged) ids, best first; the position is the rank.
    ///   - lastWins: a pair listed twice keeps its last rank (Hugging Face builds a hash map from
    ///     the list) rather than its first (llama.cpp).
    init(_ pairs: [(left: Int32, right: Int32, result: Int32)], lastWins: Bool) {
        var table: [UInt64: Merge] = [:]
        table.reserveCapacity(pairs.count)
        for (rank, p) in pairs.enumerated() {
            let key = Self.key(p.left, p.right)
            if lastWins || table[key] == nil { table[key] = Merge(rank: UInt32(rank), result: p.result) }
        }
        self.table = table
    }

    var count: Int { table.count }

    @inline(__always) private static func key(_ l: Int32, _ r: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: l)) << 32 | UInt64(UInt32(bitPattern: r))
    }

    /// The merge of `l` followed by `r`; negative ids (no token) never merge.
    @inline(__always) func merge(_ l: Int32, _ r: Int32) -> Merge? {
        guard l >= 0, r >= 0 else { return nil }
        return table[Self.key(l, r)]
    }

    /// Merges `ids` in place and compacts it to the surviving symbols. Symbols form a linked list
    /// and candidate pairs sit in a heap keyed by (rank, left position), so a word of n symbols
    /// costs O(n log n) rather than the naive O(n²) rescans. A heap entry is stale when its left
    /// symbol changed or died; a symbol only ever grows rightwards, so the pair now at that
    /// position has the entry's rank exactly when it is still the entry's pair.
    func mergeAll(_ ids: inout [Int32]) {
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

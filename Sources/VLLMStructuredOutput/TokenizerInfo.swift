import Synchronization

/// The vocabulary as a grammar sees it: the bytes each token id adds to the output, which ids
/// end it (EOS), and which can never be produced under a constraint (control tokens, ids the
/// tokenizer does not define). Ordinary tokens are kept sorted by their bytes so that a mask
/// walks shared prefixes once.
public struct TokenizerInfo: Sendable {
    /// Distinguishes vocabularies (copies share it): token tables are kept per vocabulary.
    public let identity: Int
    private static let made = Atomic<Int>(0)
    /// Ids `0..<vocabSize` get a bit in a mask: the model's logits count, which may exceed the
    /// tokenizer's.
    public let vocabSize: Int
    public let stopTokenIDs: [Int]
    /// Every token's bytes back to back: token i is `bytes[start[i]..<start[i + 1]]`.
    let bytes: [UInt8]
    let start: [Int32]
    /// Ordinary token ids in byte order, and each one's common prefix length with the one before.
    let sortedIDs: [Int32]
    let sharedPrefix: [Int32]
    /// A mask of every ordinary token.
    let textTokenWords: [UInt32]
    /// For each first byte, the index in `sortedIDs` past the tokens that start with it.
    let firstByteEnd: [Int32]
    private let kinds: [Kind]

    /// - Parameters:
    ///   - tokenBytes: the bytes of each id (`tokenBytes.count` ≤ `vocabSize`; missing ids are
    ///     never allowed).
    ///   - stopTokenIDs: ids allowed exactly when the output is complete.
    ///   - excludedTokenIDs: ids never allowed (control tokens), besides those with no bytes.
    public init(tokenBytes: [[UInt8]], vocabSize: Int, stopTokenIDs: [Int], excludedTokenIDs: Set<Int> = []) {
        identity = Self.made.add(1, ordering: .relaxed).newValue
        let size = max(vocabSize, tokenBytes.count)
        let stopIDs = stopTokenIDs.filter { $0 >= 0 && $0 < size }
        self.vocabSize = size
        self.stopTokenIDs = stopIDs
        var flat: [UInt8] = [], start: [Int32] = [0]
        for t in tokenBytes { flat += t; start.append(Int32(flat.count)) }
        bytes = flat
        self.start = start
        let stops = Set(stopTokenIDs)
        var ids = (0..<tokenBytes.count).filter { !tokenBytes[$0].isEmpty && !stops.contains($0) && !excludedTokenIDs.contains($0) }
        ids.sort { a, b in tokenBytes[a].lexicographicallyPrecedes(tokenBytes[b]) }
        var shared: [Int32] = []
        var prev: [UInt8] = []
        for id in ids {
            let t = tokenBytes[id]
            var k = 0
            while k < prev.count && k < t.count && prev[k] == t[k] { k += 1 }
            shared.append(Int32(k))
            prev = t
        }
        sortedIDs = ids.map { Int32($0) }
        sharedPrefix = shared
        var ends = [Int32](repeating: 0, count: 256)
        for (k, id) in ids.enumerated() { ends[Int(tokenBytes[id][0])] = Int32(k + 1) }
        firstByteEnd = ends
        var kinds = [Kind](repeating: .never, count: size)
        for id in ids { kinds[id] = .text }
        for id in stopIDs { kinds[id] = .stop }
        self.kinds = kinds
        var text = TokenBitmask(vocabSize: size)
        for id in ids { text.allow(id) }
        textTokenWords = text.words
    }

    /// The bytes of token `id` (empty outside the tokenizer's vocabulary).
    public func tokenBytes(_ id: Int) -> ArraySlice<UInt8> {
        guard id >= 0 && id + 1 < start.count else { return [] }
        return bytes[Int(start[id])..<Int(start[id + 1])]
    }

    enum Kind: UInt8 { case text, stop, never }

    /// What id `id` is to a grammar.
    func kind(_ id: Int) -> Kind { id >= 0 && id < kinds.count ? kinds[id] : .never }
}

/// One row of allowed tokens: bit `i % 32` of word `i / 32` is token i (xgrammar's layout).
public struct TokenBitmask: Sendable, Equatable {
    public var words: [UInt32]
    public let vocabSize: Int

    public init(vocabSize: Int, allowed: Bool = false) {
        self.vocabSize = vocabSize
        words = [UInt32](repeating: allowed ? ~0 : 0, count: (vocabSize + 31) / 32)
        if allowed && vocabSize % 32 != 0 { words[words.count - 1] = (1 << UInt32(vocabSize % 32)) - 1 }
    }

    @inline(__always)
    public func isAllowed(_ id: Int) -> Bool { words[id >> 5] & (1 << UInt32(id & 31)) != 0 }

    @inline(__always)
    public mutating func allow(_ id: Int) { words[id >> 5] |= 1 << UInt32(id & 31) }

    public var allowedCount: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }

    /// The allowed ids in increasing order.
    public var allowedIDs: [Int] { (0..<vocabSize).filter(isAllowed) }
}

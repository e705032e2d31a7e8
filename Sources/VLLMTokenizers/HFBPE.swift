import Synchronization

/// The `BPE` model of tokenizer.json, as Hugging Face's `BPE::merge_word` runs it: each
/// character of a piece starts as the token that spells it; a character with no token becomes
/// its `<0xXX>` byte tokens (`byte_fallback`), else the unknown token (consecutive ones fused
/// into one with `fuse_unk`), else nothing at all — so its neighbours become adjacent and may
/// merge. Then the ranked merges run as in every BPE.
///
/// Byte-level vocabularies get the same treatment with each UTF-8 byte's character as a
/// character, read straight from the bytes (see `PieceList.byteLevel`).
final class HFBPE: Sendable {
    private let vocab: [String: Int]
    /// Single-character tokens by scalar value.
    private let charIDs: [UInt32: Int32]
    /// The token of each byte's byte-level character; -1 when absent.
    private let byteLevelIDs: [Int32]
    /// `<0xXX>` tokens when `byte_fallback` is on; -1 when absent.
    private let byteFallbackIDs: [Int32]?
    private let unknownID: Int32?
    private let fuseUnknown: Bool
    private let ignoreMerges: Bool
    private let merges: BPEMerges
    private let cache = Mutex<[[UInt8]: [Int32]]>([:])
    private static let cacheLimit = 65_536
    private static let cachedWordMaxBytes = 128

    init(vocab: [String: Int], merges: BPEMerges, unknownID: Int?, fuseUnknown: Bool,
         byteFallback: Bool, ignoreMerges: Bool) {
        self.vocab = vocab
        self.merges = merges
        self.unknownID = unknownID.map(Int32.init)
        self.fuseUnknown = fuseUnknown
        self.ignoreMerges = ignoreMerges
        var charIDs: [UInt32: Int32] = [:]
        for (t, id) in vocab {
            var it = t.unicodeScalars.makeIterator()
            if let c = it.next(), it.next() == nil { charIDs[c.value] = Int32(id) }
        }
        self.charIDs = charIDs
        byteLevelIDs = ByteLevel.byteToScalar.map { charIDs[$0.value] ?? -1 }
        byteFallbackIDs = byteFallback ? (0..<256).map { b in
            vocab[Self.byteTokenName(UInt8(b))].map(Int32.init) ?? -1
        } : nil
    }

    /// Rust's `format!("<{b:#04X}>")`.
    static func byteTokenName(_ b: UInt8) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        return String(decoding: [UInt8(ascii: "<"), UInt8(ascii: "0"), UInt8(ascii: "x"),
                                 hex[Int(b >> 4)], hex[Int(b & 15)], UInt8(ascii: ">")], as: UTF8.self)
    }

    /// Appends the ids of one piece given as characters.
    func encode(_ s: ArraySlice<Unicode.Scalar>, into out: inout [Int]) {
        guard !s.isEmpty else { return }
        var key: [UInt8] = []
        key.reserveCapacity(s.count)
        for c in s { UTF8.encode(c) { key.append($0) } }
        cached(key, into: &out) {
            if ignoreMerges, let id = vocab[Self.string(s)] { return [Int32(id)] }
            return symbols(s.map { ($0, charIDs[$0.value] ?? -1) })
        }
    }

    /// Appends the ids of one piece given as UTF-8 bytes, each standing for its byte-level
    /// character.
    func encode(byteLevel bytes: [UInt8], into out: inout [Int]) {
        guard !bytes.isEmpty else { return }
        cached(bytes, into: &out) {
            if ignoreMerges, let id = vocab[ByteLevel.spell(bytes)] { return [Int32(id)] }
            var ids = bytes.map { byteLevelIDs[Int($0)] }
            if ids.contains(-1) {
                // A vocabulary lacking some byte character: the general path handles it.
                return symbols(bytes.map { ByteLevel.byteToScalar[Int($0)] }.map { ($0, charIDs[$0.value] ?? -1) })
            }
            merges.mergeAll(&ids)
            return ids
        }
    }

    private func cached(_ key: [UInt8], into out: inout [Int], _ compute: () -> [Int32]) {
        let cacheable = key.count <= Self.cachedWordMaxBytes
        if cacheable, let hit = cache.withLock({ $0[key] }) {
            for id in hit { out.append(Int(id)) }
            return
        }
        let ids = compute()
        for id in ids { out.append(Int(id)) }
        if cacheable {
            cache.withLock { c in
                if c.count >= Self.cacheLimit { c.removeAll(keepingCapacity: true) }
                c[key] = ids
            }
        }
    }

    private static func string(_ s: ArraySlice<Unicode.Scalar>) -> String {
        var v = String.UnicodeScalarView()
        v.append(contentsOf: s)
        return String(v)
    }

    /// `merge_word`: initial symbols (character tokens, byte fallback, unknown) then merges.
    /// The pending unknown token is only flushed by a known character, not by byte-fallback
    /// tokens, exactly as in Hugging Face (it matters only for vocabularies with some byte
    /// tokens missing).
    private func symbols(_ chars: [(Unicode.Scalar, Int32)]) -> [Int32] {
        var ids: [Int32] = []
        ids.reserveCapacity(chars.count)
        var pendingUnknown: Int32?
        for (c, id) in chars {
            if id >= 0 {
                if let u = pendingUnknown { ids.append(u); pendingUnknown = nil }
                ids.append(id)
                continue
            }
            if let fallback = byteFallbackIDs {
                var bytes: [Int32] = []
                var complete = true
                UTF8.encode(c) { b in
                    let t = fallback[Int(b)]
                    if t < 0 { complete = false } else { bytes.append(t) }
                }
                if complete {
                    ids += bytes
                    continue
                }
            }
            guard let unk = unknownID else { continue }
            if pendingUnknown != nil, !fuseUnknown { ids.append(unk) }
            pendingUnknown = unk
        }
        if let u = pendingUnknown { ids.append(u) }
        merges.mergeAll(&ids)
        return ids
    }
}

import Foundation
import VLLMCompute
import VLLMModels
#if canImport(Glibc)
import Glibc
#endif

/// The KV offloading tier in a file (`--kv-offloading-backend disk --kv-offloading-path DIR`),
/// which a restarted server with the same KV identity takes over.
///
/// Layout (this project's own format, little-endian):
/// - bytes 0..<4096, the header: magic `SVLLMKV1`, format version (u32), identity length
///   (u32), block bytes (u64), slots (u64), then the identity (UTF-8) — the model file and
///   every setting that changes KV content. It must equal the expected header byte for byte.
/// - slot `i` at `4096 + i * recordBytes` (records padded to 4 KiB): a 64-byte record header —
///   magic `SVKVBLK1`, the block hash (two u64), a store sequence number (u64, the LRU order
///   to restore), a checksum (u64) over the payload seeded with those fields and the slot —
///   then the packed block.
///
/// Each record is written with one `pwrite`; a record torn by a crash, overwritten in part or
/// damaged on disk fails its checksum and is never loaded. The file is held under an exclusive
/// `flock`, so two servers can't share it. A file whose header does not match (another model,
/// KV dtype, block size or tier size) is replaced, with a warning.
public final class DiskKVOffloadStore: KVOffloadStore, @unchecked Sendable {
    public let numSlots: Int
    public let blockBytes: Int
    public let path: String
    public private(set) var restored: [RestoredBlock] = []
    /// Records that were present but failed their check at start-up.
    public private(set) var numCorruptAtStart = 0
    private let fd: Int32
    private let recordBytes: Int
    private let scratch: UnsafeMutableRawPointer
    private var nextSeq: UInt64 = 1

    static let headerBytes = 4096
    static let recordHeaderBytes = 64
    static let fileMagic: UInt64 = 0x3156_4B4D_4C4C_5653  // "SVLLMKV1"
    static let recordMagic: UInt64 = 0x314B_4C42_564B_5653  // "SVKVBLK1"
    static let version: UInt32 = 2

    /// Bytes from one slot's record to the next.
    static func recordBytes(blockBytes: Int) -> Int { (recordHeaderBytes + blockBytes + 4095) / 4096 * 4096 }

    /// The file for KV identity `identity` in `directory` (created if missing).
    public static func filePath(directory: String, identity: String) -> String {
        let digest = BlockHash(parent: nil, tokenIDs: [], extraKey: identity)
        return (directory as NSString).appendingPathComponent("kv-offload-\(digest).bin")
    }

    public init(directory: String, identity: String, numSlots: Int, blockBytes: Int) throws(EngineArgsError) {
        precondition(numSlots > 0 && blockBytes > 0)
        self.numSlots = numSlots
        self.blockBytes = blockBytes
        recordBytes = Self.recordBytes(blockBytes: blockBytes)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw .invalid("--kv-offloading-path \(directory): cannot create the directory (\(error.localizedDescription))")
        }
        path = Self.filePath(directory: directory, identity: identity)
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .invalid("--kv-offloading-path: cannot open \(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw .invalid("--kv-offloading-path: \(path) is in use by another process")
        }
        scratch = .allocate(byteCount: recordBytes, alignment: 4096)
        let header = Self.header(identity: identity, blockBytes: blockBytes, numSlots: numSlots)
        var existing = [UInt8](repeating: 0, count: Self.headerBytes)
        let n = existing.withUnsafeMutableBytes { pread(fd, $0.baseAddress, Self.headerBytes, 0) }
        if n == Self.headerBytes && existing == header {
            scan()
        } else {
            if n > 0 { logInfo("warning: KV offloading file \(path) was written for another model or settings (or is damaged); starting it afresh") }
            guard ftruncate(fd, 0) == 0, header.withUnsafeBytes({ pwrite(fd, $0.baseAddress, Self.headerBytes, 0) }) == Self.headerBytes else {
                let reason = String(cString: strerror(errno))
                scratch.deallocate()
                close(fd)
                throw .invalid("--kv-offloading-path: cannot write \(path): \(reason)")
            }
        }
        // Slots past the end read as zeros (no magic): free.
        _ = ftruncate(fd, off_t(Self.headerBytes + numSlots * recordBytes))
    }

    deinit {
        scratch.deallocate()
        close(fd)
    }

    public func store(_ transfers: [BlockTransfer], from kv: PagedKVCache) {
        precondition(kv.packedBlockBytes == blockBytes, "the offloading tier was sized for another KV cache")
        for s in transfers {
            kv.exportBlock(s.blockID, to: scratch + Self.recordHeaderBytes)
            writeRecordHeader(slot: s.slot, hash: s.hash, seq: nextSeq)
            nextSeq += 1
            // A failed write leaves a record that fails its check on load: recomputed then.
            _ = pwrite(fd, scratch, Self.recordHeaderBytes + blockBytes, offset(s.slot))
        }
    }

    public func load(_ transfers: [BlockTransfer], into kv: PagedKVCache) -> Set<Int> {
        precondition(kv.packedBlockBytes == blockBytes, "the offloading tier was sized for another KV cache")
        var failed = Set<Int>()
        for l in transfers {
            if readRecord(slot: l.slot)?.hash == l.hash {
                kv.importBlock(l.blockID, from: scratch + Self.recordHeaderBytes)
            } else {
                failed.insert(l.blockID)
            }
        }
        return failed
    }

    /// Finds the intact records, oldest store first.
    private func scan() {
        var found: [(seq: UInt64, block: RestoredBlock)] = []
        var seen = Set<BlockHash>()
        for slot in 0..<numSlots {
            guard let r = readRecord(slot: slot) else {
                if scratch.load(as: UInt64.self) != 0 { numCorruptAtStart += 1 }
                continue
            }
            guard seen.insert(r.hash).inserted else { continue }
            found.append((r.seq, RestoredBlock(slot: slot, hash: r.hash)))
            nextSeq = max(nextSeq, r.seq + 1)
        }
        restored = found.sorted { $0.seq < $1.seq }.map(\.block)
    }

    private func offset(_ slot: Int) -> off_t {
        precondition(slot >= 0 && slot < numSlots, "offloading slot \(slot) out of range")
        return off_t(Self.headerBytes + slot * recordBytes)
    }

    /// Reads slot `slot` into `scratch`; its hash and sequence number when the record is intact.
    private func readRecord(slot: Int) -> (hash: BlockHash, seq: UInt64)? {
        let want = Self.recordHeaderBytes + blockBytes
        scratch.storeBytes(of: 0, as: UInt64.self)
        guard pread(fd, scratch, want, offset(slot)) == want else { return nil }
        let word = { (i: Int) in UInt64(littleEndian: self.scratch.load(fromByteOffset: 8 * i, as: UInt64.self)) }
        guard word(0) == Self.recordMagic else { return nil }
        let hash = BlockHash(high: word(1), low: word(2))
        let seq = word(3)
        guard word(4) == checksum(slot: slot, hash: hash, seq: seq) else { return nil }
        return (hash, seq)
    }

    private func writeRecordHeader(slot: Int, hash: BlockHash, seq: UInt64) {
        let fields = [Self.recordMagic, hash.high, hash.low, seq, checksum(slot: slot, hash: hash, seq: seq), 0, 0, 0]
        for (i, v) in fields.enumerated() { scratch.storeBytes(of: v.littleEndian, toByteOffset: 8 * i, as: UInt64.self) }
    }

    /// The payload in `scratch`, checksummed with the record's fields and slot.
    private func checksum(slot: Int, hash: BlockHash, seq: UInt64) -> UInt64 {
        let seed = BlockHash(parent: hash, tokenIDs: [slot, Int(bitPattern: UInt(seq))], extraKey: "kv-offload-record")
        return KVChecksum.of(UnsafeRawBufferPointer(start: scratch + Self.recordHeaderBytes, count: blockBytes), seed: seed.low)
    }

    static func header(identity: String, blockBytes: Int, numSlots: Int) -> [UInt8] {
        var h = [UInt8](repeating: 0, count: headerBytes)
        let id = Array(identity.utf8.prefix(headerBytes - 32))
        func put(_ v: UInt64, at o: Int, bytes: Int) {
            for i in 0..<bytes { h[o + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) }
        }
        put(fileMagic, at: 0, bytes: 8)
        put(UInt64(version), at: 8, bytes: 4)
        put(UInt64(id.count), at: 12, bytes: 4)
        put(UInt64(blockBytes), at: 16, bytes: 8)
        put(UInt64(numSlots), at: 24, bytes: 8)
        h.replaceSubrange(32 ..< 32 + id.count, with: id)
        return h
    }
}

/// A fast 64-bit checksum for detecting damaged or torn records (not an adversarial hash):
/// four multiply-rotate lanes over 8-byte words, then an avalanche.
enum KVChecksum {
    static func of(_ bytes: UnsafeRawBufferPointer, seed: UInt64) -> UInt64 {
        let p1: UInt64 = 0x9E37_79B1_85EB_CA87, p2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
        var lanes: (UInt64, UInt64, UInt64, UInt64) = (seed &+ p1, seed ^ p2, seed &- p1, ~seed)
        func round(_ acc: UInt64, _ w: UInt64) -> UInt64 {
            let x = acc &+ w &* p2
            return ((x << 31) | (x >> 33)) &* p1
        }
        let n = bytes.count
        var i = 0
        while i + 32 <= n {
            lanes.0 = round(lanes.0, bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            lanes.1 = round(lanes.1, bytes.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self))
            lanes.2 = round(lanes.2, bytes.loadUnaligned(fromByteOffset: i + 16, as: UInt64.self))
            lanes.3 = round(lanes.3, bytes.loadUnaligned(fromByteOffset: i + 24, as: UInt64.self))
            i += 32
        }
        var h = round(round(round(round(UInt64(n), lanes.0), lanes.1), lanes.2), lanes.3)
        while i < n {
            h = round(h, UInt64(bytes[i]))
            i += 1
        }
        h ^= h >> 33; h &*= p2; h ^= h >> 29; h &*= p1; h ^= h >> 32
        return h
    }
}

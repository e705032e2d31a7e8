import Foundation
import Testing
import VLLMCompute
@testable import VLLMEngine
#if canImport(Glibc)
import Glibc
#endif

/// The disk KV offloading tier on the real model: kept across engines, never serving a block
/// that is damaged, torn or another model's (an extension of `EngineTests` for its
/// serialization and model).
extension EngineTests {
    /// A shared system prompt, a prompt long enough to push it out of a 24-block pool, a
    /// second question after the system prompt, and its answer from an engine without a tier.
    struct DiskTierWorkload {
        let first: [Int], other: [Int], second: [Int]
        let params = SamplingParams(temperature: 0, maxTokens: 8, ignoreEOS: true)
        let alone: [Int]
        init() throws {
            var rng = SplitMix64(seed: 8)
            func tokens(_ n: Int) -> [Int] { (0..<n).map { _ in Int(100 + rng.next() % 30000) } }
            let system = tokens(200)
            first = system + tokens(5)
            other = tokens(360)
            second = system + tokens(7)
            alone = try EngineTests.run(EngineTests.engine(), [second], params)[0]
        }
    }

    static func diskTierEngine(_ dir: String, identity: String = "test-model") throws -> LLMEngine {
        var args = EngineArgs()
        args.kvCacheMemory = 256 << 20
        args.numGpuBlocksOverride = 24
        args.maxModelLen = 384
        args.kvOffloadingSize = 0.05
        args.kvOffloadingBackend = "disk"
        args.kvOffloadingPath = dir
        return try LLMEngine(model: model, tokenizer: tokenizer, args: args, modelIdentity: identity)
    }

    static func tempDirectory() -> String {
        let dir = NSTemporaryDirectory() + "swift-vllm-kv-\(UInt64.random(in: 0 ... .max))"
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// The tier file an engine of `diskTierEngine` uses.
    static func diskTierFile(_ dir: String, _ engine: LLMEngine, identity: String = "test-model") -> String {
        guard case let .disk(_, kvIdentity) = try! LLMEngine.offloadingBackend(args: engine.args, config: engine.config, modelIdentity: identity)
        else { fatalError("not a disk tier") }
        return DiskKVOffloadStore.filePath(directory: dir, identity: kvIdentity)
    }

    /// Runs the first prompt and the long one in a fresh directory's tier, then stops the
    /// engine; returns the directory, the tier's file and the blocks it holds.
    static func fillDiskTier(_ w: DiskTierWorkload) throws -> (dir: String, file: String, blocks: Int) {
        let dir = tempDirectory()
        let e = try diskTierEngine(dir)
        _ = try run(e, [w.first], w.params)
        _ = try run(e, [w.other], w.params)
        e.persistKVOffloading()
        return (dir, diskTierFile(dir, e), e.engineCore.scheduler.kvCacheManager.offloading!.numUsedSlots)
    }

    /// Overwrites 8 payload bytes of every record in `path`'s first `slots` slots.
    static func damageRecords(_ path: String, blockBytes: Int, slots: Int) {
        let fd = open(path, O_RDWR)
        defer { close(fd) }
        let record = DiskKVOffloadStore.recordBytes(blockBytes: blockBytes)
        var junk: UInt64 = 0xDEAD_BEEF_DEAD_BEEF
        for s in 0..<slots { _ = pwrite(fd, &junk, 8, off_t(4096 + s * record + 64 + 1000)) }
    }

    @Test func aRestartedEngineReusesTheDiskTier() throws {
        let w = try DiskTierWorkload()
        let e = try Self.diskTierEngine(Self.fillDiskTier(w).dir)
        let tier = try #require(e.engineCore.scheduler.kvCacheManager.offloading)
        #expect(tier.numUsedSlots > 0)
        let out = try Self.run(e, [w.second], w.params)[0]
        let stats = try #require(e.stats.offload)
        // The system prompt's 12 full blocks all come back from disk.
        #expect(stats.hits == 192)
        #expect(stats.blocksLoaded == 12)
        #expect(out == w.alone)
    }

    @Test func damagedTornOrForeignDiskBlocksAreNeverLoaded() throws {
        let w = try DiskTierWorkload()

        // Damaged at rest: found at start-up, those slots are free.
        var (dir, file, stored) = try Self.fillDiskTier(w)
        let blockBytes = try Self.engine().kvBlockBytes
        Self.damageRecords(file, blockBytes: blockBytes, slots: 3)
        var e = try Self.diskTierEngine(dir)
        #expect(e.engineCore.scheduler.kvCacheManager.offloading!.numUsedSlots == stored - 3)
        #expect(try Self.run(e, [w.second], w.params)[0] == w.alone)

        // Truncated (a crash while the file grew, or a full disk): the records cut off are gone.
        (dir, file, stored) = try Self.fillDiskTier(w)
        let full = try #require(try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int)
        // Cut in the middle of the fifth record.
        #expect(truncate(file, off_t(4096 + 4 * DiskKVOffloadStore.recordBytes(blockBytes: blockBytes) + blockBytes / 2)) == 0)
        e = try Self.diskTierEngine(dir)
        #expect(e.engineCore.scheduler.kvCacheManager.offloading!.numUsedSlots == 4)
        #expect(try Self.run(e, [w.second], w.params)[0] == w.alone)
        #expect(try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int == full)

        // Another model (or dtype, block size, tier size) has its own file, and a file whose
        // header names another model is started afresh.
        (dir, file, stored) = try Self.fillDiskTier(w)
        e = try Self.diskTierEngine(dir, identity: "another-model")
        #expect(e.engineCore.scheduler.kvCacheManager.offloading!.numUsedSlots == 0)
        let foreign = Self.diskTierFile(dir, e, identity: "another-model")
        e = try Self.engine()  // the other engine's lock goes with it
        try FileManager.default.removeItem(atPath: foreign)
        try FileManager.default.copyItem(atPath: file, toPath: foreign)
        let other = try Self.diskTierEngine(dir, identity: "another-model")
        #expect(other.engineCore.scheduler.kvCacheManager.offloading!.numUsedSlots == 0)
        #expect(try Self.run(other, [w.second], w.params)[0] == w.alone)
    }

    @Test func aBlockDamagedWhileRunningIsRecomputed() throws {
        let w = try DiskTierWorkload()
        let dir = try Self.fillDiskTier(w).dir
        let e = try Self.diskTierEngine(dir)
        let tier = try #require(e.engineCore.scheduler.kvCacheManager.offloading)
        #expect(tier.numUsedSlots > 0)
        Self.damageRecords(Self.diskTierFile(dir, e), blockBytes: e.kvBlockBytes, slots: tier.numSlots)
        let out = try Self.run(e, [w.second], w.params)[0]
        #expect(tier.numFailedLoads > 0)
        #expect(out == w.alone)
        #expect(e.engineCore.scheduler.kvCacheManager.pool.numFreeBlocks == e.numKVBlocks)
    }

    @Test func twoEnginesCannotShareADiskTier() throws {
        let dir = Self.tempDirectory()
        let a = try Self.diskTierEngine(dir)
        #expect(throws: (any Error).self) { try Self.diskTierEngine(dir) }
        withExtendedLifetime(a) {}
        #expect(throws: (any Error).self) {
            try Self.engine { $0.kvOffloadingSize = 0.05; $0.kvOffloadingBackend = "disk" }  // no path
        }
        #expect(throws: (any Error).self) {
            try Self.engine { $0.kvOffloadingSize = 0.05; $0.kvOffloadingBackend = "disk"; $0.kvOffloadingPath = dir }  // no model identity
        }
        #expect(throws: (any Error).self) { try Self.engine { $0.kvOffloadingPath = dir } }
    }
}

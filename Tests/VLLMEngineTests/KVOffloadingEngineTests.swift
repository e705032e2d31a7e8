import Testing
import VLLMCompute
@testable import VLLMEngine

/// The KV offloading tier on the real model (an extension of `EngineTests` for its
/// serialization and model).
extension EngineTests {
    @Test func aPrefixLoadedFromTheTierGivesTheSameOutputs() throws {
        var rng = SplitMix64(seed: 8)
        func tokens(_ n: Int) -> [Int] { (0..<n).map { _ in Int(100 + rng.next() % 30000) } }
        let system = tokens(200)
        let first = system + tokens(5), other = tokens(360), second = system + tokens(7)
        let params = SamplingParams(temperature: 0, maxTokens: 8, ignoreEOS: true)
        let alone = try Self.run(Self.engine(), [second], params)[0]

        // A pool of 24 blocks (384 tokens): the long other prompt evicts the system prompt's
        // blocks from it, into the tier.
        let e = try Self.engine { $0.numGpuBlocksOverride = 24; $0.maxModelLen = 384; $0.kvOffloadingSize = 0.05 }
        _ = try Self.run(e, [first], params)
        _ = try Self.run(e, [other], params)
        let before = e.stats
        let out = try Self.run(e, [second], params)[0]
        let after = e.stats
        let tier = try #require(after.offload), tierBefore = try #require(before.offload)
        #expect(tier.blocksLoaded > tierBefore.blocksLoaded)
        // The system prompt's 12 full blocks come from the pool or the tier, none recomputed.
        #expect((after.prefixCacheHits - before.prefixCacheHits) + (tier.hits - tierBefore.hits) == 192)
        #expect(out == alone)
    }

    @Test func offloadingFlagsThatCannotWorkAreErrors() {
        #expect(throws: (any Error).self) { try Self.engine { $0.kvOffloadingSize = 0.05; $0.enablePrefixCaching = false } }
        #expect(throws: (any Error).self) { try Self.engine { $0.kvOffloadingSize = 1e-9 } }
        #expect(throws: (any Error).self) { try Self.engine { $0.kvOffloadingSize = 1; $0.kvOffloadingBackend = "lmcache" } }
    }
}

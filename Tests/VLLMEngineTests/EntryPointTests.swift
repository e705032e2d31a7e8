import Foundation
import Testing
import VLLM
@testable import VLLMEngine
import VLLMTestSupport

/// Entry points with no test before: KV sizing from `--gpu-memory-utilization`, the
/// `--lora-modules` forms, `LLM.beamSearch` called directly, and the beam-search KV check.
@Suite struct EntryPointTests {
    @Test func gpuMemoryUtilizationSizesTheKVCacheFromSystemMemory() throws {
        let config = EngineTests.model.config
        let perBlock = PagedKVCache.bytesPerBlock(config: config, layout: KVCacheLayout(config: config), blockSize: 16, dtype: .float16)
        let weights = 100 << 20
        var args = EngineArgs()
        for u in [0.05, 0.1, 0.5] {
            args.gpuMemoryUtilization = u
            let expected = (Int(u * Double(EngineArgs.systemMemoryBytes)) - weights) / perBlock
            #expect(try args.numKVBlocks(config: config, weightBytes: weights) == expected)
        }
        // Twice the utilization: about twice the blocks (the weights come off once).
        args.gpuMemoryUtilization = 0.2
        let at02 = try args.numKVBlocks(config: config, weightBytes: 0)
        args.gpuMemoryUtilization = 0.4
        #expect(abs(try args.numKVBlocks(config: config, weightBytes: 0) - 2 * at02) <= 1)
        for bad in [0.0, -0.5, 1.5] {
            args.gpuMemoryUtilization = bad
            #expect(throws: EngineArgsError.self) { try args.numKVBlocks(config: config, weightBytes: weights) }
        }
        args.gpuMemoryUtilization = 1e-9
        #expect { try args.numKVBlocks(config: config, weightBytes: weights) } throws: { "\($0)".contains("weights") }
        // The default pool (4 GiB) shrinks to what a large model leaves below 90% of memory, and a
        // model that leaves nothing is refused by name.
        args.gpuMemoryUtilization = nil
        let memory = EngineArgs.systemMemoryBytes, large = Int(0.9 * Double(memory)) - 2 * perBlock - 100
        #expect(try args.numKVBlocks(config: config, weightBytes: 0) == EngineArgs.defaultKVCacheBytes / perBlock)
        #expect(try args.numKVBlocks(config: config, weightBytes: large) == 2)
        #expect { try args.numKVBlocks(config: config, weightBytes: memory) } throws: { "\($0)".contains("leave no room for a KV cache") }
        // An explicit KV size wins over the fraction.
        args.gpuMemoryUtilization = 0.5
        args.kvCacheMemory = 10 * perBlock
        #expect(try args.numKVBlocks(config: config, weightBytes: weights) == 10)
    }

    @Test func loraModulesAcceptSpaceCommaAndJSONForms() throws {
        let parsed = try LoRAModule.parseList(["a=/p,b=/q", "c=/with,comma", #"{"name": "d", "path": "/d", "base_model_name": "m"}"#, "e=/e"])
        #expect(parsed.map(\.name) == ["a", "b", "c", "d", "e"])
        #expect(parsed.map(\.path) == ["/p", "/q", "/with,comma", "/d", "/e"])
        #expect(parsed[3].baseModelName == "m")
        for bad in ["noequals", "=/p", "a=", #"{"name": "x"}"#, "a=/p,b="] {
            #expect(throws: EngineArgsError.self, "\(bad)") { try LoRAModule.parseList([bad]) }
        }
    }

    @Test func llmBeamSearchReturnsScoredSequencesAndRefusesWhatCannotFit() throws {
        var args = EngineArgs()
        args.kvCacheMemory = 64 << 20
        args.maxModelLen = 512
        let llm = try LLM(model: TestPaths.defaultModel, args: args)
        let prompts = EngineTests.prompts.prefix(2).map { PromptInput.tokenIDs($0) }
        let out = try llm.beamSearch(Array(prompts), BeamSearchParams(beamWidth: 3, maxTokens: 6, ignoreEOS: true))
        #expect(out.count == 2)
        for (o, p) in zip(out, EngineTests.prompts.prefix(2)) {
            #expect(o.sequences.count == 3)
            #expect(o.sequences.allSatisfy { Array($0.tokens.prefix(p.count)) == p && $0.tokens.count == p.count + 6 })
            #expect(o.sequences.map(\.score) == o.sequences.map(\.score).sorted(by: >))
            #expect(Set(o.sequences.map(\.tokens)).count == 3)
        }
        // The same search through the engine gives the same beams.
        let engineBeams = try EngineTests.beamSearch(llm.engine, EngineTests.prompts[0],
                                                     BeamSearchParams(beamWidth: 3, maxTokens: 6, ignoreEOS: true))
        #expect(engineBeams.outputs.map { EngineTests.prompts[0] + $0.tokenIDs } == out[0].sequences.map(\.tokens))
        // 64 MiB holds ~180 blocks: 100 beams of 400 tokens cannot all hold theirs at once.
        #expect(throws: InvalidRequest.self) {
            try llm.beamSearch([.tokenIDs([1, 2, 3])], BeamSearchParams(beamWidth: 100, maxTokens: 400))
        }
        #expect(llm.engine.stats.kvBlocksUsed == 0 && !llm.engine.hasUnfinishedRequests)
    }
}

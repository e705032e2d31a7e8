import Foundation
import Testing
import VLLMCompute
import VLLMModels
@testable import VLLMEngine

/// Writes a PEFT adapter (adapter_config.json + a hand-built adapter_model.safetensors) with
/// random weights for q_proj and v_proj of every layer.
enum TestAdapter {
    static func write(rank: Int, seed: UInt64, config c: ModelConfig) throws -> String {
        let dir = NSTemporaryDirectory() + "lora-\(rank)-\(seed)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let cfg = "{\"peft_type\": \"LORA\", \"r\": \(rank), \"lora_alpha\": \(2 * rank), \"target_modules\": [\"q_proj\", \"v_proj\"]}"
        try cfg.write(toFile: dir + "/adapter_config.json", atomically: true, encoding: .utf8)
        var rng = SplitMix64(seed: seed)
        var header: [String] = [], data: [UInt8] = []
        func add(_ name: String, _ shape: [Int], std: Float) {
            let n = shape.reduce(1, *)
            header.append("\"\(name)\": {\"dtype\": \"F32\", \"shape\": \(shape), \"data_offsets\": [\(data.count), \(data.count + 4 * n)]}")
            for _ in 0..<n {
                let v = (Float(rng.next() % 2001) / 1000 - 1) * std
                withUnsafeBytes(of: v.bitPattern.littleEndian) { data += $0 }
            }
        }
        for l in 0..<c.layerCount {
            for (m, out) in [("q_proj", c.headCount * c.headDim), ("v_proj", c.kvHeadCount * c.headDim)] {
                let p = "base_model.model.model.layers.\(l).self_attn.\(m)"
                add(p + ".lora_A.weight", [rank, c.hiddenSize], std: 1)
                add(p + ".lora_B.weight", [out, rank], std: 0.01)
            }
        }
        let h = Array("{\(header.joined(separator: ", "))}".utf8)
        let bytes = withUnsafeBytes(of: UInt64(h.count).littleEndian, Array.init) + h + data
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/adapter_model.safetensors"))
        return dir
    }
}

extension EngineTests {
    static func loraEngine(maxLoras: Int = 2, maxCPULoras: Int = 2) throws -> LLMEngine {
        try engine { $0.enableLoRA = true; $0.maxLoras = maxLoras; $0.maxCPULoras = maxCPULoras; $0.maxLoraRank = 16 }
    }

    @Test func loraAdaptersTakeKVBlocksAndCannotBeUnloadedInUse() throws {
        let e = try Self.loraEngine()
        let path = try TestAdapter.write(rank: 8, seed: 1, config: Self.model.config)
        let total = e.kvBlocksForRequests
        let info = try e.loadLoRAAdapter(LoRARequest(loraName: "a", loraIntId: 1, loraPath: path))
        #expect(info.kvBlocks == (info.bytes + e.kvBlockBytes - 1) / e.kvBlockBytes && info.kvBlocks > 0)
        #expect(e.kvBlocksForRequests == total - info.kvBlocks)
        #expect(throws: LoRALoadError.duplicateName("a")) { try e.loadLoRAAdapter(LoRARequest(loraName: "a", loraIntId: 2, loraPath: path)) }
        let lora = LoRARequest(loraName: "a", loraIntId: 1, loraPath: path)
        try e.addRequest(id: "x", prompt: .tokenIDs(Self.prompts[0]), params: Self.greedy, lora: lora)
        #expect(throws: LoRALoadError.inUse(name: "a", requests: 1)) { try e.unloadLoRAAdapter(name: "a") }
        var adapted: [Int] = []
        while e.hasUnfinishedRequests { for o in e.step() where o.finished { adapted = o.outputs[0].tokenIDs } }
        try e.unloadLoRAAdapter(name: "a")
        #expect(e.kvBlocksForRequests == total && e.loraAdapters.isEmpty)
        #expect(throws: LoRALoadError.notLoaded("a")) { try e.unloadLoRAAdapter(name: "a") }
        // Loaded again from its path on first use: same output; the base model differs.
        #expect(try Self.runLoRA(e, [Self.prompts[0]], [lora]) == [adapted])
        #expect(try Self.runLoRA(e, [Self.prompts[0]], [nil]) != [adapted])
    }

    @Test func idleAdaptersAreEvictedLeastRecentlyUsedFirst() throws {
        let e = try Self.loraEngine(maxLoras: 1, maxCPULoras: 2)
        let paths = try (1...3).map { try TestAdapter.write(rank: 4, seed: UInt64($0), config: Self.model.config) }
        for (i, p) in paths.enumerated() { _ = try Self.runLoRA(e, [Self.prompts[1]], [LoRARequest(loraName: "l\(i)", loraIntId: i + 1, loraPath: p)]) }
        #expect(e.loraAdapters.map(\.name) == ["l1", "l2"])
        let big = try TestAdapter.write(rank: 32, seed: 9, config: Self.model.config)
        #expect(throws: LoRALoadError.self) { try e.loadLoRAAdapter(LoRARequest(loraName: "big", loraIntId: 9, loraPath: big)) }
    }

    @Test func asyncLoadAndUnloadWhileRequestsRun() async throws {
        let llm = AsyncLLM(engine: try Self.loraEngine())
        defer { llm.shutdown() }
        let path = try TestAdapter.write(rank: 8, seed: 3, config: Self.model.config)
        let expected = try Self.runLoRA(Self.loraEngine(), [Self.prompts[2]], [nil])
        let base = try llm.generate(.tokenIDs(Self.prompts[2]), Self.greedy, requestID: "base")
        let info = try await llm.loadLoRAAdapter(LoRARequest(loraName: "a", loraIntId: 1, loraPath: path))
        #expect(llm.loraAdapters.map(\.name) == ["a"] && info.rank == 8)
        let lora = LoRARequest(loraName: "a", loraIntId: 1, loraPath: path)
        let adapted = try llm.generate(.tokenIDs(Self.prompts[3]), Self.greedy, requestID: "lora", lora: lora)
        await #expect(throws: LoRALoadError.self) { try await llm.unloadLoRAAdapter(name: "a") }
        var last: RequestOutput?
        for try await o in base { last = o }
        #expect(last?.outputs[0].tokenIDs == expected[0])
        for try await _ in adapted {}
        _ = try await Self.idleStats(llm)
        try await llm.unloadLoRAAdapter(name: "a")
        #expect(llm.loraAdapters.isEmpty)
        await #expect(throws: LoRALoadError.self) {
            try await llm.loadLoRAAdapter(LoRARequest(loraName: "b", loraIntId: 2, loraPath: "/nonexistent/adapter"))
        }
    }

    static func runLoRA(_ e: LLMEngine, _ prompts: [[Int]], _ loras: [LoRARequest?]) throws -> [[Int]] {
        for (i, p) in prompts.enumerated() { try e.addRequest(id: "q\(i)", prompt: .tokenIDs(p), params: greedy, lora: loras[i]) }
        var done: [String: [Int]] = [:]
        while e.hasUnfinishedRequests { for o in e.step() where o.finished { done[o.requestID] = o.outputs[0].tokenIDs } }
        return prompts.indices.map { done["q\($0)"]! }
    }
}

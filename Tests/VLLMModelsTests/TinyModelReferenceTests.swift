import Foundation
import Testing
import VLLMTestSupport
import VLLMCompute
@testable import VLLMModels

/// Each registered architecture against transformers' own float32 forward pass
/// (Tests/Fixtures/tiny-models, made by scripts/make-tiny-models.py), in both forms: the
/// Hugging Face checkpoint (safetensors, BF16/F16/F32, sharded for llama) and llama.cpp's GGUF
/// conversion of it.
@Suite struct TinyModelReferenceTests {
    struct Expected: Decodable {
        struct Case: Decodable {
            let prompt: [Int]
            let top5_ids: [[Int]]
            let top5_logprobs: [[Double]]
            let greedy: [Int]
            let greedy_logprobs: [Double]
        }
        let cases: [Case]
    }

    enum Form: String, CaseIterable { case hf, gguf }

    static let architectures = ["llama", "mistral", "qwen2", "qwen3", "gemma2", "gemma3", "phi3", "mixtral", "qwen2_moe", "qwen3_moe",
                                "gpt_oss", "gpt_oss_mxfp4"]

    static func load(_ arch: String, _ form: Form, maxModelLen: Int? = nil) throws -> DecoderModel {
        let dir = TestPaths.tinyModels.appendingPathComponent(arch)
        let pool = ThreadPool(threadCount: 2)
        switch form {
        case .hf: return try DecoderModel(directory: dir.appendingPathComponent("hf").path, pool: pool, maxBatchTokens: 16,
                                          maxModelLen: maxModelLen)
        case .gguf: return try DecoderModel(gguf: GGUFFile(path: dir.appendingPathComponent("\(arch).gguf").path), pool: pool,
                                            maxBatchTokens: 16, maxModelLen: maxModelLen)
        }
    }

    static func logSoftmax(_ row: [Float]) -> [Double] {
        let m = Double(row.max()!)
        let lse = m + log(row.reduce(0.0) { $0 + exp(Double($1) - m) })
        return row.map { Double($0) - lse }
    }

    @Test(arguments: architectures, Form.allCases)
    func matchesTransformers(arch: String, form: Form) throws {
        let served = try Self.load(arch, form)
        // Phi-3's LongRoPE: transformers uses the short factors for a sequence within the original
        // context (32) and the long ones beyond; the engine picks by the context it serves.
        let short = arch == "phi3" ? try Self.load(arch, form, maxModelLen: 32) : served
        // llama.cpp's converter writes Mistral as "llama" without its window: the GGUF form can
        // only match while every position is inside the window.
        if arch == "mistral" { #expect(served.config.slidingWindow == (form == .hf ? 8 : nil)) }
        try Self.expectMatchesTransformers(arch: arch, label: "\(form)", served: served, short: short,
                                           windowless: arch == "mistral" && form == .gguf)
    }

    /// `served` against transformers' outputs for `arch` (expected.json): top-5 logprobs at every
    /// prompt position and the greedy continuation. `short` serves sequences within 32 tokens;
    /// `windowless` compares only the positions inside the window, and no continuation.
    static func expectMatchesTransformers(arch: String, label: String, served: DecoderModel, short: DecoderModel? = nil,
                                          windowless: Bool = false) throws {
        let data = try Data(contentsOf: TestPaths.tinyModels.appendingPathComponent("\(arch)/expected.json"))
        let expected = try JSONDecoder().decode(Expected.self, from: data)
        for c in expected.cases {
            let model = c.prompt.count + c.greedy.count <= 32 ? short ?? served : served
            let cache = SequenceKVCache(config: model.config, capacity: c.prompt.count + c.greedy.count, blockSize: 4, dtype: .float32)
            let input = SequenceInput(tokens: c.prompt, firstPosition: 0, blockTable: cache.blockTable, needsAllLogits: true)
            let logits = model.forward([input], kv: cache.storage)
            cache.count = c.prompt.count
            let positions = windowless ? min(8, c.prompt.count) : c.prompt.count
            var worst = 0.0
            for p in 0..<positions {
                let lp = logSoftmax(Array(logits[p]))
                for (id, want) in zip(c.top5_ids[p], c.top5_logprobs[p]) { worst = max(worst, abs(lp[id] - want)) }
                if c.top5_logprobs[p][0] - c.top5_logprobs[p][1] > 1e-4 {
                    #expect(lp.indices.max { lp[$0] < lp[$1] } == c.top5_ids[p][0], "\(arch) \(label) position \(p)")
                }
            }
            #expect(worst <= 1e-3, "\(arch) \(label): worst top-5 logprob gap \(worst) over \(positions) positions")
            print("tiny \(arch) \(label) prompt of \(c.prompt.count): worst top-5 logprob gap \(worst)")
            guard !windowless else { continue }
            var next = logSoftmax(Array(logits[c.prompt.count - 1]))
            for (step, want) in c.greedy.enumerated() {
                let got = next.indices.max { next[$0] < next[$1] }!
                #expect(got == want, "\(arch) \(label) greedy step \(step)")
                #expect(abs(next[want] - c.greedy_logprobs[step]) <= 1e-3, "\(arch) \(label) greedy step \(step) logprob")
                next = logSoftmax(model.forward(tokens: [want], cache: cache))
            }
        }
    }

    /// A Gemma 3 multimodal checkpoint as Google releases the 4B and larger (hf-multimodal, made by
    /// scripts/make-tiny-gemma3-multimodal.py: a sparse `text_config`, `language_model.model.*`
    /// names, a vision tower) serves its language model, the tiny Gemma 3, with transformers'
    /// outputs for it; so does a copy with the names transformers 5 saves (`model.language_model.*`).
    @Test func gemma3MultimodalCheckpointServesItsLanguageModel() throws {
        let dir = TestPaths.tinyModels.appendingPathComponent("gemma3/hf-multimodal")
        let pool = ThreadPool(threadCount: 2)
        let google = try DecoderModel(directory: dir.path, pool: pool, maxBatchTokens: 16)
        let c = google.config
        #expect(c.architecture == "Gemma3ForCausalLM" && c.vocabSize == 384 && c.layerCount == 6 && c.headDim == 16)
        #expect(c.slidingWindowLayers == [0, 1, 2, 3, 4] && c.rope.freqBase == 1_000_000 && c.localRope?.freqBase == 10000)
        try Self.expectMatchesTransformers(arch: "gemma3", label: "hf-multimodal", served: google)

        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("gemma3-mm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: copy, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: copy) }
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) where name != "model.safetensors" {
            try FileManager.default.copyItem(at: dir.appendingPathComponent(name), to: copy.appendingPathComponent(name))
        }
        let bytes = try [UInt8](Data(contentsOf: dir.appendingPathComponent("model.safetensors")))
        let headerLength = (0..<8).reduce(0) { $0 | Int(bytes[$1]) << (8 * $1) }
        var header = String(decoding: bytes[8..<(8 + headerLength)], as: UTF8.self)
        for (old, new) in [("language_model.model.", "model.language_model."), ("vision_tower.", "model.vision_tower."),
                           ("multi_modal_projector.", "model.multi_modal_projector.")] {
            header = header.replacingOccurrences(of: "\"" + old, with: "\"" + new)
        }
        #expect(header.contains("\"model.language_model.embed_tokens.weight\""))
        let h = Array(header.utf8)
        let renamed = (0..<8).map { UInt8(truncatingIfNeeded: h.count >> (8 * $0)) } + h + bytes[(8 + headerLength)...]
        try Data(renamed).write(to: copy.appendingPathComponent("model.safetensors"))
        try Self.expectMatchesTransformers(arch: "gemma3", label: "hf-multimodal, transformers 5 names",
                                           served: DecoderModel(directory: copy.path, pool: pool, maxBatchTokens: 16))
    }

    /// The registry reads each architecture's switches from config.json and from the GGUF.
    @Test func featuresAreSwitchedOnPerArchitecture() throws {
        let qwen2 = try Self.load("qwen2", .hf).config, qwen2g = try Self.load("qwen2", .gguf).config
        #expect(qwen2.attentionBias && qwen2g.attentionBias && !qwen2.qkNorm)
        #expect(qwen2.ropeStyle == .rotateHalf && qwen2g.ropeStyle == .rotateHalf)
        let qwen3 = try Self.load("qwen3", .hf).config, qwen3g = try Self.load("qwen3", .gguf).config
        #expect(qwen3.qkNorm && qwen3g.qkNorm && qwen3.headDim == 16 && qwen3g.headDim == 16)
        let llama = try Self.load("llama", .hf).config, llamag = try Self.load("llama", .gguf).config
        #expect(llama.ropeStyle == .rotateHalf && llamag.ropeStyle == .adjacentPairs && !llama.attentionBias)
        for form in Form.allCases {
            let g2 = try Self.load("gemma2", form).config
            #expect(g2.attentionSoftcap == 2 && g2.finalLogitSoftcap == 4 && g2.sandwichNorms && g2.activation == .geluTanh)
            #expect(g2.slidingWindow == 8 && g2.slidingWindowLayers == [0, 2] && g2.embeddingScale == 8 && g2.attentionScale == 0.25)
            #expect(g2.normWeightOffset == (form == .hf ? 1 : 0), "the GGUF converter adds Gemma's 1 into the weights")
            let g3 = try Self.load("gemma3", form).config
            #expect(g3.qkNorm && g3.attentionSoftcap == nil && g3.finalLogitSoftcap == nil && g3.slidingWindowLayers == [0, 1, 2, 3, 4])
            #expect(g3.localRope == RopeConfig(freqBase: 10000, dimensionCount: 16) && g3.rope.freqBase == 1_000_000)
            #expect(g3.rope(layer: 5).scaling == .linear(factor: 2) && g3.rope(layer: 4).scaling == .none)
            let phi3 = try Self.load("phi3", form).config
            #expect(phi3.rope.dimensionCount == 8 && phi3.headDim == 16 && phi3.slidingWindow == nil)
            guard case let .longRoPE(s) = phi3.rope.scaling else { Issue.record("longrope not read (\(form))"); continue }
            #expect(s.longFactors == [1, 2.5, 5, 9] && s.originalContextLength == 32)
            #expect(abs(s.attentionFactor - (1 + log(8.0) / log(32.0)).squareRoot()) < 1e-6)
        }
        for form in Form.allCases {
            let mixtral = try Self.load("mixtral", form).config, qwen3Moe = try Self.load("qwen3_moe", form).config
            #expect(mixtral.moe == MoEConfig(experts: 4, intermediateSize: 96, routing: MoERouting(topK: 2, renormalize: true)), "\(form)")
            #expect(qwen3Moe.moe == MoEConfig(experts: 4, intermediateSize: 64, routing: MoERouting(topK: 2, renormalize: true)) && qwen3Moe.qkNorm,
                    "\(form)")
            let qwen2Moe = try Self.load("qwen2_moe", form).config
            #expect(qwen2Moe.moe == MoEConfig(experts: 4, intermediateSize: 32, routing: MoERouting(topK: 2, renormalize: false),
                                              sharedIntermediateSize: 48) && qwen2Moe.attentionBias, "\(form)")
        }
        for arch in ["gpt_oss", "gpt_oss_mxfp4"] {
            for form in Form.allCases {
                let model = try Self.load(arch, form), c = model.config
                var moe = MoEConfig(experts: 4, intermediateSize: 64, routing: MoERouting(topK: 2, renormalize: true))
                moe.activation = .swigluOAI(alpha: 1.702, limit: 7)
                moe.biases = true
                #expect(c.moe == moe, "\(arch) \(form)")
                #expect(c.attentionBias && c.attentionOutputBias && c.attentionSinks && c.slidingWindow == 8 && c.slidingWindowLayers == [0])
                guard case let .yarn(s) = c.rope.scaling else { Issue.record("yarn not read (\(arch) \(form))"); continue }
                #expect(s.factor == 8 && s.originalContextLength == 32 && !s.truncate && c.rope.freqBase == 150_000)
                guard case let .experts(mix) = model.weights.layers[1].mlp else { Issue.record("no experts"); continue }
                #expect(mix.experts[3].down.type == (arch == "gpt_oss" ? .f32 : .mxfp4), "MXFP4 experts stay 4-bit in memory")
            }
        }
        #expect(llama.moe == nil)
        guard case .llama3 = llama.rope.scaling else { Issue.record("llama3 scaling not read: \(llama.rope.scaling)"); return }
        guard case .yarn = qwen2.rope.scaling else { Issue.record("yarn scaling not read: \(qwen2.rope.scaling)"); return }
    }

    /// A GGUF's end-of-turn tokens become stop tokens when its chat template uses them.
    @Test func ggufEndOfTurnTokensFromTheChatTemplate() throws {
        let gguf = try GGUFFile(path: TestPaths.tinyModels.appendingPathComponent("gemma2/gemma2.gguf").path)
        #expect(gguf.metadata["tokenizer.chat_template"]?.string?.contains("<|im_end|>") == true)
        let special = ["<|im_end|>": 2, "<|endoftext|>": 0, "<end_of_turn>": 7]
        let g = GenerationConfig(gguf: gguf, vocabSize: 384) { special[$0] }
        #expect(g.eosTokenIDs == [2], "only the template's end-of-turn token, not every one the vocabulary has")
        #expect(!g.hasSamplingDefaults)
    }

    @Test func dtypeConvertsFloatWeightsOnce() throws {
        let dir = TestPaths.tinyModels.appendingPathComponent("qwen2/hf").path
        let pool = ThreadPool(threadCount: 1)
        let f32 = try DecoderModel(directory: dir, pool: pool, maxBatchTokens: 8)
        let bf16 = try DecoderModel(directory: dir, pool: pool, maxBatchTokens: 8, dtype: .bfloat16)
        #expect(f32.weights.layers[0].q.type == .f32 && bf16.weights.layers[0].q.type == .bf16)
        // Rounded weights move the logits a little, not a lot.
        let a = f32.forward(tokens: [5, 6, 7], cache: SequenceKVCache(config: f32.config, capacity: 4))
        let b = bf16.forward(tokens: [5, 6, 7], cache: SequenceKVCache(config: bf16.config, capacity: 4))
        let diff = zip(a, b).map { abs($0 - $1) }.max()!
        #expect(diff > 0 && diff < 0.5, "\(diff)")
    }

    /// Adapters on a mixture-of-experts MLP are refused by name rather than left unapplied.
    @Test func loraOnExpertMLPsIsRefused() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("moe-lora-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(#"{"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "gate_proj"]}"#.utf8)
            .write(to: dir.appendingPathComponent("adapter_config.json"))
        let config = try Self.load("mixtral", .hf).config
        #expect { _ = try LoRAAdapter(path: dir.path, model: config, maxRank: 8) } throws: { e in
            "\(e)".contains("mixture-of-experts") && "\(e)".contains("gate_proj")
        }
    }

    @Test func unsupportedArchitectureIsRefusedWithTheList() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("arch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(#"{"architectures": ["GPTNeoXForCausalLM"], "hidden_size": 8}"#.utf8).write(to: dir.appendingPathComponent("config.json"))
        #expect {
            _ = try DecoderModel(directory: dir.path, pool: ThreadPool(threadCount: 1))
        } throws: { e in
            let m = "\(e)"
            return m.contains("GPTNeoXForCausalLM") && m.contains("Qwen2ForCausalLM") && m.contains("LlamaForCausalLM")
        }
    }
}

extension TinyModelReferenceTests {
    /// A PEFT adapter on Phi-3's fused `qkv_proj` and `gate_up_proj` (and `o_proj`, `down_proj`),
    /// saved by PEFT (tiny-models/phi3/lora, scripts/make-tiny-lora-fixtures.py), gives
    /// transformers + PEFT's logprobs on both forms of the model: one lora_A shared by the parts,
    /// lora_B's rows split among them.
    @Test(arguments: Form.allCases)
    func phi3FusedModuleAdapterMatchesPEFT(form: Form) throws {
        struct Expected: Decodable { let prompt: [Int]; let top5_ids: [[Int]]; let top5_logprobs: [[Double]] }
        let dir = TestPaths.tinyModels.appendingPathComponent("phi3/lora")
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: dir.appendingPathComponent("expected.json")))
        let model = try Self.load("phi3", form)
        let adapter = try LoRAAdapter(path: dir.path, model: model.config, maxRank: 8)
        #expect(adapter.config.targets == Set(LoRATarget.allCases))
        for l in 0..<model.config.layerCount { #expect(adapter.layers[l].count == LoRATarget.allCases.count) }
        func logprobs(_ lora: LoRAAdapter?) -> [[Double]] {
            let cache = SequenceKVCache(config: model.config, capacity: expected.prompt.count, blockSize: 4, dtype: .float32)
            let input = SequenceInput(tokens: expected.prompt, firstPosition: 0, blockTable: cache.blockTable, needsAllLogits: true, lora: lora)
            let logits = model.forward([input], kv: cache.storage)
            return expected.prompt.indices.map { Self.logSoftmax(Array(logits[$0])) }
        }
        let adapted = logprobs(adapter), plain = logprobs(nil)
        var worst = 0.0, moved = 0.0
        for (p, (ids, want)) in zip(expected.top5_ids, expected.top5_logprobs).enumerated() {
            for (id, w) in zip(ids, want) {
                worst = max(worst, abs(adapted[p][id] - w))
                moved = max(moved, abs(plain[p][id] - w))
            }
        }
        #expect(worst <= 1e-3, "\(form): worst top-5 gap to transformers + PEFT \(worst)")
        #expect(moved > 0.1, "\(form): the adapter should move the outputs (\(moved))")
        print("tiny phi3 \(form) with the fused-module adapter: worst top-5 gap \(worst) (the base model is \(moved) away)")
    }
}

extension TinyModelReferenceTests {
    /// A lone decode token far enough in splits its attention across threads and merges the
    /// parts (gpt-oss's sinks added once, at the merge): its logits equal the same position's
    /// from a prefill, whose attention is not split. (This model's scores dwarf its sinks, so the
    /// sinks' part of the merge is checked by the kernel tests, AttentionTests.) Matmul inputs are
    /// two int8 terms on both paths, and a last-bit difference upstream can round a term the other
    /// way: ~1e-3 of noise here, against 0.7 for a merge that drops one part.
    @Test func splitDecodeAttentionAgreesWithPrefill() throws {
        let dir = TestPaths.tinyModels.appendingPathComponent("gpt_oss_mxfp4/hf").path
        let model = try DecoderModel(directory: dir, pool: ThreadPool(threadCount: 2), maxBatchTokens: 64)
        var rng = SplitMix64(seed: 9)
        let tokens = (0..<200).map { _ in Int(3 + rng.next() % 380) }
        let whole = SequenceKVCache(config: model.config, capacity: 200, blockSize: 16, dtype: .float32)
        let all = model.forward([SequenceInput(tokens: tokens, firstPosition: 0, blockTable: whole.blockTable, needsAllLogits: true)],
                                kv: whole.storage)
        let want = Array(all[199])
        let stepwise = SequenceKVCache(config: model.config, capacity: 200, blockSize: 16, dtype: .float32)
        _ = model.forward(tokens: Array(tokens[..<199]), cache: stepwise)
        let got = model.forward(tokens: [tokens[199]], cache: stepwise)
        let diff = zip(got, want).map { abs($0 - $1) }.max()!
        #expect(diff < 5e-3, "\(diff)")
    }
}

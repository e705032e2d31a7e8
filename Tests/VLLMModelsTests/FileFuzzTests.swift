import Foundation
import Testing
import VLLMCompute
import VLLMTestSupport
@testable import VLLMModels

/// Corpus-driven fuzzing of every model-file parser: random byte flips, truncations and
/// structured mutations (hostile counts, lengths, dimensions, offsets, type ids, alignments,
/// header lengths, JSON tokens, deep nesting) of a valid file. Each case must end in success or
/// in an error naming the file; a trap kills the test process. Budget: `FuzzBudget`.
@Suite(.serialized) struct FileFuzzTests {
    /// The default model's header, metadata and tensor infos, plus config validation and tensor
    /// binding (which reads only the norm vectors); the tensor data is a hole in a sparse file.
    @Test func realModelHeader() throws {
        let real = try GGUFFile(path: TestPaths.defaultModel)
        let headerEnd = try #require(real.tensors.map(\.fileOffset).min())
        let corpus = Array(UnsafeRawBufferPointer(start: real.file.base, count: headerEnd))
        let layout = GGUFLayout(corpus), size = real.file.count
        #expect(layout.dataStart == headerEnd)
        let fuzz = try FuzzHarness(format: "gguf-model")
        for i in 0..<FuzzBudget.cases {
            var rng = FuzzRandom(seed: FuzzBudget.seed, format: fuzz.format, index: i)
            let path = fuzz.path(i, ext: "gguf")
            var bytes = corpus, fileSize = size, what: String
            if i == 0 {
                what = "unmutated"
            } else {
                (what, fileSize) = Self.mutateGGUF(&bytes, layout: layout, size: size, rng: &rng)
            }
            try fuzz.write(Array(bytes.prefix(fileSize)), to: path, size: fileSize)
            fuzz.check(what, path: path) {
                let f = try GGUFFile(path: path)
                let c = try ModelConfig(gguf: f)
                _ = try DecoderWeights(source: f, config: c)
            }
            if i == 0 { #expect(fuzz.accepted == 1, "the unmutated header must load") }
            try? FileManager.default.removeItem(atPath: path)
        }
        fuzz.finish()
    }

    /// A tiny Llama GGUF built by the test, loaded whole (config, weights, repacking, buffers).
    @Test func tinyModel() throws {
        let corpus = TinyLlama.bytes()
        let layout = GGUFLayout(corpus)
        let pool = ThreadPool(threadCount: 1)
        let fuzz = try FuzzHarness(format: "gguf-tiny")
        for i in 0..<FuzzBudget.cases {
            var rng = FuzzRandom(seed: FuzzBudget.seed, format: fuzz.format, index: i)
            let path = fuzz.path(i, ext: "gguf")
            var bytes = corpus, what = "unmutated", size = corpus.count
            if i > 0 { (what, size) = Self.mutateGGUF(&bytes, layout: layout, size: corpus.count, rng: &rng) }
            try fuzz.write(Array(bytes.prefix(size)), to: path)
            fuzz.check(what, path: path) {
                _ = try DecoderModel(gguf: GGUFFile(path: path), pool: pool, maxBatchTokens: 4)
            }
            if i == 0 { #expect(fuzz.accepted == 1, "the unmutated tiny model must load") }
            try? FileManager.default.removeItem(atPath: path)
        }
        fuzz.finish()
    }

    /// A small safetensors file with F32, F16 and BF16 tensors, parsed and every tensor read.
    @Test func safetensors() throws {
        let sample = SafetensorsWriter.sample()
        let fuzz = try FuzzHarness(format: "safetensors")
        for i in 0..<FuzzBudget.cases {
            var rng = FuzzRandom(seed: FuzzBudget.seed, format: fuzz.format, index: i)
            let path = fuzz.path(i, ext: "safetensors")
            let (bytes, what) = i == 0 ? (sample.bytes(), "unmutated") : SafetensorsMutator.mutate(sample, rng: &rng)
            try fuzz.write(bytes, to: path)
            fuzz.check(what, path: path) {
                let f = try SafetensorsFile(path: path)
                for t in f.tensors { _ = try f.floats(t) }
            }
            if i == 0 { #expect(fuzz.accepted == 1, "the unmutated safetensors file must load") }
            try? FileManager.default.removeItem(atPath: path)
        }
        fuzz.finish()
    }

    /// A PEFT LoRA adapter directory for the tiny model: its adapter_config.json, its
    /// adapter_model.safetensors, or both corrupted, or files missing.
    @Test func loraAdapter() throws {
        let model = try ModelConfig(gguf: GGUFFile(file: MappedFile(copying: TinyLlama.bytes(), path: "tiny.gguf")))
        let config = Array(TinyLoRA.config.utf8), weights = TinyLoRA.weights()
        let fuzz = try FuzzHarness(format: "lora")
        for i in 0..<FuzzBudget.cases {
            var rng = FuzzRandom(seed: FuzzBudget.seed, format: fuzz.format, index: i)
            let dir = fuzz.path(i, ext: "adapter")
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
            var c = config, w = weights.bytes(), what = "unmutated"
            if i > 0 {
                let part = rng.below(100)
                var parts: [String] = []
                if part < 45 || part >= 90 {
                    switch rng.below(3) {
                    case 0: parts.append("config " + ByteMutations.flipBytes(&c, rng: &rng))
                    case 1: parts.append("config " + ByteMutations.truncate(&c, rng: &rng))
                    default: let m = JSONMutations.mutate(c, rng: &rng); c = m.text; parts.append("config json: " + m.what)
                    }
                }
                if part < 5 {
                    // target_modules as a regular expression nested deep enough to exhaust a
                    // recursive regex parser.
                    let depth = rng.pick([100, 10_000, 200_000])
                    let regex = String(repeating: "(", count: depth) + "q_proj" + String(repeating: ")", count: depth)
                    c = Array(String(decoding: config, as: UTF8.self)
                        .replacingOccurrences(of: "[\"q_proj\", \"v_proj\"]", with: "\"\(regex)\"").utf8)
                    parts = ["config: target_modules regex nested \(depth) deep"]
                }
                if part >= 45 {
                    let m = SafetensorsMutator.mutate(weights, rng: &rng); w = m.bytes; parts.append("weights " + m.what)
                }
                what = parts.joined(separator: "; ")
            }
            try TinyLoRA.write(config: c, weights: w, to: dir)
            if i > 0, rng.chance(3) {
                let gone = rng.pick(["adapter_config.json", "adapter_model.safetensors"])
                try FileManager.default.removeItem(atPath: dir + "/" + gone)
                what += "; \(gone) removed"
            }
            fuzz.check(what, path: dir) {
                _ = try LoRAAdapter(path: dir, model: model, maxRank: 64)
            }
            if i == 0 { #expect(fuzz.accepted == 1, "the unmutated adapter must load") }
            try? FileManager.default.removeItem(atPath: dir)
        }
        fuzz.finish()
    }

    /// One GGUF mutant: a structured field change, byte flips (half of them in the header's
    /// integer fields), a truncation, or a field change plus flips. Returns what was done and
    /// the file size to write (shorter than `size` for truncations).
    static func mutateGGUF(_ bytes: inout [UInt8], layout: GGUFLayout, size: Int, rng: inout FuzzRandom) -> (String, Int) {
        switch rng.below(100) {
        case ..<40:
            return (layout.mutateField(&bytes, rng: &rng), size)
        case ..<70:
            // Focus on the fixed header, the first key/values and the tensor-info table's start.
            let focus = rng.chance(50) ? 0..<min(4096, bytes.count) : layout.tensorInfoStart..<bytes.count
            return (ByteMutations.flipBytes(&bytes, focus: focus, rng: &rng), size)
        case ..<85:
            let n = rng.chance(70) ? rng.below(bytes.count) : bytes.count + rng.below(max(size - bytes.count, 1))
            return ("truncate to \(n) bytes", n)
        default:
            let a = layout.mutateField(&bytes, rng: &rng)
            return (a + "; " + ByteMutations.flipBytes(&bytes, rng: &rng), size)
        }
    }
}

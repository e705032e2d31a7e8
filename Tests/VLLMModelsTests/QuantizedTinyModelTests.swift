import Foundation
import Testing
import VLLMTestSupport
import VLLMCompute
@testable import VLLMModels

/// The tiny Llama with every 2-D weight stored in one quantized type (tiny-models/llama/quant,
/// made by scripts/make-quant-fixtures.py) loads and computes what the same model computes with
/// those weights' exact values in F32: the quantized kernels (per-row dots for short batches,
/// dequantized GEMM panels for the prompt) against the fp32 ones.
///
/// Tolerance 1e-3 on log-probabilities: both models hold identical weight values, so they differ
/// only in fp32 summation order (relative ~1e-6 per dot over rows of 64-128 elements), which
/// moves a logprob of this model by ~1e-5; 1e-3 is what the transformers comparison allows.
@Suite struct QuantizedTinyModelTests {
    static let types: [GGMLType] = [.q5_0, .q5_1, .iq4_NL]

    static func file(_ type: GGMLType) throws -> GGUFFile {
        try GGUFFile(path: TestPaths.tinyModels.appendingPathComponent("llama/quant/llama-\(type.description.lowercased()).gguf").path)
    }

    /// `f` with every tensor dequantized to F32 (the values ggml defines), as GGUF bytes.
    static func f32Twin(_ f: GGUFFile) -> [UInt8] {
        var w = GGUFWriter()
        w.metadata = f.metadata.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        for t in f.tensors {
            let columns = t.shape[0], rows = t.elementCount / columns
            let m = WeightMatrix(type: t.type, data: f.data(of: t), rows: rows, columns: columns)
            var values = [Float](repeating: .nan, count: t.elementCount)
            values.withUnsafeMutableBufferPointer { v in
                for r in 0..<rows { m.dequantizeRow(r, into: v.baseAddress! + r * columns) }
            }
            w.tensors.append(.init(name: t.name, shape: t.shape, type: GGMLType.f32.rawValue,
                                   data: values.withUnsafeBytes { Array($0) }))
        }
        return w.bytes()
    }

    /// Log-probabilities at every prompt position, then along 8 greedy steps: (ids, rows).
    static func run(_ model: DecoderModel, prompt: [Int], steps: Int) -> (greedy: [Int], rows: [[Double]]) {
        let cache = SequenceKVCache(config: model.config, capacity: prompt.count + steps, blockSize: 4, dtype: .float32)
        let input = SequenceInput(tokens: prompt, firstPosition: 0, blockTable: cache.blockTable, needsAllLogits: true)
        let logits = model.forward([input], kv: cache.storage)
        cache.count = prompt.count
        var rows = (0..<prompt.count).map { TinyModelReferenceTests.logSoftmax(Array(logits[$0])) }
        var greedy: [Int] = []
        for _ in 0..<steps {
            let last = rows[rows.count - 1]
            let next = last.indices.max { last[$0] < last[$1] }!
            greedy.append(next)
            rows.append(TinyModelReferenceTests.logSoftmax(model.forward(tokens: [next], cache: cache)))
        }
        return (greedy, rows)
    }

    @Test(arguments: types)
    func quantizedModelMatchesItsF32Values(_ type: GGMLType) throws {
        let f = try Self.file(type)
        for t in f.tensors { #expect(t.type == (t.shape.count == 2 ? type : .f32), "\(t.name) is \(t.type)") }
        let pool = ThreadPool(threadCount: 2)
        let quantized = try DecoderModel(gguf: f, pool: pool, maxBatchTokens: 16)
        let twin = try DecoderModel(gguf: GGUFFile(file: MappedFile(copying: Self.f32Twin(f), path: "<f32 twin>")),
                                    pool: pool, maxBatchTokens: 16)
        let data = try Data(contentsOf: TestPaths.tinyModels.appendingPathComponent("llama/expected.json"))
        let expected = try JSONDecoder().decode(TinyModelReferenceTests.Expected.self, from: data)
        for c in expected.cases {
            let q = Self.run(quantized, prompt: c.prompt, steps: c.greedy.count)
            let w = Self.run(twin, prompt: c.prompt, steps: c.greedy.count)
            var worst = 0.0
            for (a, b) in zip(q.rows, w.rows) {
                let top = b.indices.sorted { b[$0] > b[$1] }.prefix(5)
                for id in top { worst = max(worst, abs(a[id] - b[id])) }
            }
            #expect(worst <= 1e-3, "\(type) prompt of \(c.prompt.count): worst top-5 logprob difference \(worst)")
            #expect(q.greedy == w.greedy, "\(type): greedy \(q.greedy) vs F32 \(w.greedy)")
            // How far quantizing moved the model from transformers' BF16 one (information only:
            // random weights quantized to 4-5 bits).
            var drift = 0.0
            for (p, (ids, lps)) in zip(c.top5_ids, c.top5_logprobs).enumerated() {
                for (id, lp) in zip(ids, lps) { drift = max(drift, abs(q.rows[p][id] - lp)) }
            }
            let agree = zip(q.greedy, c.greedy).filter { $0 == $1 }.count
            print("tiny llama \(type) prompt of \(c.prompt.count): vs F32 twin \(worst); vs transformers top-5 drift \(drift), greedy \(agree)/\(c.greedy.count) agree")
        }
    }
}

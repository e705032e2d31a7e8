@testable import VLLMModels

/// GGUF files built in memory from metadata and tensors given in order, so tests can build
/// small models with every field under their control.
struct GGUFBuilder {
    struct Tensor {
        let name: String
        /// ggml `ne` order: innermost dimension first.
        let shape: [Int]
        let type: UInt32
        let data: [UInt8]
    }

    var metadata: [(String, GGUFValue)] = []
    var tensors: [Tensor] = []
    var alignment = 32

    func bytes() -> [UInt8] {
        let writer = GGUFWriter(metadata: metadata, tensors: tensors.map {
            GGUFWriter.TensorInfo(name: $0.name, shape: $0.shape, type: $0.type, byteCount: $0.data.count)
        }, alignment: alignment)
        var out = writer.head()
        for t in tensors { out += t.data + writer.padding(after: t.data.count) }
        return out
    }
}

/// A two-layer Llama-shaped model small enough to load whole for every fuzz case: width 64,
/// two query heads of 32 sharing one KV head, FFN 96, 32 tokens; Q8_0 matrices (all-zero blocks
/// are valid), F32 norms of ones.
enum TinyLlama {
    static let hidden = 64, ffn = 96, heads = 2, kvHeads = 1, headDim = 32, vocab = 32, layers = 2

    static func writer() -> GGUFBuilder {
        var w = GGUFBuilder()
        w.metadata = [
            ("general.architecture", .string("llama")),
            ("general.alignment", .uint32(32)),
            ("llama.block_count", .uint32(UInt32(layers))),
            // Integer keys in several widths (the spec allows any, converters write u32): 64-bit
            // ones let structured mutations reach values that overflow products of sizes.
            ("llama.context_length", .uint64(64)),
            ("llama.embedding_length", .uint32(UInt32(hidden))),
            ("llama.feed_forward_length", .int64(Int64(ffn))),
            ("llama.attention.head_count", .uint32(UInt32(heads))),
            ("llama.attention.head_count_kv", .int32(Int32(kvHeads))),
            ("llama.attention.key_length", .uint64(UInt64(headDim))),
            ("llama.attention.layer_norm_rms_epsilon", .float32(1e-5)),
            ("llama.rope.freq_base", .float32(10000)),
            ("llama.vocab_size", .uint32(UInt32(vocab))),
            ("tokenizer.ggml.model", .string("gpt2")),
            ("tokenizer.ggml.tokens", .array((0..<vocab).map { .string("t\($0)") })),
            ("tokenizer.ggml.token_type", .array((0..<vocab).map { _ in .int32(1) })),
        ]
        func matrix(_ name: String, columns: Int, rows: Int) -> GGUFBuilder.Tensor {
            // Q8_0 (ggml type 8): 34-byte blocks of 32 elements.
            GGUFBuilder.Tensor(name: name, shape: [columns, rows], type: 8,
                              data: [UInt8](repeating: 0, count: columns / 32 * 34 * rows))
        }
        func norm(_ name: String) -> GGUFBuilder.Tensor {
            let one = withUnsafeBytes(of: Float(1).bitPattern.littleEndian, Array.init)
            return GGUFBuilder.Tensor(name: name, shape: [hidden], type: 0, data: Array((0..<hidden).map { _ in one }.joined()))
        }
        let q = heads * headDim, kv = kvHeads * headDim
        w.tensors = [matrix("token_embd.weight", columns: hidden, rows: vocab)]
        for i in 0..<layers {
            let p = "blk.\(i)."
            w.tensors += [norm(p + "attn_norm.weight"),
                          matrix(p + "attn_q.weight", columns: hidden, rows: q),
                          matrix(p + "attn_k.weight", columns: hidden, rows: kv),
                          matrix(p + "attn_v.weight", columns: hidden, rows: kv),
                          matrix(p + "attn_output.weight", columns: q, rows: hidden),
                          norm(p + "ffn_norm.weight"),
                          matrix(p + "ffn_gate.weight", columns: hidden, rows: ffn),
                          matrix(p + "ffn_up.weight", columns: hidden, rows: ffn),
                          matrix(p + "ffn_down.weight", columns: ffn, rows: hidden)]
        }
        w.tensors.append(norm("output_norm.weight"))
        return w
    }

    static func bytes() -> [UInt8] { writer().bytes() }
}

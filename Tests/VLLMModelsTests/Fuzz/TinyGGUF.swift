@testable import VLLMModels

/// Writes GGUF files (ggml's docs/gguf.md, version 3, little-endian) from metadata and tensors
/// given in order, so tests can build small models with every field under their control.
struct GGUFWriter {
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
        var out: [UInt8] = []
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func string(_ s: String) { u64(UInt64(s.utf8.count)); out += s.utf8 }
        func typeID(_ v: GGUFValue) -> UInt32 {
            switch v {
            case .uint8: 0
            case .int8: 1
            case .uint16: 2
            case .int16: 3
            case .uint32: 4
            case .int32: 5
            case .float32: 6
            case .bool: 7
            case .string: 8
            case .array: 9
            case .uint64: 10
            case .int64: 11
            case .float64: 12
            }
        }
        func value(_ v: GGUFValue) {
            switch v {
            case let .uint8(x): out.append(x)
            case let .int8(x): out.append(UInt8(bitPattern: x))
            case let .uint16(x): withUnsafeBytes(of: x.littleEndian) { out += $0 }
            case let .int16(x): withUnsafeBytes(of: x.littleEndian) { out += $0 }
            case let .uint32(x): u32(x)
            case let .int32(x): u32(UInt32(bitPattern: x))
            case let .float32(x): u32(x.bitPattern)
            case let .bool(x): out.append(x ? 1 : 0)
            case let .string(x): string(x)
            case let .array(xs):
                // Element type of an empty array: uint8, as llama.cpp's writer does for none.
                u32(xs.first.map(typeID) ?? 0); u64(UInt64(xs.count))
                xs.forEach(value)
            case let .uint64(x): u64(x)
            case let .int64(x): u64(UInt64(bitPattern: x))
            case let .float64(x): u64(x.bitPattern)
            }
        }
        u32(0x4655_4747); u32(3)
        u64(UInt64(tensors.count)); u64(UInt64(metadata.count))
        for (k, v) in metadata { string(k); u32(typeID(v)); value(v) }
        // Each tensor's data starts aligned, relative to the data section.
        var offsets: [Int] = [], size = 0
        for t in tensors {
            offsets.append(size)
            size = (size + t.data.count + alignment - 1) / alignment * alignment
        }
        for (t, off) in zip(tensors, offsets) {
            string(t.name); u32(UInt32(t.shape.count))
            t.shape.forEach { u64(UInt64($0)) }
            u32(t.type); u64(UInt64(off))
        }
        let pad = { out += [UInt8](repeating: 0, count: (alignment - out.count % alignment) % alignment) }
        pad()
        for t in tensors { out += t.data; pad() }
        return out
    }
}

/// A two-layer Llama-shaped model small enough to load whole for every fuzz case: width 64,
/// two query heads of 32 sharing one KV head, FFN 96, 32 tokens; Q8_0 matrices (all-zero blocks
/// are valid), F32 norms of ones.
enum TinyLlama {
    static let hidden = 64, ffn = 96, heads = 2, kvHeads = 1, headDim = 32, vocab = 32, layers = 2

    static func writer() -> GGUFWriter {
        var w = GGUFWriter()
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
        func matrix(_ name: String, columns: Int, rows: Int) -> GGUFWriter.Tensor {
            // Q8_0 (ggml type 8): 34-byte blocks of 32 elements.
            GGUFWriter.Tensor(name: name, shape: [columns, rows], type: 8,
                              data: [UInt8](repeating: 0, count: columns / 32 * 34 * rows))
        }
        func norm(_ name: String) -> GGUFWriter.Tensor {
            let one = withUnsafeBytes(of: Float(1).bitPattern.littleEndian, Array.init)
            return GGUFWriter.Tensor(name: name, shape: [hidden], type: 0, data: Array((0..<hidden).map { _ in one }.joined()))
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

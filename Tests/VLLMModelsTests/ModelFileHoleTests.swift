import Foundation
import Testing
import VLLMCompute
@testable import VLLMModels

/// The corrupt-file inputs the fuzzers found or the audit turned up, each pinned to the clear
/// error it must now give (the file named, the problem said).
@Suite struct ModelFileHoleTests {
    /// The tiny model with metadata `key` set to `value` (added when absent, dropped when nil).
    static func tiny(_ key: String, _ value: GGUFValue?, edit: (inout GGUFBuilder) -> Void = { _ in }) -> [UInt8] {
        var w = TinyLlama.writer()
        if let i = w.metadata.firstIndex(where: { $0.0 == key }) {
            if let value { w.metadata[i].1 = value } else { w.metadata.remove(at: i) }
        } else if let value {
            w.metadata.append((key, value))
        }
        edit(&w)
        return w.bytes()
    }

    /// Parses and validates `bytes` as "tiny.gguf" and returns the error message ("" if none).
    static func error(_ bytes: [UInt8]) -> String {
        do {
            let f = try GGUFFile(file: MappedFile(copying: bytes, path: "/fuzz/tiny.gguf"))
            let c = try ModelConfig(gguf: f)
            _ = try DecoderWeights(source: f, config: c)
            return ""
        } catch {
            return error.description
        }
    }

    static func expectError(_ bytes: [UInt8], _ needle: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let m = error(bytes)
        #expect(m.contains(needle) && m.contains("/fuzz/tiny.gguf"), "\(m.isEmpty ? "accepted" : m)", sourceLocation: sourceLocation)
    }

    @Test func tinyModelLoads() {
        #expect(Self.error(TinyLlama.bytes()) == "")
    }

    @Test func everyGGMLTypeIDHasItsName() {
        let spec: [UInt32: String] = [0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 8: "Q8_0",
                                      9: "Q8_1", 10: "Q2_K", 11: "Q3_K", 12: "Q4_K", 13: "Q5_K", 14: "Q6_K", 15: "Q8_K",
                                      16: "IQ2_XXS", 17: "IQ2_XS", 18: "IQ3_XXS", 19: "IQ1_S", 20: "IQ4_NL", 21: "IQ3_S",
                                      22: "IQ2_S", 23: "IQ4_XS", 24: "I8", 25: "I16", 26: "I32", 27: "I64", 28: "F64",
                                      29: "IQ1_M", 30: "BF16", 34: "TQ1_0", 35: "TQ2_0", 39: "MXFP4"]
        for (id, name) in spec { #expect(GGMLType.name(id: id) == name) }
        #expect(GGMLType.describe(id: 6) == "Q5_0 (ggml type 6)")
        #expect(GGMLType.describe(id: 4) == "Q4_2 (ggml type 4, removed from ggml)")
        #expect(GGMLType.describe(id: 40) == "unknown ggml type 40")
    }

    @Test func unsupportedTensorTypesAreNamed() {
        // ggml types this engine does not read are refused by name, with the tensor named.
        for (id, name) in [(16, "IQ2_XXS"), (34, "TQ1_0"), (35, "TQ2_0"), (19, "IQ1_S")] as [(UInt32, String)] {
            var tensorName = ""
            let bytes = Self.tiny("general.name", nil) { w in
                let t = w.tensors[1]
                tensorName = t.name
                w.tensors[1] = .init(name: t.name, shape: t.shape, type: id, data: t.data)
            }
            Self.expectError(bytes, "tensor \(tensorName) has type \(name) (ggml type \(id)), which this engine does not support")
        }
        let bogus = Self.tiny("general.name", nil) { w in
            let t = w.tensors[1]
            w.tensors[1] = .init(name: t.name, shape: t.shape, type: 1000, data: t.data)
        }
        Self.expectError(bogus, "unknown ggml type 1000")
    }

    @Test func alignmentMustBeAPowerOfTwoInteger() {
        Self.expectError(Self.tiny("general.alignment", .uint32(0)), "general.alignment")
        Self.expectError(Self.tiny("general.alignment", .uint32(3)), "general.alignment")
        Self.expectError(Self.tiny("general.alignment", .string("32")), "general.alignment")
        Self.expectError(Self.tiny("general.alignment", .bool(true)), "general.alignment")
        Self.expectError(Self.tiny("general.alignment", .uint64(1 << 62)), "general.alignment")
    }

    @Test func duplicateKeysAndBadArraysAreRefused() {
        let dup = Self.tiny("general.name", nil) { $0.metadata.append(("llama.block_count", .uint32(2))) }
        Self.expectError(dup, "appears twice")
        // An empty array of value type 13: the count is 0, the type still has to be valid.
        var bytes = Self.tiny("zz.empty", .array([]))
        let needle: [UInt8] = Array("zz.empty".utf8) + [9, 0, 0, 0]
        let at = (0...bytes.count - needle.count).first { Array(bytes[$0..<$0 + needle.count]) == needle }!
        bytes[at + needle.count] = 13
        Self.expectError(bytes, "array of unknown value type 13")
    }

    /// A claimed array count above the cap is refused before any element is built, even when
    /// the file is long enough to hold that many elements.
    @Test func hugeArrayCountsAreRefused() {
        let n = GGUFCursor.maxArrayElements + 1
        var bytes: [UInt8] = [0, 0, 0, 0] + withUnsafeBytes(of: UInt64(n).littleEndian, Array.init)
        bytes += [UInt8](repeating: 0, count: n)
        let file = MappedFile(copying: bytes, path: "/fuzz/array.gguf")
        var c = GGUFCursor(base: file.base, count: file.count, path: file.path)
        #expect(throws: ModelLoadError.self) { try c.readValue(type: 9, key: "k") }
    }

    /// A claimed tensor count the file could hold (24 bytes each) but no model has.
    @Test func hugeTensorCountsAreRefused() {
        var bytes = TinyLlama.bytes()
        ByteMutations.write(UInt64(GGUFFile.maxTensors + 1), width: 8, at: 8, in: &bytes)
        bytes += [UInt8](repeating: 0, count: 24 * (GGUFFile.maxTensors + 1))
        Self.expectError(bytes, "tensor count 1048577 is above 1048576")
    }

    @Test func hyperparametersAreRangeChecked() {
        let cases: [(String, GGUFValue, String)] = [
            ("llama.attention.head_count", .uint32(0), "attention.head_count is 0"),
            ("llama.attention.head_count", .int32(-1), "attention.head_count is -1"),
            ("llama.attention.head_count_kv", .uint32(0), "head_count_kv is 0"),
            ("llama.attention.head_count_kv", .uint32(3), "head_count_kv is 3"),
            ("llama.block_count", .uint32(.max), "block_count is 4294967295"),
            ("llama.embedding_length", .uint64(1 << 62), "embedding_length is"),
            ("llama.feed_forward_length", .int64(-5), "feed_forward_length is -5"),
            ("llama.context_length", .uint64(1 << 40), "context_length is 1099511627776"),
            ("llama.vocab_size", .uint32(0), "vocab_size is 0"),
            ("llama.vocab_size", .uint32(16), "the tokenizer has 32 tokens but the vocabulary size is 16"),
            ("llama.attention.key_length", .uint32(1 << 31), "key_length is 2147483648"),
            ("llama.attention.key_length", .uint32(31), "head dimension 31 is odd"),
            ("llama.attention.layer_norm_rms_epsilon", .float32(.nan), "layer_norm_rms_epsilon is nan"),
            ("llama.rope.freq_base", .float32(0), "rope.freq_base is 0"),
            ("llama.rope.scaling.factor", .float32(-.infinity), "rope.scaling.factor is -inf"),
        ]
        for (key, value, needle) in cases { Self.expectError(Self.tiny(key, value), needle) }
        let llama3 = Self.tiny("llama.rope.scaling.type", .string("llama3")) {
            $0.metadata += [("llama.rope.scaling.factor", .float32(8)), ("llama.rope.scaling.low_freq_factor", .float32(4)),
                            ("llama.rope.scaling.high_freq_factor", .float32(4))]
        }
        Self.expectError(llama3, "llama3 rope scaling needs")
        Self.expectError(Self.tiny("llama.rope.scaling.type", .string("yarn")), "rope scaling 'yarn' needs llama.rope.scaling.factor")
    }
}

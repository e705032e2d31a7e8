import Foundation
import VLLMCompute

/// gpt-oss checkpoints keep each layer's experts stacked as transformers holds them, in one of
/// two forms:
/// - unquantized: `gate_up_proj` [experts, hidden, 2 × intermediate] with gate and up columns
///   interleaved (gate i at 2i, up i at 2i + 1) and `down_proj` [experts, intermediate, hidden],
///   both input-major (x · W);
/// - as released, MXFP4 in OpenAI's layout: `*_blocks` [experts, out, in / 32, 16] (two elements
///   a byte, element 2k in the low nibble of byte k, 2k + 1 in the high one) with `*_scales`
///   [experts, out, in / 32] (E8M0 exponents), gate and up rows interleaved the same way.
/// The engine reads experts as GGUF stacks them: output rows, expert after expert, MXFP4 blocks as
/// ggml's `block_mxfp4` (the scale byte, then 16 bytes holding element j in the low nibble of
/// byte j and element j + 16 in the high one; same E8M0 exponent and FP4 E2M1 codes). So each
/// stack is rewritten once at load into memory of its own, and the file's pages are dropped.
struct GptOssExperts {
    /// A converted stack: gate, up or down matrices, or gate/up biases (f32, experts × size).
    enum Part: String, CaseIterable {
        case gate, up, down, gateBias, upBias
    }

    /// The checkpoint's tensor of a name and the shard holding it.
    let find: (String) -> (file: SafetensorsFile, info: SafetensorsTensorInfo)?
    /// "model.layers.N.mlp.experts."
    let prefix: String
    /// The checkpoint (for errors).
    let path: String

    /// Whether this layer's experts are MXFP4 blocks.
    var isMXFP4: Bool { find(prefix + "gate_up_proj_blocks") != nil }

    /// Converts `part` (and its gate/up twin, which comes from the same source) into buffers the
    /// caller owns. Returns the converted tensors by part.
    func convert(_ part: Part, allocate: (Int) -> UnsafeMutableRawPointer) throws(ModelLoadError) -> [Part: SourceTensor] {
        switch part {
        case .gateBias, .upBias:
            let (file, t) = try info("gate_up_proj_bias", rank: 2)
            let values = try file.floats(t)
            let e = t.shape[0], f = t.shape[1] / 2
            var out: [Part: SourceTensor] = [:]
            for (p, parity) in [(Part.gateBias, 0), (.upBias, 1)] {
                let dst = allocate(e * f * 4).assumingMemoryBound(to: Float.self)
                for i in 0..<e * f { dst[i] = values[2 * i + parity] }
                out[p] = SourceTensor(type: .f32, rows: e, columns: f, data: dst)
            }
            return out
        case .gate, .up:
            return isMXFP4 ? try mxfp4(source: "gate_up_proj", interleaved: true, allocate: allocate)
                           : try dense(source: "gate_up_proj", interleaved: true, allocate: allocate)
        case .down:
            return isMXFP4 ? try mxfp4(source: "down_proj", interleaved: false, allocate: allocate)
                           : try dense(source: "down_proj", interleaved: false, allocate: allocate)
        }
    }

    private func info(_ name: String, rank: Int) throws(ModelLoadError) -> (file: SafetensorsFile, info: SafetensorsTensorInfo) {
        guard let (file, t) = find(prefix + name) else { throw .corrupt(path: path, reason: "tensor \(prefix + name) is missing") }
        guard t.shape.count == rank, t.shape.allSatisfy({ $0 > 0 }) else {
            throw .corrupt(path: file.path, reason: "tensor \(prefix + name) has shape \(t.shape), expected \(rank) positive dimensions")
        }
        return (file, t)
    }

    /// `[experts, in, out]` (out = 2 × intermediate when `interleaved`) to output rows.
    private func dense(source: String, interleaved: Bool, allocate: (Int) -> UnsafeMutableRawPointer) throws(ModelLoadError) -> [Part: SourceTensor] {
        let (file, t) = try info(source, rank: 3)
        guard let type = t.dtype.floatType else {
            throw .unsupported(path: file.path, reason: "tensor \(t.name) has dtype \(t.dtype.rawValue); expert weights must be F32, F16, BF16 or MXFP4 blocks")
        }
        let e = t.shape[0], cols = t.shape[1], width = t.shape[2]
        guard !interleaved || width % 2 == 0 else { throw .corrupt(path: file.path, reason: "tensor \(t.name) has an odd gate/up width \(width)") }
        let rows = interleaved ? width / 2 : width, size = t.dtype.size
        let src = file.file.base + t.fileRange.lowerBound
        var out: [Part: SourceTensor] = [:]
        for (part, parity) in interleaved ? [(Part.gate, 0), (.up, 1)] : [(Part.down, 0)] {
            let dst = allocate(e * rows * cols * size)
            let step = interleaved ? 2 : 1
            for x in 0..<e {
                let s = src + x * cols * width * size, d = dst + x * rows * cols * size
                for c in 0..<cols {
                    for r in 0..<rows {
                        (d + (r * cols + c) * size).copyMemory(from: s + (c * width + r * step + parity) * size, byteCount: size)
                    }
                }
            }
            out[part] = SourceTensor(type: type, rows: e * rows, columns: cols, data: dst)
        }
        file.file.releasePages(src, byteCount: t.fileRange.count)
        return out
    }

    /// `*_blocks`/`*_scales` to ggml MXFP4 rows.
    private func mxfp4(source: String, interleaved: Bool, allocate: (Int) -> UnsafeMutableRawPointer) throws(ModelLoadError) -> [Part: SourceTensor] {
        let (blockFile, blocks) = try info(source + "_blocks", rank: 4), (scaleFile, scales) = try info(source + "_scales", rank: 3)
        guard blocks.dtype == .u8, scales.dtype == .u8, blocks.shape[3] == 16, Array(blocks.shape[0..<3]) == scales.shape else {
            throw .corrupt(path: path, reason: "MXFP4 tensors \(blocks.name) \(blocks.shape) and \(scales.name) \(scales.shape) do not match (U8 [experts, rows, blocks, 16] and [experts, rows, blocks])")
        }
        let e = blocks.shape[0], srcRows = blocks.shape[1], nb = blocks.shape[2]
        guard !interleaved || srcRows % 2 == 0 else { throw .corrupt(path: path, reason: "tensor \(blocks.name) has an odd gate/up row count \(srcRows)") }
        let rows = interleaved ? srcRows / 2 : srcRows, rowBytes = nb * 17
        let b = (blockFile.file.base + blocks.fileRange.lowerBound).assumingMemoryBound(to: UInt8.self)
        let s = (scaleFile.file.base + scales.fileRange.lowerBound).assumingMemoryBound(to: UInt8.self)
        var out: [Part: SourceTensor] = [:]
        for (part, parity) in interleaved ? [(Part.gate, 0), (.up, 1)] : [(Part.down, 0)] {
            let dst = allocate(e * rows * rowBytes).assumingMemoryBound(to: UInt8.self)
            for x in 0..<e {
                for r in 0..<rows {
                    let srcRow = x * srcRows + (interleaved ? 2 * r + parity : r)
                    let d = dst + (x * rows + r) * rowBytes
                    for k in 0..<nb {
                        let q = b + (srcRow * nb + k) * 16, o = d + k * 17
                        o[0] = s[srcRow * nb + k]
                        // Element n: byte n/2, low nibble when n is even.
                        func code(_ n: Int) -> UInt8 { n % 2 == 0 ? q[n / 2] & 0x0F : q[n / 2] >> 4 }
                        for j in 0..<16 { o[1 + j] = code(j) | code(j + 16) << 4 }
                    }
                }
            }
            out[part] = SourceTensor(type: .mxfp4, rows: e * rows, columns: nb * 32, data: dst)
        }
        blockFile.file.releasePages(b, byteCount: blocks.fileRange.count)
        scaleFile.file.releasePages(s, byteCount: scales.fileRange.count)
        return out
    }
}

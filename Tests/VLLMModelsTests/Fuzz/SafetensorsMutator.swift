/// Mutants of a valid safetensors file (layout per the huggingface/safetensors README).
enum SafetensorsMutator {
    static func mutate(_ w: SafetensorsWriter, rng: inout FuzzRandom) -> (bytes: [UInt8], what: String) {
        let header = Array(w.headerJSON().utf8), data = w.data
        var bytes = SafetensorsWriter.file(header: w.headerJSON(), data: data)
        switch rng.below(100) {
        case ..<25:
            return (bytes, ByteMutations.flipBytes(&bytes, focus: 0..<8 + header.count, rng: &rng))
        case ..<35:
            return (bytes, ByteMutations.truncate(&bytes, rng: &rng))
        case ..<55:
            // The u64 header length: past the file, at its very end, one off, absurd.
            let n = UInt64(header.count), size = UInt64(bytes.count)
            let v = rng.chance(50) ? rng.pick([size - 8, size - 7, size, n + 1, n - 1, 0, 1, 2, 100_000_000, 100_000_001])
                                   : ByteMutations.hostile(width: 8, original: n, rng: &rng)
            ByteMutations.write(v, width: 8, at: 0, in: &bytes)
            return (bytes, "header length \(n) -> \(v)")
        default:
            // A hostile JSON token; the length field follows the new text unless 20% of the time.
            let (text, what) = JSONMutations.mutate(header, rng: &rng)
            let length = rng.chance(20) ? UInt64(header.count) : UInt64(text.count)
            let out = withUnsafeBytes(of: length.littleEndian, Array.init) + text + data
            return (out, "json: \(what)")
        }
    }
}

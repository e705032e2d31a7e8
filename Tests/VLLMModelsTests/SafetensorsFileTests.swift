import Foundation
import Testing
@testable import VLLMModels
import VLLMCompute

/// Builds safetensors bytes by hand, so every field can be made wrong on purpose.
private func safetensors(header: String, data: [UInt8], pad: Int = 0) -> [UInt8] {
    let h = Array(header.utf8) + [UInt8](repeating: UInt8(ascii: " "), count: pad)
    return withUnsafeBytes(of: UInt64(h.count).littleEndian, Array.init) + h + data
}

private func entry(_ name: String, _ dtype: String, _ shape: [Int], _ b: Int, _ e: Int) -> String {
    "\"\(name)\": {\"dtype\": \"\(dtype)\", \"shape\": \(shape), \"data_offsets\": [\(b), \(e)]}"
}

private func load(_ bytes: [UInt8]) throws -> SafetensorsFile {
    try SafetensorsFile(file: MappedFile(copying: bytes, path: "t.safetensors"))
}

private func expectError(_ bytes: [UInt8], _ needle: String, sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        _ = try load(bytes)
        Issue.record("accepted a bad file (wanted: \(needle))", sourceLocation: sourceLocation)
    } catch {
        let m = "\(error)"
        #expect(m.contains(needle) && m.contains("t.safetensors") && m.contains("safetensors file"),
                "\(m)", sourceLocation: sourceLocation)
    }
}

@Suite struct SafetensorsFileTests {
    /// Two tensors: a 2×3 F32 and a 2-element F16, plus metadata and header padding.
    static func valid() -> [UInt8] {
        let f32: [Float] = [1, -2, 3.5, 0, 1e-3, -7]
        let f16: [Float16] = [0.5, -1.25]
        let data = f32.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
            + f16.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
        let header = "{\"__metadata__\": {\"format\": \"pt\"}, \(entry("b", "F16", [2], 24, 28)), \(entry("a", "F32", [2, 3], 0, 24))}"
        return safetensors(header: header, data: data, pad: 5)
    }

    @Test func readsTensorsMetadataAndFloats() throws {
        let f = try load(Self.valid())
        #expect(f.metadata == ["format": "pt"])
        #expect(f.tensors.map(\.name) == ["a", "b"])
        #expect(f.tensor(named: "a")?.shape == [2, 3])
        #expect(try f.floats(named: "a") == [1, -2, 3.5, 0, 1e-3, -7])
        #expect(try f.floats(named: "b") == [0.5, -1.25])
        #expect(throws: ModelLoadError.self) { try f.floats(named: "missing") }
    }

    @Test func readsBF16AndRefusesIntegers() throws {
        let bf: [UInt16] = [0x3F80, 0xC040]  // 1.0, -3.0
        let data: [UInt8] = bf.flatMap { v -> [UInt8] in withUnsafeBytes(of: v.littleEndian, Array.init) } + [1, 2, 3, 4]
        let f = try load(safetensors(header: "{\(entry("x", "BF16", [2], 0, 4)), \(entry("i", "I32", [1], 4, 8))}", data: data))
        #expect(try f.floats(named: "x") == [1, -3])
        #expect(throws: ModelLoadError.self) { try f.floats(named: "i") }
    }

    @Test func eachCorruptionIsAClearError() {
        let four = [UInt8](repeating: 0, count: 4)
        expectError([1, 0, 0], "shorter than the 8-byte header length")
        expectError(withUnsafeBytes(of: UInt64(1 << 40).littleEndian, Array.init) + [0x7B], "header length")
        expectError(withUnsafeBytes(of: UInt64(100).littleEndian, Array.init) + Array("{}".utf8), "runs past the end")
        expectError(safetensors(header: "[1, 2]", data: []), "does not start with '{'")
        expectError(safetensors(header: "{\"a\": ", data: []), "not a JSON object")
        expectError(safetensors(header: "{\"a\": 3}", data: []), "tensor a is not an object")
        expectError(safetensors(header: "{\(entry("a", "F33", [1], 0, 4))}", data: four), "unknown dtype F33")
        expectError(safetensors(header: "{\(entry("a", "F32", [-1], 0, 4))}", data: four), "bad shape")
        expectError(safetensors(header: "{\"a\": {\"dtype\": \"F32\", \"shape\": [1.5], \"data_offsets\": [0, 4]}}", data: four), "bad shape")
        expectError(safetensors(header: "{\"a\": {\"dtype\": \"F32\", \"shape\": [1]}}", data: four), "needs data_offsets")
        expectError(safetensors(header: "{\(entry("a", "F32", [1], 0, 8))}", data: four), "outside the 4-byte data buffer")
        expectError(safetensors(header: "{\(entry("a", "F32", [1], 4, 0))}", data: four), "outside")
        expectError(safetensors(header: "{\(entry("a", "F32", [2], 0, 4))}", data: four), "needs 8 bytes but data_offsets give 4")
        expectError(safetensors(header: "{\(entry("a", "F32", [1], 0, 4)), \(entry("b", "F32", [1], 2, 6))}",
                                data: four + four), "overlaps")
        expectError(safetensors(header: "{\(entry("a", "F32", [1], 4, 8))}", data: four + four), "hole of 4 bytes")
        expectError(safetensors(header: "{\(entry("a", "F32", [1], 0, 4))}", data: four + four), "not covered")
        expectError(safetensors(header: "{\"__metadata__\": {\"k\": 1}}", data: []), "__metadata__ value of k")
        expectError(safetensors(header: "{\(entry("a", "F32", [Int.max, 4], 0, 4))}", data: four), "too large")
    }

    @Test func missingFileNamesThePath() {
        do { _ = try SafetensorsFile(path: "/nonexistent/adapter_model.safetensors"); Issue.record("no error") } catch {
            #expect("\(error)".contains("/nonexistent/adapter_model.safetensors"))
        }
    }

    /// Random truncations and byte flips of valid files: each either loads (a flip inside tensor
    /// data is harmless) or throws; none may trap.
    @Test func randomCorruptionNeverTraps() throws {
        var rng = SplitMix64(seed: 7)
        let good = Self.valid()
        var rejected = 0
        for trial in 0..<2000 {
            var bytes = good
            if trial % 2 == 0 {
                bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &rng)))
            } else {
                for _ in 0..<Int.random(in: 1...3, using: &rng) {
                    bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
            }
            do {
                let f = try load(bytes)
                for t in f.tensors { _ = try? f.floats(t) }
            } catch let e as ModelLoadError {
                rejected += 1
                #expect("\(e)".contains("t.safetensors"))
            }
        }
        #expect(rejected > 1000)  // every truncation at least
    }
}

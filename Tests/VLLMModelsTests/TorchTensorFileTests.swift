import Foundation
import Testing
import VLLMTestSupport
import VLLMModels
import VLLMCompute

/// The restricted `torch.save` reader on files the real torch wrote, and on what it must refuse.
@Suite struct TorchTensorFileTests {
    struct Expected: Decodable { let shape: [Int]; let values: [Double] }

    static func bytes(_ path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: TestPaths.torchTensors.appendingPathComponent(path)))
    }

    @Test(arguments: ["f32_2x3", "f16_3x4", "bf16_1x4x5", "transposed_4x3", "offset_2x2", "vector_5"])
    func readsWhatTorchSaved(_ name: String) throws {
        let all = try JSONDecoder().decode([String: Expected].self,
                                           from: Data(contentsOf: TestPaths.torchTensors.appendingPathComponent("good/expected.json")))
        let want = try #require(all[name])
        let t = try TorchTensorFile(bytes: Self.bytes("good/\(name).pt"), maxElements: 1000)
        #expect(t.shape == want.shape)
        #expect(t.values.map(Double.init) == want.values, "\(name): element order or conversion")
    }

    @Test(arguments: ["int64", "dict", "system", "list", "deflated"])
    func refusesWhatIsNotAPlainFloatTensor(_ name: String) throws {
        #expect(throws: TorchTensorFile.FormatError.self) { try TorchTensorFile(bytes: Self.bytes("refused/\(name).pt"), maxElements: 1000) }
    }

    @Test func refusesTooManyElementsAndDamagedArchives() throws {
        let good = try Self.bytes("good/f32_2x3.pt")
        #expect(throws: TorchTensorFile.FormatError.self) { try TorchTensorFile(bytes: good, maxElements: 5) }
        #expect((try? TorchTensorFile(bytes: good, maxElements: 6))?.values.count == 6)
        // Every truncation and a sweep of single-byte corruptions: an error or a tensor, never a crash.
        for n in stride(from: 0, to: good.count, by: 7) { _ = try? TorchTensorFile(bytes: Array(good.prefix(n)), maxElements: 1000) }
        var rng = SplitMix64(seed: 77)
        for _ in 0..<2000 {
            var b = good
            b[Int.random(in: 0..<b.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            if let t = try? TorchTensorFile(bytes: b, maxElements: 1000) { #expect(t.values.count == t.shape.reduce(1, *)) }
        }
    }
}

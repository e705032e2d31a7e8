import Foundation
import Testing
@testable import VLLMModels

@Suite struct RotaryEmbeddingTests {
    func config(_ scaling: [String: GGUFValue] = [:]) throws -> RopeConfig {
        var m: [String: GGUFValue] = ["llama.rope.freq_base": .float32(500000)]
        m.merge(scaling) { $1 }
        return try RopeConfig(metadata: m, architecture: "llama", headDim: 128, path: "t")
    }

    @Test func plainFrequenciesAndAngles() throws {
        let r = RotaryEmbedding(config: try config())
        #expect(r.inverseFrequencies.count == 64)
        for i in [0, 1, 31, 63] { #expect(r.inverseFrequencies[i] == pow(500000.0, -Double(2 * i) / 128)) }
        var c = [Float](repeating: 0, count: 64), s = c
        r.angles(position: 4097, cos: &c, sin: &s)
        #expect(c[5] == Float(cos(4097 * r.inverseFrequencies[5])) && s[5] == Float(sin(4097 * r.inverseFrequencies[5])))
    }

    /// Llama 3: short wavelengths kept, long ones divided by `factor`, the band between blended.
    @Test func llama3Scaling() throws {
        let plain = RotaryEmbedding(config: try config()).inverseFrequencies
        let scaled = RotaryEmbedding(config: try config([
            "llama.rope.scaling.type": .string("llama3"), "llama.rope.scaling.factor": .float32(8),
            "llama.rope.scaling.low_freq_factor": .float32(1), "llama.rope.scaling.high_freq_factor": .float32(4),
            "llama.rope.scaling.original_context_length": .uint32(8192),
        ])).inverseFrequencies
        #expect(scaled[0] == plain[0])
        #expect(abs(scaled[63] - plain[63] / 8) < 1e-18)
        let mid = plain.indices.first { 2 * Double.pi / plain[$0] > 2048 && 2 * Double.pi / plain[$0] < 8192 }!
        let smooth = (8192 / (2 * Double.pi / plain[mid]) - 1) / 3
        #expect(abs(scaled[mid] - ((1 - smooth) * plain[mid] / 8 + smooth * plain[mid])) < 1e-15)
        #expect(scaled[mid] < plain[mid] && scaled[mid] > plain[mid] / 8)
    }

    @Test func freqFactorsTensorAndLinearScaling() throws {
        let plain = RotaryEmbedding(config: try config()).inverseFrequencies
        let factors = (0..<64).map { Float(1 + $0 % 3) }
        let withFactors = RotaryEmbedding(config: try config(), freqFactors: factors).inverseFrequencies
        for i in 0..<64 { #expect(withFactors[i] == plain[i] / Double(factors[i])) }
        let linear = RotaryEmbedding(config: try config(["llama.rope.scaling.type": .string("linear"),
                                                         "llama.rope.scaling.factor": .float32(4)]))
        #expect(linear.positionScale == 0.25)
    }

    @Test func unknownScalingIsRefusedByName() {
        #expect(throws: ModelLoadError.self) { try config(["llama.rope.scaling.type": .string("yarn")]) }
    }
}

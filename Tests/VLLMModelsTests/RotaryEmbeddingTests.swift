import Foundation
import Testing
@testable import VLLMModels

@Suite struct RotaryEmbeddingTests {
    func config(_ scaling: [String: GGUFValue] = [:]) throws -> RopeConfig {
        var m: [String: GGUFValue] = ["llama.rope.freq_base": .float32(500000)]
        m.merge(scaling) { $1 }
        return try ModelConfig.ggufRope(m, arch: "llama", headDim: 128, contextLength: 8192, path: "t")
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
        #expect(throws: ModelLoadError.self) { try config(["llama.rope.scaling.type": .string("longrope")]) }
    }

    /// YaRN (transformers' formula): pairs rotating often over the original context keep their
    /// frequency, slow ones are divided by the factor, and cos/sin carry 0.1·ln(factor) + 1.
    @Test func yarnScaling() throws {
        let plain = RotaryEmbedding(config: try config()).inverseFrequencies
        let r = RotaryEmbedding(config: try config([
            "llama.rope.scaling.type": .string("yarn"), "llama.rope.scaling.factor": .float32(4),
            "llama.rope.scaling.original_context_length": .uint32(4096),
        ]))
        #expect(r.inverseFrequencies[0] == plain[0])
        #expect(abs(r.inverseFrequencies[63] - plain[63] / 4) < 1e-18)
        #expect(abs(r.magnitude - (0.1 * log(4.0) + 1)) < 1e-12)
        // The ramp: low = floor(128·ln(4096/(32·2π)) / (2·ln 500000)), high = ceil(… with 1).
        let low = (128 * log(4096 / (32 * 2 * Double.pi)) / (2 * log(500000.0))).rounded(.down)
        let high = (128 * log(4096 / (2 * Double.pi)) / (2 * log(500000.0))).rounded(.up)
        let i = Int(low + high) / 2, ramp = (Double(i) - low) / (high - low)
        #expect(abs(r.inverseFrequencies[i] - (plain[i] / 4 * ramp + plain[i] * (1 - ramp))) < 1e-15)
        var c = [Float](repeating: 0, count: 64), s = c
        r.angles(position: 0, cos: &c, sin: &s)
        #expect(abs(Double(c[3]) - r.magnitude) < 1e-6 && s[3] == 0)
    }

    /// Dynamic NTK as vLLM fixes it: base × (factor² − factor + 1)^(d/(d−2)) at every position.
    @Test func dynamicNTKScaling() throws {
        let r = RotaryEmbedding(config: try config(["llama.rope.scaling.type": .string("dynamic"),
                                                    "llama.rope.scaling.factor": .float32(2)]))
        let base = 500000 * pow(3.0, 128.0 / 126)
        #expect(abs(r.inverseFrequencies[10] / pow(base, -20.0 / 128) - 1) < 1e-12)
    }
}

import Foundation

/// Precomputed rotation angles per frequency: cos/sin for one position are computed in Double
/// and rounded once, so long positions lose no accuracy.
public struct RotaryEmbedding: Sendable {
    /// Inverse frequency of each rotated pair, scaling applied.
    public let inverseFrequencies: [Double]
    public let positionScale: Double
    /// Multiplies cos and sin (YaRN's attention factor; 1 otherwise).
    public let magnitude: Double

    /// `freqFactors`: llama.cpp's `rope_freqs.weight` tensor (Llama 3.1 GGUFs carry the scaled
    /// frequencies this way); each pair's frequency is divided by its factor. `contextLength`:
    /// the longest sequence served (LongRoPE picks its factors by it).
    public init(config: RopeConfig, freqFactors: [Float]? = nil, contextLength: Int = 0) {
        let dim = Double(config.dimensionCount), half = config.dimensionCount / 2
        var base = config.freqBase
        if case let .dynamicNTK(factor, maxPosition) = config.scaling {
            // vLLM's form: the base for a context of maxPosition × factor.
            base *= pow(factor * (maxPosition * factor) / maxPosition - (factor - 1), dim / (dim - 2))
        }
        var inv = (0..<half).map { i in pow(base, -2.0 * Double(i) / dim) }
        var positionScale = 1.0, magnitude = 1.0
        if let factors = freqFactors, factors.count == half {
            for i in 0..<half { inv[i] /= Double(factors[i]) }
        } else {
            switch config.scaling {
            case .none, .dynamicNTK: break
            case let .linear(factor): positionScale = 1 / factor
            case let .llama3(s): inv = inv.map { Self.llama3($0, s) }
            case let .yarn(s):
                inv = Self.yarn(inv, s, base: base, dim: dim)
                magnitude = s.attentionFactor
            case let .longRoPE(s):
                let factors = Double(contextLength) > s.originalContextLength ? s.longFactors : s.shortFactors
                inv = zip(inv, factors).map { $0 / $1 }
                magnitude = s.attentionFactor
            }
        }
        inverseFrequencies = inv
        self.positionScale = positionScale
        self.magnitude = magnitude
    }

    /// Long wavelengths slowed by `factor`, short ones kept, smooth between.
    private static func llama3(_ f: Double, _ s: RopeConfig.Llama3Scaling) -> Double {
        let lowWavelen = s.originalContextLength / s.lowFreqFactor
        let highWavelen = s.originalContextLength / s.highFreqFactor
        let wavelen = 2 * Double.pi / f
        if wavelen < highWavelen { return f }
        if wavelen > lowWavelen { return f / s.factor }
        let smooth = (s.originalContextLength / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor)
        return (1 - smooth) * f / s.factor + smooth * f
    }

    /// YaRN: pairs that rotate fewer than `betaSlow` times over the original context are
    /// interpolated (divided by the factor), those rotating more than `betaFast` times kept, a
    /// linear ramp between (transformers' `_compute_yarn_parameters`).
    private static func yarn(_ inv: [Double], _ s: RopeConfig.YaRNScaling, base: Double, dim: Double) -> [Double] {
        func correctionDim(_ rotations: Double) -> Double {
            dim * log(s.originalContextLength / (rotations * 2 * Double.pi)) / (2 * log(base))
        }
        var low = correctionDim(s.betaFast), high = correctionDim(s.betaSlow)
        if s.truncate { low = low.rounded(.down); high = high.rounded(.up) }
        low = max(low, 0)
        high = min(high, dim - 1)
        if low == high { high += 0.001 }
        return inv.enumerated().map { i, f in
            let ramp = min(max((Double(i) - low) / (high - low), 0), 1)
            let extrapolation = 1 - ramp
            return f / s.factor * (1 - extrapolation) + f * extrapolation
        }
    }

    /// Fills `cos`/`sin` (half-dim entries each) for `position`.
    public func angles(position: Int, cos c: UnsafeMutablePointer<Float>, sin s: UnsafeMutablePointer<Float>) {
        let p = Double(position) * positionScale
        for (i, f) in inverseFrequencies.enumerated() {
            let a = p * f
            c[i] = Float(cos(a) * magnitude)
            s[i] = Float(sin(a) * magnitude)
        }
    }
}

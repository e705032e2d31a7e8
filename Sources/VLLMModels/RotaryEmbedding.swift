import Foundation

/// Precomputed rotation angles per frequency: cos/sin for one position are computed in Double
/// and rounded once, so long positions lose no accuracy.
public struct RotaryEmbedding: Sendable {
    /// Inverse frequency of each rotated pair, scaling applied.
    public let inverseFrequencies: [Double]
    public let positionScale: Double

    /// `freqFactors`: llama.cpp's `rope_freqs.weight` tensor (Llama 3.1 GGUFs carry the scaled
    /// frequencies this way); each pair's frequency is divided by its factor.
    public init(config: RopeConfig, freqFactors: [Float]? = nil) {
        let half = config.dimensionCount / 2
        var inv = (0..<half).map { i in pow(config.freqBase, -2.0 * Double(i) / Double(config.dimensionCount)) }
        if let factors = freqFactors, factors.count == half {
            for i in 0..<half { inv[i] /= Double(factors[i]) }
        } else if let s = config.llama3 {
            // Llama 3 scaling: long wavelengths slowed by `factor`, short ones kept, smooth between.
            let lowWavelen = s.originalContextLength / s.lowFreqFactor
            let highWavelen = s.originalContextLength / s.highFreqFactor
            inv = inv.map { f in
                let wavelen = 2 * Double.pi / f
                if wavelen < highWavelen { return f }
                if wavelen > lowWavelen { return f / s.factor }
                let smooth = (s.originalContextLength / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor)
                return (1 - smooth) * f / s.factor + smooth * f
            }
        }
        inverseFrequencies = inv
        positionScale = 1 / config.linearFactor
    }

    /// Fills `cos`/`sin` (half-dim entries each) for `position`.
    public func angles(position: Int, cos c: UnsafeMutablePointer<Float>, sin s: UnsafeMutablePointer<Float>) {
        let p = Double(position) * positionScale
        for (i, f) in inverseFrequencies.enumerated() {
            let a = p * f
            c[i] = Float(cos(a))
            s[i] = Float(sin(a))
        }
    }
}

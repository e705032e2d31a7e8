import Foundation

/// Rotary position embedding settings: GGUF `rope.*` keys or config.json `rope_theta` +
/// `rope_scaling` (`rope_parameters` in transformers 5).
public struct RopeConfig: Sendable, Codable, Equatable {
    public var freqBase: Double
    /// Rotated dimensions per head (the rest pass through).
    public var dimensionCount: Int
    public var scaling: Scaling = .none

    public enum Scaling: Sendable, Codable, Equatable {
        case none
        /// Positions are divided by the factor.
        case linear(factor: Double)
        /// Llama 3: long wavelengths slowed by `factor`, short ones kept, smooth between.
        case llama3(Llama3Scaling)
        /// YaRN (transformers' `_compute_yarn_parameters`): frequencies blended between
        /// interpolated and extrapolated by a ramp over the correction range, and cos/sin scaled
        /// by the attention factor.
        case yarn(YaRNScaling)
        /// Dynamic NTK as vLLM computes it: one base enlarged for the longest context
        /// (max_position × factor), used at every position. (transformers enlarges it only once a
        /// sequence outgrows max_position; vLLM's fixed form keeps cached keys consistent.)
        case dynamicNTK(factor: Double, maxPosition: Double)
        /// Phi-3's LongRoPE ("su"): each pair's wavelength stretched by its own factor, from the
        /// short list or, when the served context exceeds the original one, the long list (as
        /// vLLM and llama.cpp choose: once per engine, so cached keys and new queries agree).
        case longRoPE(LongRoPEScaling)
    }

    public struct LongRoPEScaling: Sendable, Codable, Equatable {
        public var shortFactors: [Double]
        public var longFactors: [Double]
        public var originalContextLength: Double
        /// Multiplies cos and sin: √(1 + ln(s) / ln(original)) for s = context / original > 1.
        public var attentionFactor: Double
    }

    public struct Llama3Scaling: Sendable, Codable, Equatable {
        public var factor: Double
        public var lowFreqFactor: Double
        public var highFreqFactor: Double
        public var originalContextLength: Double
    }

    public struct YaRNScaling: Sendable, Codable, Equatable {
        public var factor: Double
        public var originalContextLength: Double
        public var betaFast: Double = 32
        public var betaSlow: Double = 1
        /// Multiplies cos and sin; 0.1·ln(factor) + 1 unless the model sets it.
        public var attentionFactor: Double
        /// transformers' `truncate`: floor/ceil the correction range (default true).
        public var truncate = true
    }

    public init(freqBase: Double, dimensionCount: Int, scaling: Scaling = .none) {
        self.freqBase = freqBase
        self.dimensionCount = dimensionCount
        self.scaling = scaling
    }

    /// The scaling a `type` name and its parameters describe (names shared by GGUF's
    /// `rope.scaling.type` and config.json's `rope_type`). `number` reads one parameter by its
    /// config.json name; `keyName` gives the name errors quote (the file's own key).
    static func scaling(type: String, path: String, maxPosition: Int, keyName: (String) -> String,
                        number: (String) -> Double?) throws(ModelLoadError) -> Scaling {
        func positive(_ key: String, default value: Double? = nil) throws(ModelLoadError) -> Double {
            guard let v = number(key) ?? value else { throw .corrupt(path: path, reason: "rope scaling '\(type)' needs \(keyName(key))") }
            guard v.isFinite, v > 0 else { throw .corrupt(path: path, reason: "\(keyName(key)) is \(v), not a finite positive number") }
            return v
        }
        switch type {
        case "none", "default": return .none
        case "linear": return .linear(factor: try positive("factor"))
        case "dynamic": return .dynamicNTK(factor: try positive("factor"), maxPosition: Double(maxPosition))
        case "llama3":
            let s = Llama3Scaling(factor: try positive("factor"), lowFreqFactor: try positive("low_freq_factor", default: 1),
                                  highFreqFactor: try positive("high_freq_factor", default: 4),
                                  originalContextLength: try positive("original_max_position_embeddings", default: 8192))
            // The smoothing step divides by high − low.
            guard s.highFreqFactor > s.lowFreqFactor else {
                throw .corrupt(path: path, reason: "llama3 rope scaling needs low_freq_factor < high_freq_factor (got \(s.lowFreqFactor), \(s.highFreqFactor))")
            }
            return .llama3(s)
        case "yarn":
            let factor = try positive("factor")
            let attention = try positive("attention_factor", default: factor > 1 ? 0.1 * log(factor) + 1 : 1)
            var s = YaRNScaling(factor: factor,
                                originalContextLength: try positive("original_max_position_embeddings", default: Double(maxPosition)),
                                attentionFactor: attention)
            s.betaFast = try positive("beta_fast", default: 32)
            s.betaSlow = try positive("beta_slow", default: 1)
            s.truncate = (number("truncate") ?? 1) != 0
            return .yarn(s)
        default:
            throw .unsupported(path: path, reason: "rope scaling type '\(type.clippedForMessage())' (supported: linear, dynamic, llama3, yarn)")
        }
    }
}

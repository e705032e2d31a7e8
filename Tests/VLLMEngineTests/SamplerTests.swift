import Foundation
import VLLMCompute
import Testing
import VLLMStructuredOutput
@testable import VLLMEngine

@Suite struct SamplerTests {
    /// The word-by-word mask keeps exactly the allowed logits, whatever the mask's density and
    /// however the row's width relates to the mask's (padding rows past the vocabulary).
    @Test func grammarMaskKeepsExactlyTheAllowedLogits() {
        var rng = SplitMix64(seed: 7)
        for trial in 0..<200 {
            let vocab = Int.random(in: 1...300, using: &rng)
            let width = vocab + (trial % 3 == 0 ? Int.random(in: 0...40, using: &rng) : 0)
            var mask = TokenBitmask(vocabSize: vocab)
            let density = [0.0, 0.02, 0.5, 0.98, 1.0][trial % 5]
            for i in 0..<vocab where Double.random(in: 0..<1, using: &rng) < density { mask.allow(i) }
            let logits = (0..<width).map { _ in Float.random(in: -5...5, using: &rng) }
            let out = logits.withUnsafeBufferPointer { Sampler.masked($0, by: mask) }
            for i in 0..<width {
                #expect(out[i] == (i < vocab && mask.isAllowed(i) ? logits[i] : -.infinity), "trial \(trial), id \(i)")
            }
        }
    }

    @Test func greedyPicksArgmaxLowestIndexOnTies() {
        var rng = SplitMix64(seed: 1)
        let logits: [Float] = [0.5, 3, -1, 3, 2]
        #expect(Sampler.sample(logits: logits, params: SamplingParams(temperature: 0), using: &rng) == 1)
    }

    @Test func logprobsAreLogSoftmaxChosenFirstThenTopK() {
        let logits: [Float] = [1, 2, 3, 0]
        let lp = Sampler.logprobs(logits: logits, chosen: 3, k: 2)
        #expect(lp.map(\.tokenID) == [3, 2, 1])
        let z = [1.0, 2, 3, 0].map { exp($0) }.reduce(0, +)
        #expect(abs(lp[1].logprob - (3 - log(z))) < 1e-9)
        #expect(abs(lp[0].logprob - (0 - log(z))) < 1e-9)
    }

    @Test func seededSamplingRepeatsAndFollowsTheDistribution() {
        let logits: [Float] = [0, log(3), -Float.infinity]  // p = 0.25, 0.75, 0
        let params = SamplingParams(temperature: 1, seed: 7)
        var a = SplitMix64(seed: 7), b = SplitMix64(seed: 7)
        let draws = (0..<4000).map { _ in Sampler.sample(logits: logits, params: params, using: &a) }
        #expect(draws == (0..<4000).map { _ in Sampler.sample(logits: logits, params: params, using: &b) })
        #expect(!draws.contains(2))
        let share = Double(draws.filter { $0 == 1 }.count) / 4000
        #expect(abs(share - 0.75) < 0.03)
    }

    @Test func lowTemperatureSharpens() {
        var rng = SplitMix64(seed: 3)
        let logits: [Float] = [0, 1]
        let draws = (0..<1000).map { _ in Sampler.sample(logits: logits, params: SamplingParams(temperature: 0.05), using: &rng) }
        #expect(draws.filter { $0 == 1 }.count > 990)
    }

    @Test func invalidParamsNameTheField() {
        #expect(throws: SamplingParamsError.self) { try SamplingParams(temperature: -1).validate() }
        do { try SamplingParams(maxTokens: 0).validate() } catch { #expect(error.description.contains("max_tokens")) }
        do { try SamplingParams(logprobs: -2).validate() } catch { #expect(error.description.contains("logprobs")) }
    }
}

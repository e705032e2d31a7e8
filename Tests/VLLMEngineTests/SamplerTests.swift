import VLLMCompute
import Foundation
import VLLMCompute
import Testing
@testable import VLLMEngine

@Suite struct SamplerTests {
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

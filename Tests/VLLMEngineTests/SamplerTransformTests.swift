import Foundation
import Testing
import VLLMCompute
@testable import VLLMEngine

/// Each sampler transform against a brute-force reference, draws against the renormalized
/// distribution, and `SamplingParams` validation and JSON.
@Suite struct SamplerTransformTests {
    static func randomLogits(_ n: Int, seed: UInt64, scale: Float = 3) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return (0..<n).map { _ in Float.random(in: -scale...scale, using: &rng) }
    }

    static func kept(_ w: [Float]) -> Set<Int> { Set(w.indices.filter { w[$0] > -.infinity }) }

    /// Softmax in Double.
    static func probs(_ l: [Float]) -> [Double] {
        let m = Double(l.max()!)
        let e = l.map { exp(Double($0) - m) }
        let z = e.reduce(0, +)
        return e.map { $0 / z }
    }

    static func refTopK(_ l: [Float], _ k: Int) -> Set<Int> {
        let kth = l.sorted(by: >)[k - 1]
        return Set(l.indices.filter { l[$0] >= kth })
    }

    /// The smallest most-likely-first prefix whose mass reaches p.
    static func refTopP(_ l: [Float], _ p: Double, among: Set<Int>? = nil) -> Set<Int> {
        let ids = (among.map { Array($0) } ?? Array(l.indices))
        let sub = ids.map { l[$0] }
        let pr = probs(sub)
        let order = pr.indices.sorted { pr[$0] > pr[$1] }
        var keep: Set<Int> = [], mass = 0.0
        for j in order {
            if mass >= p { break }
            keep.insert(ids[j])
            mass += pr[j]
        }
        return keep
    }

    @Test func topKKeepsExactlyTheKLargest() {
        for (seed, k) in [(1, 1), (2, 5), (3, 50), (4, 499), (5, 500), (6, 900)] as [(UInt64, Int)] {
            let l = Self.randomLogits(500, seed: seed)
            let w = Sampler.processedLogits(l, params: SamplingParams(topK: k))
            #expect(Self.kept(w) == Self.refTopK(l, min(k, 500)), "k = \(k)")
            #expect(Self.kept(w).count == min(k, 500))
        }
        let l = Self.randomLogits(300, seed: 9)
        #expect(Self.kept(Sampler.processedLogits(l, params: SamplingParams(topK: -1))).count == 300)
        #expect(Self.kept(Sampler.processedLogits(l, params: SamplingParams(topK: 0))).count == 300)
    }

    @Test func topKKeepsTiesAtTheBoundary() {
        let l: [Float] = [1, 3, 2, 2, 0, 2]
        #expect(Self.kept(Sampler.processedLogits(l, params: SamplingParams(topK: 2))) == [1, 2, 3, 5])
    }

    @Test func topPKeepsTheSmallestPrefixReachingP() {
        for (seed, p) in [(11, 0.05), (12, 0.3), (13, 0.5), (14, 0.9), (15, 0.99), (16, 0.999)] as [(UInt64, Float)] {
            let l = Self.randomLogits(1000, seed: seed, scale: 6)
            let w = Sampler.processedLogits(l, params: SamplingParams(topP: p))
            #expect(Self.kept(w) == Self.refTopP(l, Double(p)), "p = \(p)")
        }
        // A dominant token alone reaches p.
        #expect(Self.kept(Sampler.processedLogits([0, 10, 0, 0], params: SamplingParams(topP: 0.5))) == [1])
    }

    @Test func topKThenTopPRenormalizesOverTheKept() {
        let l = Self.randomLogits(2000, seed: 21, scale: 4)
        let w = Sampler.processedLogits(l, params: SamplingParams(topP: 0.6, topK: 40))
        #expect(Self.kept(w) == Self.refTopP(l, 0.6, among: Self.refTopK(l, 40)))
    }

    @Test func minPKeepsTokensAboveTheScaledMaximum() {
        for (seed, mp) in [(31, 0.01), (32, 0.1), (33, 0.5), (34, 1.0)] as [(UInt64, Float)] {
            let l = Self.randomLogits(800, seed: seed, scale: 5)
            let pr = Self.probs(l)
            let pmax = pr.max()!
            let ref = Set(pr.indices.filter { pr[$0] >= Double(mp) * pmax })
            #expect(Self.kept(Sampler.processedLogits(l, params: SamplingParams(minP: mp))) == ref, "min_p = \(mp)")
        }
    }

    @Test func minPActsOnTheTemperatureScaledDistribution() {
        // p ∝ exp(l / T): at T = 2 the ratio of token 0 to token 1 is exp(-1) ≈ 0.37 (kept at
        // min_p 0.3); at T = 1 it is exp(-2) ≈ 0.14 (dropped).
        let l: [Float] = [0, 2]
        #expect(Self.kept(Sampler.processedLogits(l, params: SamplingParams(temperature: 2, minP: 0.3))) == [0, 1])
        #expect(Self.kept(Sampler.processedLogits(l, params: SamplingParams(temperature: 1, minP: 0.3))) == [1])
    }

    @Test func temperatureDividesTheLogits() {
        let l = Self.randomLogits(100, seed: 41)
        let w = Sampler.processedLogits(l, params: SamplingParams(temperature: 0.5))
        for i in l.indices { #expect(abs(w[i] - l[i] * 2) < 1e-5) }
        // Below 0.01 the temperature is raised to 0.01, as vLLM does.
        let tiny = Sampler.processedLogits(l, params: SamplingParams(temperature: 0.001))
        for i in l.indices { #expect(abs(tiny[i] - l[i] * 100) < 1e-3) }
    }

    @Test func penaltiesFollowVLLMFormulas() {
        let l = Self.randomLogits(50, seed: 51)
        let prompt = [1, 2, 3, 3, 40]
        let output = [3, 4, 4, 7, 4]
        let params = SamplingParams(presencePenalty: 0.7, frequencyPenalty: -0.3, repetitionPenalty: 1.6)
        var h = SamplingHistory(promptTokenIDs: prompt, eosTokenID: 0, params: params)
        for t in output { h.append(t) }
        let w = Sampler.processedLogits(l, params: params, history: h)
        for i in l.indices {
            var x = l[i]
            if prompt.contains(i) || output.contains(i) { x = x > 0 ? x / 1.6 : x * 1.6 }
            let count = Float(output.filter { $0 == i }.count)
            x -= -0.3 * count
            if count > 0 { x -= 0.7 }
            #expect(abs(w[i] - x) < 1e-5, "token \(i)")
        }
    }

    @Test func logitBiasAndAllowedTokenIDs() {
        let l = Self.randomLogits(30, seed: 61)
        let params = SamplingParams(logitBias: [7: 2.5, 10: 1, 5: -1], allowedTokenIDs: [5, 7, 9])
        let w = Sampler.processedLogits(l, params: params)
        #expect(Self.kept(w) == [5, 7, 9])
        #expect(abs(w[7] - (l[7] + 2.5)) < 1e-6 && abs(w[5] - (l[5] - 1)) < 1e-6 && w[9] == l[9])
        // A large bias wins the greedy choice.
        var rng = SplitMix64(seed: 1)
        #expect(Sampler.sample(logits: l, params: SamplingParams(temperature: 0, logitBias: [13: 100]), using: &rng) == 13)
        #expect(Sampler.sample(logits: l, params: SamplingParams(temperature: 0, allowedTokenIDs: [2]), using: &rng) == 2)
    }

    @Test func minTokensMasksEOSAndStopTokenIDsUntilReached() {
        var l = Self.randomLogits(20, seed: 71)
        l[0] = 50; l[3] = 40  // EOS and a stop token dominate
        let params = SamplingParams(temperature: 0, minTokens: 2, stopTokenIDs: [3])
        var h = SamplingHistory(promptTokenIDs: [5, 6], eosTokenID: 0, params: params)
        h.append(8)
        var rng = SplitMix64(seed: 1)
        let masked = Sampler.processedLogits(l, params: params, history: h)
        #expect(masked[0] == -.infinity && masked[3] == -.infinity)
        let greedy = Sampler.sample(logits: l, params: params, history: h, using: &rng)
        #expect(greedy != 0 && greedy != 3 && greedy == Sampler.argmax(masked))
        h.append(9)
        #expect(Sampler.sample(logits: l, params: params, history: h, using: &rng) == 0)
        // With ignore_eos, EOS is not a stop token and stays samplable.
        var p2 = params
        p2.ignoreEOS = true
        let h1 = SamplingHistory(promptTokenIDs: [5], eosTokenID: 0, params: p2)
        #expect(Sampler.sample(logits: l, params: p2, history: h1, using: &rng) == 0)
    }

    @Test func badWordsBanTheLastTokenAfterTheRestOfTheWord() {
        let l = Self.randomLogits(20, seed: 75)
        var params = SamplingParams(badWords: ["x"])
        params.badWordsTokenIDs = [[4], [7, 8, 9]]
        var h = SamplingHistory(promptTokenIDs: [7, 8], params: params)
        var w = Sampler.processedLogits(l, params: params, history: h)
        #expect(w[4] == -.infinity && w[9] > -.infinity)  // the prompt does not count
        for t in [1, 7, 8] { h.append(t) }
        w = Sampler.processedLogits(l, params: params, history: h)
        #expect(w[4] == -.infinity && w[9] == -.infinity && Self.kept(w).count == 18)
        h.append(2)
        #expect(Sampler.processedLogits(l, params: params, history: h)[9] > -.infinity)
    }

    @Test func badWordsAreTokenizedPlainAndWithALeadingSpace() {
        // A toy tokenizer: one token per character, a leading space merged into the next one.
        func encode(_ s: String) -> [Int] {
            var out: [Int] = [], pendingSpace = false
            for c in s.unicodeScalars {
                if c == " " { pendingSpace = true; continue }
                out.append(Int(c.value) + (pendingSpace ? 1000 : 0))
                pendingSpace = false
            }
            return out
        }
        var p = SamplingParams(badWords: ["  ab", "c"])
        p.tokenizeBadWords(encode)
        #expect(p.badWordsTokenIDs == [[97, 98], [1097, 98], [99], [1099]])
    }

    @Test func greedyIsArgmaxAfterPenalties() {
        let l: [Float] = [1, 5, 4.5, 0]
        let params = SamplingParams(temperature: 0, presencePenalty: 1)
        var h = SamplingHistory(promptTokenIDs: [3], params: params)
        h.append(1)
        var rng = SplitMix64(seed: 1)
        #expect(Sampler.sample(logits: l, params: params, history: h, using: &rng) == 2)
        #expect(Sampler.sample(logits: l, params: params, using: &rng) == 1)  // no history: no penalty
    }

    /// Draws stay in the kept set and match the renormalized distribution (chi-square, fixed seed).
    @Test(arguments: [
        SamplingParams(temperature: 1, topK: 3),
        SamplingParams(temperature: 0.7, topP: 0.8),
        SamplingParams(temperature: 1.3, minP: 0.2),
        SamplingParams(temperature: 1, topP: 0.9, topK: 4, minP: 0.05),
        SamplingParams(temperature: 1, repetitionPenalty: 1.0),
    ])
    func drawsFollowTheRenormalizedDistribution(params: SamplingParams) {
        let l: [Float] = [2.0, 1.5, 1.0, 0.5, 0.0, -0.5, -1.0, -3.0]
        let w = Sampler.processedLogits(l, params: params)
        let keep = Self.kept(w)
        let pr = Self.probs(w)
        var rng = SplitMix64(seed: 99)
        let ws = SamplerWorkspace()
        let draws = 40_000
        var counts = [Int](repeating: 0, count: l.count)
        for _ in 0..<draws { counts[Sampler.sample(logits: l, params: params, workspace: ws, using: &rng)] += 1 }
        for i in l.indices where !keep.contains(i) { #expect(counts[i] == 0, "token \(i) drawn but filtered") }
        var chi2 = 0.0
        for i in keep {
            let e = pr[i] * Double(draws)
            chi2 += (Double(counts[i]) - e) * (Double(counts[i]) - e) / e
        }
        // 99.9th percentile of chi-square with at most 7 degrees of freedom is 24.3.
        #expect(chi2 < 24.3, "chi2 \(chi2) counts \(counts)")
    }

    @Test func sameSeedSameDrawsOnAFullVocabulary() {
        let l = Self.randomLogits(49152, seed: 81, scale: 8)
        let params = SamplingParams(temperature: 0.8, topP: 0.9, topK: 50, presencePenalty: 0.5, repetitionPenalty: 1.2)
        let keep = Self.kept(Sampler.processedLogits(l, params: params))
        #expect(keep == Self.refTopP(l.map { $0 / 0.8 }, 0.9, among: Self.refTopK(l, 50)))
        func run() -> [Int] {
            var rng = SplitMix64(seed: 5)
            let ws = SamplerWorkspace()
            return (0..<200).map { _ in Sampler.sample(logits: l, params: params, workspace: ws, using: &rng) }
        }
        let a = run()
        #expect(a == run())
        #expect(a.allSatisfy(keep.contains))
        #expect(Set(a).count > 3)
        // top-p alone on the full vocabulary goes through the heap path.
        let p2 = SamplingParams(topP: 0.5)
        let keep2 = Self.kept(Sampler.processedLogits(l, params: p2))
        #expect(keep2 == Self.refTopP(l, 0.5))
        var rng = SplitMix64(seed: 6)
        #expect((0..<100).allSatisfy { _ in keep2.contains(Sampler.sample(logits: l, params: p2, using: &rng)) })
    }

    @Test func logprobsTopKMatchesAFullSort() {
        let l = Self.randomLogits(5000, seed: 91)
        let lp = Sampler.logprobs(logits: l, chosen: 17, k: 20)
        let ref = l.indices.sorted { l[$0] > l[$1] }.prefix(20)
        #expect(lp.count == 21 && lp[0].tokenID == 17)
        #expect(Array(lp.dropFirst().map(\.tokenID)) == Array(ref))
        let full = Sampler.logSoftmax(l)
        for (id, v) in lp { #expect(abs(v - full[id]) < 1e-9) }
        #expect(Sampler.logprobs(logits: l, chosen: 3, k: 0).count == 1)
    }

    @Test func rankCountsTheTokensAtLeastAsLikely() {
        let l = Self.randomLogits(3000, seed: 5)
        let order = l.indices.sorted { l[$0] > l[$1] }
        for position in [0, 1, 7, 2999] { #expect(Sampler.rank(logits: l, of: order[position]) == position + 1) }
        // Ties rank below: both of two equal best tokens have rank 2.
        #expect(Sampler.rank(logits: [1, 3, 3, 0] as [Float], of: 1) == 2)
        #expect(Sampler.rank(logits: [1, 3, 3, 0] as [Float], of: 2) == 2)
    }

    @Test func jsonSeedsAreInt64AndKeysLeftToTheCaller() throws {
        func decode(_ text: String, ignoring: Set<String> = []) throws -> SamplingParams {
            let decoder = JSONDecoder()
            decoder.userInfo[Ignoring.key] = ignoring
            return try decoder.decode(Ignoring.self, from: Data(text.utf8)).params
        }
        #expect(try decode(#"{"seed": -1}"#).seed == UInt64.max)
        #expect(try decode(#"{"seed": 9223372036854775807}"#).seed == UInt64(Int64.max))
        #expect(try decode(#"{"seed": -9223372036854775808}"#).seed == UInt64(bitPattern: Int64.min))
        // vLLM's int64 bounds, named as pydantic names them.
        for (text, kind) in [("9223372036854775808", "less_than_equal"), ("18446744073709551615", "less_than_equal"),
                             ("-9223372036854775809", "greater_than_equal")] {
            let error = #expect(throws: (any Error).self) { try decode(#"{"seed": \#(text)}"#) }
            #expect(String(describing: error).contains(kind))
        }
        #expect(throws: (any Error).self) { try decode(#"{"seed": 1.5}"#) }
        let chat = try decode(#"{"logprobs": true, "max_tokens": 5, "stop": "x", "seed": 3}"#, ignoring: ["logprobs", "max_tokens", "seed"])
        #expect(chat.logprobs == nil && chat.maxTokens == SamplingParams().maxTokens && chat.seed == nil && chat.stop == ["x"])
        #expect(throws: (any Error).self) { try decode(#"{"logprobs": true}"#) }
    }

    /// `SamplingParams(from:ignoring:)` on a JSON body, the keys to ignore in `userInfo`.
    struct Ignoring: Decodable {
        static let key = CodingUserInfoKey(rawValue: "ignoring")!
        let params: SamplingParams
        init(from decoder: any Decoder) throws {
            params = try SamplingParams(from: decoder, ignoring: decoder.userInfo[Self.key] as? Set<String> ?? [])
        }
    }

    // MARK: SamplingParams

    @Test(arguments: [
        (SamplingParams(n: 0), "n "),
        (SamplingParams(temperature: -0.5), "temperature"),
        (SamplingParams(topP: 0), "top_p"),
        (SamplingParams(topP: 1.01), "top_p"),
        (SamplingParams(topK: -2), "top_k"),
        (SamplingParams(minP: -0.1), "min_p"),
        (SamplingParams(minP: 1.5), "min_p"),
        (SamplingParams(presencePenalty: 2.5), "presence_penalty"),
        (SamplingParams(frequencyPenalty: -2.1), "frequency_penalty"),
        (SamplingParams(repetitionPenalty: 0), "repetition_penalty"),
        (SamplingParams(maxTokens: 0), "max_tokens"),
        (SamplingParams(minTokens: -1), "min_tokens"),
        (SamplingParams(maxTokens: 4, minTokens: 5), "min_tokens"),
        (SamplingParams(logprobs: -2), "logprobs"),
        (SamplingParams(promptLogprobs: -3), "prompt_logprobs"),
        (SamplingParams(stop: [""]), "stop"),
        (SamplingParams(stop: ["x"], detokenize: false), "detokenize"),
        (SamplingParams(allowedTokenIDs: []), "allowed_token_ids"),
        (SamplingParams(allowedTokenIDs: [100]), "allowed_token_ids"),
        (SamplingParams(logitBias: [-1: 1]), "logit_bias"),
        (SamplingParams(topK: 101), "top_k"),
    ] as [(SamplingParams, String)])
    func invalidValuesNameTheField(params: SamplingParams, field: String) {
        do {
            try params.validate(vocabSize: 100)
            Issue.record("\(field): accepted")
        } catch {
            #expect(error.description.hasPrefix(field) || error.description.contains(field), "\(error.description)")
        }
    }

    @Test func edgeValuesAreAccepted() throws {
        try SamplingParams(temperature: 0, topP: 1, topK: -1, minP: 1, presencePenalty: -2, frequencyPenalty: 2,
                           repetitionPenalty: 0.01, maxTokens: 1, minTokens: 1, logprobs: 0,
                           promptLogprobs: 0, allowedTokenIDs: [99]).validate(vocabSize: 100)
        try SamplingParams(topK: 100, logitBias: [0: -100]).validate(vocabSize: 100)
    }

    @Test func jsonUsesSnakeCaseKeysAndDefaultsForMissingOnes() throws {
        let full = SamplingParams(temperature: 0.7, topP: 0.9, topK: 40, minP: 0.05, presencePenalty: 0.1,
                                  frequencyPenalty: 0.2, repetitionPenalty: 1.1, maxTokens: 99, minTokens: 3,
                                  seed: 42, ignoreEOS: true, logprobs: 5, promptLogprobs: 2, n: 2, stop: ["\n\n"],
                                  stopTokenIDs: [2], includeStopStrInOutput: true, logitBias: [11: -2.5],
                                  allowedTokenIDs: [1, 2, 11], badWords: ["bad"], skipSpecialTokens: false,
                                  spacesBetweenSpecialTokens: false, detokenize: true)
        let data = try JSONEncoder().encode(full)
        let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        for key in ["top_p", "top_k", "min_p", "presence_penalty", "frequency_penalty", "repetition_penalty",
                    "max_tokens", "min_tokens", "ignore_eos", "prompt_logprobs", "stop_token_ids",
                    "include_stop_str_in_output", "logit_bias", "allowed_token_ids", "bad_words",
                    "skip_special_tokens", "spaces_between_special_tokens", "detokenize", "n", "seed"] {
            #expect(object[key] != nil, "missing \(key)")
        }
        #expect((object["logit_bias"] as? [String: Any])?["11"] != nil)
        #expect(try JSONDecoder().decode(SamplingParams.self, from: data) == full)

        #expect(try JSONDecoder().decode(SamplingParams.self, from: Data("{}".utf8)) == SamplingParams())
        let partial = try JSONDecoder().decode(SamplingParams.self, from: Data(
            #"{"top_k": -1, "stop": "END", "max_tokens": null, "logit_bias": {"5": 1.5}, "temperature": 0}"#.utf8))
        var expected = SamplingParams(temperature: 0, topK: -1, stop: ["END"], logitBias: [5: 1.5])
        #expect(partial == expected)
        expected.topK = 0
        #expect(partial != expected)
    }
}

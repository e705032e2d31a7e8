import Foundation
import Testing
import VLLMCompute
@testable import VLLMEngine

/// Beam search on fixed logits: a tiny "model" whose next-token distribution is a fixed
/// pseudo-random function of the prefix, so exhaustive search is cheap.
@Suite struct BeamSearchStateTests {
    static let vocab = 4
    static let eos = 3

    /// log-softmax over `vocab` tokens, seeded by the prefix.
    static func logprobs(_ prefix: [Int]) -> [Double] {
        var rng = SplitMix64(seed: prefix.reduce(17) { $0 &* 31 &+ UInt64($1 + 1) })
        let logits = (0..<vocab).map { _ in Double(rng.next() % 1000) / 250 }
        let lse = log(logits.map(exp).reduce(0, +))
        return logits.map { $0 - lse }
    }

    /// The top continuations of a prefix, most likely first.
    static func top(_ prefix: [Int]) -> [(tokenID: Int, logprob: Double)] {
        logprobs(prefix).enumerated().map { ($0.offset, $0.element) }.sorted { $0.1 > $1.1 }
    }

    /// Runs a search to the end on the fixed model.
    static func search(_ policy: BeamSearchPolicy) -> BeamSearchState {
        var state = BeamSearchState(policy: policy)
        while !state.isDone {
            let tops = state.live.map { top($0.tokens).prefix(policy.candidatesPerBeam).map { $0 } }
            _ = state.advance(top: tops)
        }
        return state
    }

    /// Every complete sequence up to `maxTokens` (ending at EOS, or at the length limit),
    /// with its cumulative logprob.
    static func exhaustive(maxTokens: Int, eos: Int?) -> [(tokens: [Int], cum: Double, endsWithEOS: Bool)] {
        var out: [(tokens: [Int], cum: Double, endsWithEOS: Bool)] = []
        func walk(_ prefix: [Int], _ cum: Double) {
            let lp = logprobs(prefix)
            for t in 0..<vocab {
                let seq = prefix + [t], c = cum + lp[t]
                if t == eos { out.append((seq, c, true)) } else if seq.count == maxTokens { out.append((seq, c, false)) } else { walk(seq, c) }
            }
        }
        walk([], 0)
        return out
    }

    @Test(arguments: [(Float(1.0), 2), (Float(0.5), 3), (Float(2.0), 3)])
    func wideBeamEqualsExhaustiveSearch(lengthPenalty: Float, maxTokens: Int) {
        // Width covering every prefix: beam search must find the exact best sequences.
        let width = 64, promptLength = 5
        let policy = BeamSearchPolicy(width: width, maxTokens: maxTokens, eosTokenID: Self.eos,
                                      lengthPenalty: lengthPenalty, earlyStopping: nil,
                                      promptLength: promptLength, maxModelLen: 100)
        let got = Self.search(policy).best
        let all = Self.exhaustive(maxTokens: maxTokens, eos: Self.eos).map { s in
            (s.tokens, s.cum, beamSearchScore(length: promptLength + s.tokens.count, endsWithEOS: s.endsWithEOS,
                                              cumulativeLogprob: s.cum, lengthPenalty: lengthPenalty))
        }.sorted { $0.2 > $1.2 }
        #expect(got.count == min(width, all.count))
        #expect(got.map(\.tokens) == all.prefix(width).map(\.0))
        for (b, ref) in zip(got, all) { #expect(abs(b.cumulativeLogprob - ref.1) < 1e-12) }
    }

    @Test func narrowBeamFindsTheBestSequenceOnShortSearches() {
        // Width 4 keeps every first token, so after 2 tokens the best sequence is exact.
        let policy = BeamSearchPolicy(width: 4, maxTokens: 2, eosTokenID: nil, earlyStopping: nil,
                                      promptLength: 1, maxModelLen: 100)
        let best = Self.search(policy).best[0]
        let ref = Self.exhaustive(maxTokens: 2, eos: nil).max { $0.cum < $1.cum }!
        #expect(best.tokens == ref.tokens)
        #expect(best.finishReason == "length")
    }

    @Test func widthOneIsGreedy() {
        let policy = BeamSearchPolicy(width: 1, maxTokens: 6, eosTokenID: nil, earlyStopping: nil,
                                      promptLength: 3, maxModelLen: 100)
        var greedy: [Int] = []
        for _ in 0..<6 { greedy.append(Self.top(greedy)[0].tokenID) }
        #expect(Self.search(policy).best.map(\.tokens) == [greedy])
    }

    @Test func olderFormWithNeverStoppingEqualsExhaustiveSearch() {
        // length_penalty 0: the score is the cumulative logprob, and "never" stops only when no
        // live beam can win, so a wide search is exact.
        let policy = BeamSearchPolicy(width: 64, maxTokens: 3, eosTokenID: Self.eos, lengthPenalty: 0,
                                      earlyStopping: .never, promptLength: 2, maxModelLen: 100)
        let got = Self.search(policy).best
        let ref = Self.exhaustive(maxTokens: 3, eos: Self.eos).sorted { $0.cum > $1.cum }
        #expect(got.map(\.tokens) == ref.prefix(64).map(\.tokens))
        #expect(got.filter { $0.tokens.last == Self.eos }.allSatisfy { $0.finishReason == "stop" })
    }

    @Test func earlyStoppingTrueStopsOnceWidthBeamsAreComplete() {
        // Every continuation is EOS-free except token 3: with width 2 and EOS likely somewhere,
        // the search may stop before max_tokens; it never returns more than width beams.
        let policy = BeamSearchPolicy(width: 2, maxTokens: 8, eosTokenID: Self.eos, earlyStopping: .whenComplete,
                                      promptLength: 2, maxModelLen: 100)
        var state = BeamSearchState(policy: policy)
        var steps = 0
        while !state.isDone {
            _ = state.advance(top: state.live.map { Self.top($0.tokens) })
            steps += 1
            if !state.isDone { #expect(state.complete.count < 2) }
        }
        #expect(state.best.count == 2)
        #expect(steps <= 8)
    }
}

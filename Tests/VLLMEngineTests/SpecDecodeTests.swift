import Foundation
import Testing
import VLLMCompute
import VLLMModels
import VLLMTestSupport
@testable import VLLMEngine

@Suite struct NgramProposerTests {
    let proposer = NgramProposer(minN: 2, maxN: 3)

    @Test func proposesWhatFollowedTheLongestMostRecentMatch() {
        // "7 8 9" occurred at the start and is followed by 1 2; "8 9" also occurred later,
        // followed by 5: the longer match wins.
        #expect(proposer.propose([7, 8, 9, 1, 2, 3, 8, 9, 5, 6, 7, 8, 9][...], limit: 4) == [1, 2, 3, 8])
        // Only "8 9" matches: its most recent occurrence.
        #expect(proposer.propose([8, 9, 1, 4, 8, 9, 5, 6, 0, 8, 9][...], limit: 2) == [5, 6])
        // The continuation stops at the end of the sequence.
        #expect(proposer.propose([3, 4, 3, 4][...], limit: 5) == [3, 4])
        #expect(proposer.propose([1, 2, 3, 4, 5][...], limit: 3) == [])
        #expect(proposer.propose([1, 2, 1, 2][...], limit: 0) == [])
        #expect(proposer.propose([1][...], limit: 3) == [])
    }

    @Test func agreesWithABruteForceSearchOnRandomSequences() {
        var rng = SplitMix64(seed: 4)
        for _ in 0..<2000 {
            let tokens = (0..<Int.random(in: 1...40, using: &rng)).map { _ in Int.random(in: 0..<4, using: &rng) }
            let lo = Int.random(in: 1...3, using: &rng), hi = lo + Int.random(in: 0...2, using: &rng)
            let k = Int.random(in: 1...5, using: &rng)
            var expected: [Int] = []
            search: for n in stride(from: hi, through: lo, by: -1) where n < tokens.count {
                for start in stride(from: tokens.count - n - 1, through: 0, by: -1)
                where Array(tokens[start ..< start + n]) == Array(tokens.suffix(n)) {
                    expected = Array(tokens[(start + n)...].prefix(k))
                    break search
                }
            }
            #expect(NgramProposer(minN: lo, maxN: hi).propose(tokens[...], limit: k) == expected, "\(tokens) \(lo)...\(hi)")
        }
    }
}

@Suite struct SpeculativeConfigTests {
    @Test func parsesVLLMsFields() throws {
        let c = try SpeculativeConfig.parse(json: #"{"method": "ngram", "num_speculative_tokens": 4, "prompt_lookup_max": 5, "prompt_lookup_min": 1}"#)
        #expect(c == SpeculativeConfig(method: .ngram(min: 1, max: 5), numSpeculativeTokens: 4))
        // One bound given: the other takes its value.
        let one = try SpeculativeConfig.parse(json: #"{"method": "ngram", "num_speculative_tokens": 3, "prompt_lookup_max": 4}"#)
        #expect(one.method == .ngram(min: 4, max: 4))
        #expect(one.disableByBatchSize == 4)
        // A draft model stops paying off in smaller batches.
        let draft = try SpeculativeConfig.parse(json: #"{"model": "d.gguf", "num_speculative_tokens": 3}"#)
        #expect(draft.disableByBatchSize == 2 && draft.method == .draftModel("d.gguf"))
        let off = try SpeculativeConfig.parse(json: #"{"method": "ngram", "num_speculative_tokens": 3, "disable_by_batch_size": 3}"#)
        #expect(off.disableByBatchSize == 3 && off.method == .ngram(min: 5, max: 5))
    }

    @Test func largerBatchesGetFewerProposals() {
        let seven = SpeculativeConfig(method: .ngram(min: 1, max: 3), numSpeculativeTokens: 7, disableByBatchSize: 8)
        #expect([1, 2, 3, 4, 5, 8, 9].map { seven.proposalsPerRequest(running: $0) } == [7, 3, 1, 1, 0, 0, 0])
        // The default turns speculation off past 4 requests.
        let auto = SpeculativeConfig(method: .ngram(min: 1, max: 3), numSpeculativeTokens: 2)
        #expect((1...5).map { auto.proposalsPerRequest(running: $0) } == [2, 2, 1, 1, 0])
        let draft = SpeculativeConfig(method: .draftModel("d.gguf"), numSpeculativeTokens: 7)
        #expect((1...3).map { draft.proposalsPerRequest(running: $0) } == [7, 3, 0])
        // A lone request gets what the flag asks for, beyond the budget; without a limit, all do.
        let twenty = SpeculativeConfig(method: .ngram(min: 1, max: 3), numSpeculativeTokens: 20, disableByBatchSize: 100)
        #expect(twenty.proposalsPerRequest(running: 1) == 20 && twenty.proposalsPerRequest(running: 2) == 9)
        let never = SpeculativeConfig(method: .ngram(min: 1, max: 3), numSpeculativeTokens: 7, disableByBatchSize: nil)
        #expect(never.proposalsPerRequest(running: 64) == 7)
    }

    @Test func badConfigsNameTheirProblem() {
        let cases: [(String, String)] = [
            ("not json", "JSON object"),
            (#"{"num_speculative_tokens": 3}"#, "\"method\""),
            (#"{"method": "eagle", "num_speculative_tokens": 3}"#, "eagle"),
            (#"{"method": "ngram"}"#, "num_speculative_tokens"),
            (#"{"method": "ngram", "num_speculative_tokens": 0}"#, "num_speculative_tokens"),
            (#"{"method": "ngram", "num_speculative_tokens": "3"}"#, "integer"),
            (#"{"method": "ngram", "num_speculative_tokens": true}"#, "integer"),
            (#"{"method": "ngram", "num_speculative_tokens": 2.5}"#, "integer"),
            (#"{"method": "ngram", "num_speculative_tokens": 3, "prompt_lookup_min": 4, "prompt_lookup_max": 2}"#, "prompt_lookup_max"),
            (#"{"method": "ngram", "num_speculative_tokens": 3, "prompt_lookup_min": 0}"#, "prompt_lookup_min"),
            (#"{"method": "ngram", "num_speculative_tokens": 3, "lookahead": 2}"#, "lookahead"),
            (#"{"method": "ngram", "num_speculative_tokens": 3, "disable_by_batch_size": 0}"#, "disable_by_batch_size"),
        ]
        for (json, word) in cases {
            #expect {
                _ = try SpeculativeConfig.parse(json: json)
            } throws: { error in
                "\(error)".contains(word) && "\(error)".contains("--speculative-config")
            }
        }
    }
}

/// Speculative decoding against the plain engine: on random workloads (sampling parameters of
/// every kind, seeds, penalties, stop strings and tokens, n > 1, best_of, beam search, grammars,
/// aborts, pools small enough to preempt, chunked prefill, prefix caching, the offloading tier)
/// outputs, logprobs and finish reasons are the same token for token, and no block leaks.
/// Proposals come from the plain run's outputs with random corruptions (so acceptance stops at
/// random points) or from the n-gram proposer.
@Suite struct SpecDecodeDifferentialTests {
    /// Proposes the continuation of a recorded sequence that `tokens` starts, each proposed
    /// token replaced by another with probability `corruption`.
    final class OracleProposer: SpeculativeProposer, @unchecked Sendable {
        let sequences: [[Int]]
        let corruption: Double
        var rng: SplitMix64
        init(sequences: [[Int]], corruption: Double, seed: UInt64) {
            self.sequences = sequences
            self.corruption = corruption
            rng = SplitMix64(seed: seed)
        }
        func propose(_ requests: [ProposalRequest], limit: Int) -> [String: [Int]] {
            var out: [String: [Int]] = [:]
            for r in requests {
                guard let s = sequences.first(where: { $0.count > r.tokens.count && $0.starts(with: r.tokens) }) else { continue }
                out[r.id] = s[r.tokens.count...].prefix(limit).map { t in
                    Double.random(in: 0..<1, using: &rng) < corruption ? AsyncSchedulingTests.active.randomElement(using: &rng)! : t
                }
            }
            return out
        }
    }

    static func run(_ w: AsyncSchedulingTests.Workload, spec: SpeculativeConfig?, proposer: (any SpeculativeProposer)?,
                    draftModel: (any CausalLM)? = nil, model: any CausalLM)
        throws -> (outputs: [String: String], sequences: [[Int]], stats: SpecDecodingStats, engine: LLMEngine) {
        var args = w.args
        args.speculativeConfig = spec
        let engine = try LLMEngine(model: model, tokenizer: AsyncSchedulingTests.tokenizer, args: args, draftModel: draftModel)
        if let proposer { engine.engineCore.proposer = proposer }
        var sequences: [[Int]] = []
        let outputs = try AsyncSchedulingTests.drive(engine, w) { out in
            let prompt = w.requests.first { $0.id == out.requestID }!.prompt
            sequences += out.outputs.map { prompt + $0.tokenIDs }
        }
        return (outputs, sequences, engine.stats.specDecoding, engine)
    }

    @Test(arguments: 0..<4)
    func speculationEqualsPlainDecodingOnRandomWorkloads(shard: Int) throws {
        var rng = SplitMix64(seed: UInt64(shard) &* 0x51ED &+ 5)
        var total = SpecDecodingStats()
        for k in 0..<150 {
            let w = AsyncSchedulingTests.randomWorkload(&rng)
            let model = ChainModel(vocabSize: AsyncSchedulingTests.tokenizer.vocabSize, activeTokens: AsyncSchedulingTests.active)
            let plain = try Self.run(w, spec: nil, proposer: nil, model: model)
            let numSpec = Int.random(in: 1...6, using: &rng)
            let ngram = k % 4 == 0
            let spec = SpeculativeConfig(method: .ngram(min: 1, max: 3), numSpeculativeTokens: numSpec,
                                         disableByBatchSize: Double.random(in: 0..<1, using: &rng) < 0.2 ? 2 : nil)
            let proposer: any SpeculativeProposer = ngram ? NgramProposer(minN: 1, maxN: 3)
                : OracleProposer(sequences: plain.sequences, corruption: Double.random(in: 0...0.5, using: &rng), seed: rng.next())
            let speculated = try Self.run(w, spec: spec, proposer: proposer, model: model)
            for (id, s) in plain.outputs where speculated.outputs[id] != s {
                Issue.record("shard \(shard) workload \(k) request \(id) (k = \(numSpec), ngram: \(ngram)):\nplain \(s)\nspec  \(speculated.outputs[id] ?? "none")")
                return
            }
            total.numDrafts += speculated.stats.numDrafts
            total.numDraftTokens += speculated.stats.numDraftTokens
            total.numAcceptedTokens += speculated.stats.numAcceptedTokens
        }
        // Both outcomes were exercised: some proposals accepted, some rejected.
        #expect(total.numAcceptedTokens > 100 && total.numAcceptedTokens < total.numDraftTokens)
    }
}

/// N-gram speculation on the real model (an extension of `EngineTests` for its serialization
/// and model): greedy and seeded outputs and their logprobs are those of the plain engine,
/// batched with requests that find nothing to propose, and under preemption.
extension EngineTests {
    static func outputs(_ engine: LLMEngine, _ prompts: [[Int]], _ params: [SamplingParams]) throws -> [CompletionOutput] {
        for (i, p) in prompts.enumerated() { try engine.addRequest(id: "s\(i)", prompt: .tokenIDs(p), params: params[i]) }
        var done: [String: CompletionOutput] = [:]
        while engine.hasUnfinishedRequests {
            for out in engine.step() where out.finished { done[out.requestID] = out.outputs[0] }
        }
        #expect(engine.stats.kvBlocksUsed == 0)
        return prompts.indices.map { done["s\($0)"]! }
    }

    /// Reference prompts, and prompts whose continuation repeats what they contain.
    static var speculationPrompts: [[Int]] {
        let repeated = (0..<4).map { i in
            let text = Array(prompts[i].prefix(40))
            return text + [198] + text + [198] + Array(text.prefix(6))
        }
        return Array(prompts.prefix(12)) + repeated
    }

    @Test func ngramSpeculationKeepsGreedyAndSeededOutputs() throws {
        let prompts = Self.speculationPrompts
        let params = prompts.indices.map { i in
            var p = SamplingParams(temperature: i % 3 == 0 ? 0.8 : 0, maxTokens: 40, ignoreEOS: true)
            p.seed = UInt64(i)
            p.logprobs = 2
            return p
        }
        let spec = SpeculativeConfig(method: .ngram(min: 1, max: 4), numSpeculativeTokens: 4, disableByBatchSize: nil)
        let plain = try Self.outputs(Self.engine(), prompts, params)
        let speculative = try Self.engine { $0.speculativeConfig = spec }
        let fast = try Self.outputs(speculative, prompts, params)
        let stats = speculative.stats.specDecoding
        #expect(stats.numAcceptedTokens > 40 && stats.numAcceptedTokens < stats.numDraftTokens)
        // Under preemption too.
        let tiny = try Self.engine { $0.speculativeConfig = spec; $0.numGpuBlocksOverride = 60; $0.maxModelLen = 900 }
        let preempted = try Self.outputs(tiny, prompts, params)
        #expect(tiny.stats.numPreemptions > 0)
        var worst = 0.0
        for (i, p) in plain.enumerated() {
            #expect(fast[i].tokenIDs == p.tokenIDs, "prompt \(i)")
            #expect(preempted[i].tokenIDs == p.tokenIDs, "prompt \(i) under preemption")
            for (a, b) in zip(p.logprobs ?? [], fast[i].logprobs ?? []) {
                #expect(a.map(\.tokenID) == b.map(\.tokenID), "prompt \(i): top tokens")
                for (x, y) in zip(a, b) { worst = max(worst, abs(x.logprob - y.logprob)) }
            }
        }
        #expect(worst <= 1e-5, "worst logprob difference \(worst)")
    }
}

/// The draft-model proposer: a draft that is the target itself proposes exactly the target's
/// greedy tokens, so every proposal of a greedy request is accepted — which needs the draft's
/// KV to follow each request through acceptance, rollback, preemption and finishing (a KV
/// mistake poisons the chain model's proposals). Outputs stay those of plain decoding.
@Suite struct DraftModelProposerTests {
    @Test(arguments: 0..<2)
    func aDraftThatIsTheTargetIsAlwaysRight(shard: Int) throws {
        var rng = SplitMix64(seed: UInt64(shard) &+ 77)
        var accepted = 0
        for k in 0..<40 {
            var w = AsyncSchedulingTests.randomWorkload(&rng)
            // Greedy, and no aborts: a client aborting after m tokens sees several per step here.
            w.requests = w.requests.map { r in
                AsyncSchedulingTests.Submitted(id: r.id, prompt: r.prompt,
                                               params: SamplingParams(temperature: 0, maxTokens: r.params.maxTokens, ignoreEOS: r.params.ignoreEOS),
                                               priority: r.priority, arrival: r.arrival, abortAfter: nil)
            }
            let model = ChainModel(vocabSize: AsyncSchedulingTests.tokenizer.vocabSize, activeTokens: AsyncSchedulingTests.active)
            let draft = ChainModel(vocabSize: AsyncSchedulingTests.tokenizer.vocabSize, activeTokens: AsyncSchedulingTests.active)
            let plain = try SpecDecodeDifferentialTests.run(w, spec: nil, proposer: nil, model: model)
            let numSpec = Int.random(in: 1...5, using: &rng)
            let spec = SpeculativeConfig(method: .draftModel("chain"), numSpeculativeTokens: numSpec, disableByBatchSize: nil)
            let speculated = try SpecDecodeDifferentialTests.run(w, spec: spec, proposer: nil, draftModel: draft, model: model)
            #expect(speculated.outputs == plain.outputs, "workload \(k)")
            #expect(speculated.stats.numAcceptedTokens == speculated.stats.numDraftTokens, "workload \(k): \(speculated.stats)")
            let proposer = try #require(speculated.engine.engineCore.proposer as? DraftModelProposer)
            _ = proposer.propose([], limit: numSpec)
            #expect(proposer.numFreeBlocks == speculated.engine.numKVBlocks, "draft blocks leaked")
            accepted += speculated.stats.numAcceptedTokens
        }
        #expect(accepted > 300)
    }
}

extension EngineTests {
    /// A draft that is the same file with one-term int8 activations (close to the model, not
    /// equal): greedy outputs and logprobs stay those of plain decoding, most proposals pass.
    @Test func aDraftModelKeepsGreedyOutputs() throws {
        let draft = try DecoderModel(gguf: GGUFFile(path: TestPaths.defaultModel), pool: Self.model.pool, maxBatchTokens: 512,
                                     activationPrecision: .int8)
        let prompts = Self.speculationPrompts
        var params = SamplingParams(temperature: 0, maxTokens: 32, ignoreEOS: true)
        params.logprobs = 1
        let all = Array(repeating: params, count: prompts.count)
        let plain = try Self.outputs(Self.engine(), prompts, all)
        var args = EngineArgs()
        args.kvCacheMemory = 256 << 20
        args.maxModelLen = 2048
        args.speculativeConfig = SpeculativeConfig(method: .draftModel(TestPaths.defaultModel), numSpeculativeTokens: 3, disableByBatchSize: nil)
        let engine = try LLMEngine(model: Self.model, tokenizer: Self.tokenizer, args: args, draftModel: draft)
        // The draft's KV comes out of the same budget: every block costs both models' bytes.
        let perBlock = args.kvBlockBytes(config: Self.model.config) + args.kvBlockBytes(config: draft.config)
        #expect(engine.numKVBlocks == (256 << 20) / perBlock)
        let fast = try Self.outputs(engine, prompts, all)
        for (i, p) in plain.enumerated() {
            #expect(fast[i].tokenIDs == p.tokenIDs, "prompt \(i)")
            for (a, b) in zip(p.logprobs ?? [], fast[i].logprobs ?? []) {
                #expect(abs(a[0].logprob - b[0].logprob) <= 1e-5, "prompt \(i)")
            }
        }
        let stats = engine.stats.specDecoding
        #expect(stats.acceptanceRate > 0.5, "\(stats)")
        // Without the draft loaded, or with another vocabulary, the engine refuses to start.
        #expect(throws: EngineArgsError.self) { try LLMEngine(model: Self.model, tokenizer: Self.tokenizer, args: args) }
    }
}

/// The distribution of sampled outputs under speculation, checked against the exact one: a
/// chi-square goodness-of-fit test on the first three tokens of many requests (one seed each)
/// whose proposals are the most likely continuation, accepted or not. Checked to fail when the
/// worker accepts every proposal (chi-square 3362) and when it keeps a rejected proposal for a
/// fifth of the tokens sampled (71 against the critical 66).
@Suite struct SpecDecodeDistributionTests {
    static let active = Array(1000..<1005)
    static let temperature: Float = 0.9

    /// Proposes the most likely continuation after the prompt, from the exact distributions.
    final class LikelyProposer: SpeculativeProposer, @unchecked Sendable {
        let promptCount: Int
        let next: [[Int]: [Int: Double]]
        init(promptCount: Int, next: [[Int]: [Int: Double]]) {
            self.promptCount = promptCount
            self.next = next
        }
        func propose(_ requests: [ProposalRequest], limit: Int) -> [String: [Int]] {
            var out: [String: [Int]] = [:]
            for r in requests {
                var generated = Array(r.tokens.dropFirst(promptCount))
                var proposal: [Int] = []
                while proposal.count < limit, let d = next[generated] {
                    let t = d.max { $0.value < $1.value }!.key
                    proposal.append(t)
                    generated.append(t)
                }
                if !proposal.isEmpty { out[r.id] = proposal }
            }
            return out
        }
    }

    static func engine(spec: SpeculativeConfig?) throws -> LLMEngine {
        var args = EngineArgs()
        args.kvCacheDtype = .float32
        args.numGpuBlocksOverride = 400
        args.maxModelLen = 64
        args.maxNumSeqs = 16
        args.speculativeConfig = spec
        let model = ChainModel(vocabSize: AsyncSchedulingTests.tokenizer.vocabSize, activeTokens: active)
        return try LLMEngine(model: model, tokenizer: AsyncSchedulingTests.tokenizer, args: args)
    }

    /// The sampling distribution (temperature, top-k over the active tokens) of the token after
    /// prompt + each prefix, from the raw logprobs of plain decoding.
    static func nextDistributions(_ prompt: [Int], prefixes: [[Int]]) throws -> [[Int]: [Int: Double]] {
        let engine = try engine(spec: nil)
        var params = SamplingParams(temperature: 0, maxTokens: 1, ignoreEOS: true)
        params.logprobs = active.count
        for (i, p) in prefixes.enumerated() { try engine.addRequest(id: "\(i)", prompt: .tokenIDs(prompt + p), params: params) }
        var out: [[Int]: [Int: Double]] = [:]
        while engine.hasUnfinishedRequests {
            for o in engine.step() where o.finished {
                let top = o.outputs[0].logprobs![0].dropFirst()
                #expect(Set(top.map(\.tokenID)) == Set(active), "the active tokens are the most likely")
                let weights = top.map { ($0.tokenID, exp($0.logprob / Double(temperature))) }
                let z = weights.reduce(0) { $0 + $1.1 }
                out[prefixes[Int(o.requestID)!]] = Dictionary(uniqueKeysWithValues: weights.map { ($0.0, $0.1 / z) })
            }
        }
        return out
    }

    @Test func sampledSpeculationKeepsTheOutputDistribution() throws {
        let prompt = [1001, 1003, 1000, 1004, 1002]
        let active = Self.active
        let firsts = active.map { [$0] }
        let seconds = active.flatMap { a in active.map { [a, $0] } }
        let next = try Self.nextDistributions(prompt, prefixes: [[]] + firsts + seconds)
        var expected: [[Int]: Double] = [:]
        for s in seconds {
            for (t, p) in next[s]! { expected[s + [t]] = next[[]]![s[0]]! * next[[s[0]]]![s[1]]! * p }
        }

        let spec = SpeculativeConfig(method: .ngram(min: 1, max: 1), numSpeculativeTokens: 2, disableByBatchSize: nil)
        let engine = try Self.engine(spec: spec)
        engine.engineCore.proposer = LikelyProposer(promptCount: prompt.count, next: next)
        let n = 12000
        var counts: [[Int]: Int] = [:]
        var submitted = 0, finished = 0
        while submitted < n || engine.hasUnfinishedRequests {
            while submitted < n && submitted - finished < 16 {
                var params = SamplingParams(temperature: Self.temperature, maxTokens: 3, ignoreEOS: true)
                params.topK = Self.active.count
                params.seed = UInt64(submitted)
                try engine.addRequest(id: "r\(submitted)", prompt: .tokenIDs(prompt), params: params)
                submitted += 1
            }
            for o in engine.step() where o.finished {
                counts[o.outputs[0].tokenIDs, default: 0] += 1
                finished += 1
            }
        }
        let stats = engine.stats.specDecoding
        #expect(stats.numAcceptedTokens > 0 && stats.numAcceptedTokens < stats.numDraftTokens, "\(stats)")
        #expect(counts.values.reduce(0, +) == n)
        #expect(counts.keys.allSatisfy { expected[$0] != nil }, "only active tokens are sampled")

        // Cells expecting fewer than 5 are pooled into one.
        var chi2 = 0.0, cells = 0, pooledObserved = 0, pooledExpected = 0.0
        for (seq, p) in expected {
            let e = p * Double(n), o = counts[seq] ?? 0
            if e < 5 { pooledObserved += o; pooledExpected += e; continue }
            chi2 += (Double(o) - e) * (Double(o) - e) / e
            cells += 1
        }
        if pooledExpected > 0 {
            chi2 += (Double(pooledObserved) - pooledExpected) * (Double(pooledObserved) - pooledExpected) / pooledExpected
            cells += 1
        }
        // The chi-square quantile at p = 1e-4 (Wilson–Hilferty).
        let df = Double(cells - 1), z = 3.719
        let critical = df * pow(1 - 2 / (9 * df) + z * (2 / (9 * df)).squareRoot(), 3)
        #expect(chi2 < critical, "chi-square \(chi2) over \(cells) cells, critical \(critical), acceptance \(stats.acceptanceRate)")
    }
}

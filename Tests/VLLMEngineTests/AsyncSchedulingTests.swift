import Testing
import VLLMCompute
import VLLMModels
import VLLMStructuredOutput
@testable import VLLMEngine

/// `--async-scheduling` against the synchronous engine: random workloads (sampling parameters
/// of every kind, grammar constraints, parallel sampling, beam search, aborts, arrivals while running, pools small
/// enough to preempt, chunked prefill, prefix caching, the offloading tier) give the same
/// outputs token for token, logprobs and finish reasons included.
@Suite struct AsyncSchedulingTests {
    struct Submitted {
        let id: String
        let prompt: [Int]
        var params: SamplingParams
        let priority: Int
        /// The engine step before which the request is added.
        let arrival: Int
        /// Abort once this many tokens have been seen (n = 1 requests only).
        let abortAfter: Int?
    }

    struct Workload {
        var args = EngineArgs()
        var requests: [Submitted] = []
    }

    static let tokenizer = EngineTests.tokenizer
    static let active: [Int] = Array(1000..<1032) + [tokenizer.eosTokenID!]

    static func randomWorkload(_ rng: inout SplitMix64) -> Workload {
        func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &rng) < p }
        func pick<T>(_ xs: [T]) -> T { xs.randomElement(using: &rng)! }
        func tokens(_ n: Int) -> [Int] { (0..<n).map { _ in pick(Array(active.dropLast())) } }
        var w = Workload()
        w.args.kvCacheDtype = .float32
        w.args.blockSize = pick([4, 8, 16])
        w.args.maxModelLen = 128
        w.args.numGpuBlocksOverride = Int.random(in: 128...384, using: &rng) / w.args.blockSize
        w.args.maxNumSeqs = Int.random(in: 1...8, using: &rng)
        w.args.maxNumBatchedTokens = pick([16, 32, 64, 128])
        w.args.enablePrefixCaching = chance(0.7)
        w.args.schedulingPolicy = chance(0.2) ? .priority : .fcfs
        if w.args.enablePrefixCaching && chance(0.3) { w.args.kvOffloadingSize = 1e-5 }
        let prefixes = [tokens(Int.random(in: 8...40, using: &rng)), tokens(Int.random(in: 8...40, using: &rng))]
        var hasBeamSearch = false
        // Grammars in one workload in ten (the vocabulary tables cost each engine ~0.1 s).
        let constrained = chance(0.1)
        for i in 0..<Int.random(in: 1...10, using: &rng) {
            var prompt = chance(0.5) ? pick(prefixes) : []
            prompt += tokens(Int.random(in: 1...(60 - prompt.count), using: &rng))
            var p = SamplingParams()
            p.seed = rng.next()
            p.temperature = chance(0.4) ? 0 : Float.random(in: 0.3...1.5, using: &rng)
            if chance(0.3) { p.topP = Float.random(in: 0.5...1, using: &rng) }
            if chance(0.3) { p.topK = Int.random(in: 1...20, using: &rng) }
            if chance(0.2) { p.minP = Float.random(in: 0.02...0.2, using: &rng) }
            if chance(0.3) { p.presencePenalty = Float.random(in: -1...1, using: &rng) }
            if chance(0.3) { p.frequencyPenalty = Float.random(in: -1...1, using: &rng) }
            if chance(0.3) { p.repetitionPenalty = Float.random(in: 0.8...1.3, using: &rng) }
            p.maxTokens = Int.random(in: 1...24, using: &rng)
            if chance(0.3) { p.minTokens = Int.random(in: 0...p.maxTokens, using: &rng) }
            p.ignoreEOS = chance(0.4)
            if chance(0.2) { p.stop = [String(tokenizer.decode([pick(active)]).prefix(2))].filter { !$0.isEmpty } }
            if chance(0.2) { p.stopTokenIDs = [pick(active)] }
            if chance(0.3) { p.logprobs = Int.random(in: 0...3, using: &rng) }
            if chance(0.1) { p.promptLogprobs = Int.random(in: 0...2, using: &rng) }
            if chance(0.2) { p.logitBias = [pick(active): Float.random(in: -5...5, using: &rng)] }
            if chance(0.15) { p.badWords = [tokenizer.decode([pick(active)])] }
            if chance(0.25) { p.n = Int.random(in: 2...3, using: &rng) }
            if constrained && chance(0.3) { p.structuredOutputs = StructuredOutputsParams(regex: "(yes|no|maybe)!{1,6}") }
            if p.temperature > 0 && chance(0.15) { p.bestOf = p.n + Int.random(in: 0...1, using: &rng) }
            // Beam search only in a roomy pool, one per workload: finished beams keep their
            // blocks until their continuations run, and two searches in a pool that cannot
            // hold both can wait on each other (a limit of the synchronous engine as well).
            if !hasBeamSearch && w.args.numGpuBlocksOverride! * w.args.blockSize >= 320 && chance(0.08) {
                hasBeamSearch = true
                p = SamplingParams(temperature: 0, maxTokens: p.maxTokens, ignoreEOS: p.ignoreEOS)
                p.useBeamSearch = true
                p.n = Int.random(in: 2...3, using: &rng)
            }
            let abort = p.n == 1 && !p.isBeamSearch && chance(0.2) ? Int.random(in: 1...max(1, p.maxTokens), using: &rng) : nil
            w.requests.append(Submitted(id: "q\(i)", prompt: prompt, params: p, priority: Int.random(in: 0...2, using: &rng),
                                        arrival: chance(0.5) ? 0 : Int.random(in: 1...12, using: &rng), abortAfter: abort))
        }
        return w
    }

    /// Each request's last output, as text that shows every field compared.
    static func run(_ w: Workload, async: Bool, model: any CausalLM) throws -> [String: String] {
        var args = w.args
        args.asyncScheduling = async
        return try drive(LLMEngine(model: model, tokenizer: tokenizer, args: args), w)
    }

    /// Runs the workload on `engine` (`onFinish` sees each finished output); each request's
    /// last output, as text that shows every field compared.
    static func drive(_ engine: LLMEngine, _ w: Workload, onFinish: (RequestOutput) -> Void = { _ in }) throws -> [String: String] {
        var pending = w.requests.sorted { $0.arrival < $1.arrival }
        var last: [String: RequestOutput] = [:]
        var aborted = Set<String>()
        var rejected: [String: String] = [:]
        var step = 0
        while !pending.isEmpty || engine.hasUnfinishedRequests {
            while let r = pending.first, r.arrival <= step {
                do { try engine.addRequest(id: r.id, prompt: .tokenIDs(r.prompt), params: r.params, priority: r.priority) }
                catch { rejected[r.id] = "rejected: \(error)" }
                pending.removeFirst()
            }
            for out in engine.step() {
                last[out.requestID] = out
                if out.finished { onFinish(out) }
                let r = w.requests.first { $0.id == out.requestID }!
                if let m = r.abortAfter, !out.finished, out.outputs[0].tokenIDs.count >= m {
                    engine.abortRequest(id: r.id)
                    aborted.insert(r.id)
                }
            }
            step += 1
            guard step < 20_000 else { Issue.record("the workload does not finish (async: \(engine.args.asyncScheduling))"); break }
        }
        #expect(engine.engineCore.scheduler.kvCacheManager.pool.numFreeBlocks == engine.numKVBlocks, "KV blocks leaked")
        return rejected.merging(last.mapValues { o in
            let completions = o.outputs.map { c in
                "\(c.index) \(c.tokenIDs) \(c.text.debugDescription) \(c.finishReason ?? "-") \(c.stopReason ?? "-") "
                    + "\(c.cumulativeLogprob.map { String($0.bitPattern) } ?? "-") \(String(describing: c.logprobs))"
            }
            return "\(aborted.contains(o.requestID) ? "aborted " : "")\(String(describing: o.promptLogprobs)) \(completions)"
        }) { a, _ in a }
    }

    @Test(arguments: 0..<8)
    func asyncEqualsSyncOnRandomWorkloads(shard: Int) throws {
        var rng = SplitMix64(seed: UInt64(shard) &* 0x9E37 &+ 11)
        for k in 0..<250 {
            let w = Self.randomWorkload(&rng)
            let model = ChainModel(vocabSize: Self.tokenizer.vocabSize, activeTokens: Self.active)
            let sync = try Self.run(w, async: false, model: model)
            let async = try Self.run(w, async: true, model: model)
            #expect(sync.count == w.requests.count)
            for (id, s) in sync where async[id] != s {
                Issue.record("shard \(shard) workload \(k) request \(id):\nsync  \(s)\nasync \(async[id] ?? "none")")
                return
            }
        }
    }
}

/// The batch queue of a pipeline (`Executor.maxConcurrentBatches` above 1) against the
/// synchronous engine on the same random workloads (no offloading tier: the parallel executors
/// refuse it): requests waiting for a token in flight sit out a step while the others run, and
/// every output is the same, token for token.
@Suite struct PipelineBatchQueueTests {
    /// `lastStageSamples`: the last stage samples with its copy of the sampling state (as with
    /// MPI ranks) instead of handing rank 0 the logits.
    @Test(arguments: 0..<4, [(2, false), (3, false), (2, true), (3, true)])
    func pipelinedEqualsSyncOnRandomWorkloads(shard: Int, layout: (depth: Int, lastStageSamples: Bool)) throws {
        let depth = layout.depth
        var rng = SplitMix64(seed: UInt64(shard) &* 0x51ED &+ UInt64(depth))
        var mostInFlight = 0
        for k in 0..<120 {
            var w = AsyncSchedulingTests.randomWorkload(&rng)
            w.args.kvOffloadingSize = nil
            let model = ChainModel(vocabSize: AsyncSchedulingTests.tokenizer.vocabSize, activeTokens: AsyncSchedulingTests.active)
            let sync = try AsyncSchedulingTests.run(w, async: false, model: model)
            let piped: [String: String]
            if layout.lastStageSamples {
                let pipelined = SamplingPipelinedChainModel(model, depth: depth)
                piped = try AsyncSchedulingTests.run(w, async: false, model: pipelined)
                mostInFlight = max(mostInFlight, pipelined.mostInFlight)
            } else {
                let pipelined = PipelinedChainModel(model, depth: depth)
                piped = try AsyncSchedulingTests.run(w, async: false, model: pipelined)
                mostInFlight = max(mostInFlight, pipelined.mostInFlight)
            }
            for (id, s) in sync where piped[id] != s {
                Issue.record("shard \(shard) workload \(k) request \(id):\nsync      \(s)\npipelined \(piped[id] ?? "none")")
                return
            }
        }
        #expect(mostInFlight == depth, "the engine never had \(depth) steps in flight")
    }
}

extension EngineTests {
    /// The same comparison through the real model (shorter workloads).
    @Test func asyncEqualsSyncOnTheRealModel() throws {
        var rng = SplitMix64(seed: 0xA5)
        for k in 0..<200 {
            var w = AsyncSchedulingTests.randomWorkload(&rng)
            w.args.kvCacheDtype = .float16
            if w.args.kvOffloadingSize != nil { w.args.kvOffloadingSize = 0.01 }
            for i in w.requests.indices { w.requests[i].params.maxTokens = min(w.requests[i].params.maxTokens, 8) }
            let sync = try AsyncSchedulingTests.run(w, async: false, model: Self.model)
            let async = try AsyncSchedulingTests.run(w, async: true, model: Self.model)
            for (id, s) in sync where async[id] != s {
                Issue.record("workload \(k) request \(id):\nsync  \(s)\nasync \(async[id] ?? "none")")
                return
            }
        }
    }
}

extension EngineTests {
    /// Async scheduling with LoRA adapters and the offloading tier together (a pool too small
    /// for the shared prefix of every adapter): the same tokens as the synchronous engine.
    @Test func asyncSchedulingWithLoRAAndTheTierAnswersAsTheSyncEngine() throws {
        let a = try TestAdapter.write(rank: 8, seed: 1, config: Self.model.config)
        let b = try TestAdapter.write(rank: 4, seed: 2, config: Self.model.config)
        let adapters: [LoRARequest?] = [LoRARequest(loraName: "a", loraIntId: 1, loraPath: a),
                                        LoRARequest(loraName: "b", loraIntId: 2, loraPath: b), nil]
        var rng = SplitMix64(seed: 3)
        let shared = (0..<48).map { _ in Int(100 + rng.next() % 30000) }
        let prompts = (0..<12).map { i in shared + (0..<(5 + i)).map { _ in Int(100 + rng.next() % 30000) } }
        func run(async: Bool) throws -> [[Int]] {
            let e = try Self.engine {
                $0.enableLoRA = true; $0.maxLoras = 2; $0.maxLoraRank = 16; $0.asyncScheduling = async
                $0.numGpuBlocksOverride = 20; $0.maxModelLen = 128; $0.maxNumSeqs = 2; $0.kvOffloadingSize = 0.05
            }
            let out = try Self.runLoRA(e, prompts, prompts.indices.map { adapters[$0 % 3] })
            #expect(e.stats.offload!.blocksStored > 0)
            return out
        }
        #expect(try run(async: true) == run(async: false))
    }
}

import Foundation
import Testing
import VLLMCompute
@testable import VLLMEngine

/// KV cache groups with sliding windows (vLLM's hybrid KV cache manager) under seeded random
/// workloads: chunked prefill, prefix caching, preemption and aborts, with a fake model that
/// writes every position's row into each group's table and, for every new position, reads back
/// each row its group's attention would read (the window behind it, or everything). Checks that
/// no row a window still needs was dropped or overwritten, that sliding-window groups hold at
/// most the window's span, the block references, and that outputs equal each request run alone.
@Suite struct SlidingWindowKVTests {
    @Test(arguments: 0..<4)
    func randomWorkloadsKeepEveryRowAWindowReads(shard: Int) {
        var preempting = 0, hits = 0, dropped = 0
        for w in 0..<150 {
            guard let t = Self.run(seed: UInt64(shard * 1000 + w)) else { return }
            preempting += t.preempted ? 1 : 0
            hits += t.prefixHits
            dropped += t.dropped
        }
        #expect(preempting > 5 && hits > 0 && dropped > 0, "preempting \(preempting), prefix hits \(hits), blocks dropped \(dropped)")
    }

    /// A long generation on one windowed group holds at most window / blockSize + 1 blocks once
    /// it decodes, while its table grows with every block.
    @Test func aLongGenerationHoldsOnlyItsWindow() throws {
        let config = SchedulerConfig(maxNumBatchedTokens: 64, maxModelLen: 2048, blockSize: 16, kvCacheGroupWindows: [nil, 256])
        let s = try Scheduler(config: config, numBlocks: 400)
        let r = Request(requestID: "g", promptTokenIDs: Array(0..<100), samplingParams: SamplingParams(maxTokens: 1900, ignoreEOS: true))
        try s.add(r)
        var maxWindowBlocks = 0
        while s.hasUnfinishedRequests {
            let out = s.schedule()
            if r.numComputedTokens > 300 { maxWindowBlocks = max(maxWindowBlocks, s.kvCacheManager.blocks("g", group: 1).count) }
            let full = s.kvCacheManager.blocks("g", group: 0).count
            #expect(full == (r.numComputedTokens + 15) / 16)
            _ = s.update(output: out, sampled: ["g": 1])
        }
        #expect(maxWindowBlocks == 256 / 16 + 1)
        #expect(s.stats.kvBlocksUsed == 0)
    }

    struct Totals { var preempted = false, prefixHits = 0, dropped = 0 }

    static func run(seed: UInt64) -> Totals? {
        var rng = SplitMix64(seed: seed &* 0x2545_F491_4F6C_DD1D &+ 99)
        func pick<T>(_ xs: [T]) -> T { xs[Int.random(in: 0..<xs.count, using: &rng)] }
        func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &rng) < p }
        let blockSize = pick([1, 2, 4, 8, 16])
        // At least 2: the fake model reads each position's predecessor.
        let w = Int.random(in: 2...40, using: &rng)
        let windows: [Int?] = pick([[w], [nil, w], [nil, w, w], [w, nil, w, w]])
        let maxModelLen = 300
        let budget = pick([3, 7, 16, 32, 128, 2048])
        let prefixes = (0..<2).map { _ in (0..<Int.random(in: 0...80, using: &rng)).map { _ in Int.random(in: 0..<1000, using: &rng) } }
        var planned: [(Request, Int, Int?, [Int])] = []
        for i in 0..<Int.random(in: 1...6, using: &rng) {
            var prompt = chance(0.7) ? pick(prefixes) : []
            let total = Int.random(in: 1...150, using: &rng)
            if prompt.count >= total { prompt = Array(prompt[..<total]) }
            while prompt.count < total { prompt.append(Int.random(in: 0..<1000, using: &rng)) }
            let params = SamplingParams(maxTokens: Int.random(in: 1...40, using: &rng), ignoreEOS: true)
            let r = Request(requestID: "r\(i)", promptTokenIDs: prompt, samplingParams: params)
            planned.append((r, chance(0.5) ? 0 : Int.random(in: 0...30, using: &rng), chance(0.1) ? Int.random(in: 0...50, using: &rng) : nil,
                            FakeModel.reference(prompt: prompt, params: params, maxModelLen: maxModelLen).0))
        }
        let most = planned.map {
            KVCacheManager.maxBlocksNeeded(windows: windows, blockSize: blockSize, tokens: $0.0.numTokens + $0.0.samplingParams.maxTokens - 1,
                                           chunk: budget)
        }.max()!
        let numBlocks = most + Int.random(in: 0...most, using: &rng)
        let s: Scheduler
        do {
            s = try Scheduler(config: SchedulerConfig(maxNumBatchedTokens: budget, maxModelLen: maxModelLen, blockSize: blockSize,
                                                      enablePrefixCaching: chance(0.8), kvCacheGroupWindows: windows), numBlocks: numBlocks)
        } catch { Issue.record("seed \(seed): \(error)"); return nil }
        let m = s.kvCacheManager
        // Per group, slot by slot: the position whose row the slot holds, and the row.
        var pos = Array(repeating: [Int](repeating: -1, count: numBlocks * blockSize), count: windows.count)
        var row = Array(repeating: [UInt64](repeating: 0, count: numBlocks * blockSize), count: windows.count)
        var totals = Totals(), done = 0, step = 0
        func fail(_ message: String) -> Totals? {
            Issue.record("seed \(seed) step \(step) windows \(windows) block \(blockSize): \(message)")
            return nil
        }
        while done < planned.count {
            if step > 5000 { return fail("no progress") }
            for p in planned where p.1 == step {
                do { try s.add(p.0) } catch { return fail("add: \(error)") }
            }
            for p in planned where p.2 == step && p.1 <= step && !p.0.status.isFinished {
                s.abort([p.0.requestID])
                done += 1
            }
            let out = s.schedule()
            totals.preempted = totals.preempted || !out.preemptedRequestIDs.isEmpty
            // References: every non-dropped table entry holds its block once.
            var holders = [Int](repeating: 0, count: numBlocks)
            for r in s.running {
                for g in windows.indices {
                    let held = m.blocks(r.requestID, group: g)
                    for b in held { holders[b.blockID] += 1 }
                    if let wg = windows[g], held.count > (wg - 1 + budget + blockSize - 1) / blockSize + 1 {
                        return fail("\(r.requestID) group \(g) holds \(held.count) blocks for a window of \(wg)")
                    }
                }
            }
            if let b = m.pool.blocks.first(where: { $0.refCount != holders[$0.blockID] }) { return fail("block \(b.blockID) references") }
            var sampled: [String: Int] = [:]
            for sr in out.scheduled {
                var h: UInt64 = 0
                for (j, t) in sr.tokenIDs.enumerated() {
                    let p = sr.startPosition + j
                    for g in windows.indices {
                        let table = sr.blockTables[g]
                        func slot(_ q: Int) -> Int { table[q / blockSize] * blockSize + q % blockSize }
                        let first = windows[g].map { max(0, p - $0 + 1) } ?? 0
                        for q in first..<p where pos[g][slot(q)] != q {
                            return fail("\(sr.requestID) group \(g): row \(q) missing at \(p) (slot holds \(pos[g][slot(q)])); table \(table)")
                        }
                        if p > 0 && g == 0 { h = row[0][slot(p - 1)] }
                        if p > 0 && row[g][slot(p - 1)] != h { return fail("group \(g) row \(p - 1) differs") }
                    }
                    h = FakeModel.row(after: h, token: t)
                    for g in windows.indices {
                        let sl = sr.blockTables[g][p / blockSize] * blockSize + p % blockSize
                        pos[g][sl] = p
                        row[g][sl] = h
                    }
                }
                if sr.samplesAfterStep { sampled[sr.requestID] = FakeModel.sample(h) }
            }
            for u in s.update(output: out, sampled: sampled) where u.isFinished {
                done += 1
                guard let p = planned.first(where: { $0.0.requestID == u.requestID }) else { return fail("unknown") }
                if p.0.outputTokenIDs != p.3 { return fail("\(u.requestID) produced \(p.0.outputTokenIDs), alone \(p.3)") }
            }
            totals.dropped = max(totals.dropped, m.numTableEntries - s.running.reduce(0) { n, r in
                n + windows.indices.reduce(0) { $0 + m.blocks(r.requestID, group: $1).count } })
            step += 1
        }
        if m.pool.numFreeBlocks != numBlocks { return fail("blocks leaked") }
        totals.prefixHits = s.stats.prefixCacheHits
        return totals
    }
}

import Testing
import VLLMTestSupport
@testable import VLLMEngine

/// `DataParallelLLM`'s router, on random replica states: the replica chosen is never more than
/// `slack` requests busier than the least loaded one, no such replica holds more of the prompt's
/// prefix, and between equal prefixes the less loaded (then less KV-full) replica wins.
@Suite struct DataParallelRoutingTests {
    @Test func choiceFollowsPrefixThenLoadWithinTheSlack() {
        var rng = SeededGenerator(seed: 29)
        for _ in 0..<5000 {
            let n = Int.random(in: 1...6, using: &rng), slack = Int.random(in: 1...4, using: &rng)
            let loads = (0..<n).map { _ in Int.random(in: 0...8, using: &rng) }
            let kv = (0..<n).map { _ in Double(Int.random(in: 0...4, using: &rng)) / 4 }
            let matched = (0..<n).map { _ in Int.random(in: 0...3, using: &rng) }
            let c = DataParallelLLM.choose(loads: loads, kvUsage: kv, matchedBlocks: matched, slack: slack)
            let eligible = loads.indices.filter { loads[$0] <= loads.min()! + slack }
            #expect(eligible.contains(c))
            for e in eligible where e != c {
                #expect(matched[e] < matched[c] || (matched[e] == matched[c] && (loads[e], kv[e], e) > (loads[c], kv[c], c)),
                        "loads \(loads) kv \(kv) matched \(matched) slack \(slack): chose \(c) over \(e)")
            }
        }
    }

    @Test func blockHashesChainFullBlocksAndKeepAdaptersApart() {
        let a = DataParallelLLM.blockHashes(Array(0..<40), blockSize: 16, salt: nil)
        #expect(a.count == 2)
        // The same first block with another second: the first hash is shared, the second not.
        let b = DataParallelLLM.blockHashes(Array(0..<16) + Array(100..<116), blockSize: 16, salt: nil)
        #expect(b[0] == a[0] && b[1] != a[1])
        // The same second block after another first: chained, so different.
        let c = DataParallelLLM.blockHashes(Array(50..<66) + Array(16..<32), blockSize: 16, salt: nil)
        #expect(c[1] != a[1])
        #expect(DataParallelLLM.blockHashes(Array(0..<40), blockSize: 16, salt: "adapter")[0] != a[0])
        #expect(DataParallelLLM.blockHashes(Array(0..<15), blockSize: 16, salt: nil).isEmpty)
    }
}

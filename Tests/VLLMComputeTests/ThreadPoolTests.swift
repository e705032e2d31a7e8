import Synchronization
import Testing
import VLLMCompute

@Suite struct ThreadPoolTests {
    @Test(arguments: [1, 2, 3, 5]) func everyThreadRunsEveryJob(threads: Int) {
        let pool = ThreadPool(threadCount: threads)
        let hits = Mutex([Int](repeating: 0, count: threads))
        for _ in 0..<2000 { pool.run { t in hits.withLock { $0[t] += 1 } } }
        hits.withLock { #expect($0 == [Int](repeating: 2000, count: threads)) }
    }

    /// Ranges cover 0..<count exactly once, in grain multiples, for awkward sizes; statically
    /// split, and claimed piece by piece (with more or fewer pieces than indices).
    @Test func parallelForCoversEachIndexOnce() {
        let pool = ThreadPool(threadCount: 3)
        for count in [0, 1, 2, 15, 16, 17, 100, 1001] {
            for grain in [1, 4, 16] {
                for pieces in [nil, 1, 5, 64, 2000] as [Int?] {
                    let seen = Mutex([Int](repeating: 0, count: count))
                    let body: (Int, Range<Int>) -> Void = { thread, range in
                        #expect(range.lowerBound % grain == 0 && (0..<3).contains(thread))
                        seen.withLock { for i in range { $0[i] += 1 } }
                    }
                    if let pieces { pool.parallelForDynamic(count, pieces: pieces, grain: grain, body) } else { pool.parallelFor(count, grain: grain, body) }
                    seen.withLock { #expect($0.allSatisfy { $0 == 1 }, "count \(count) grain \(grain) pieces \(String(describing: pieces))") }
                }
            }
        }
    }

    /// Workers that fell asleep between jobs wake for the next one.
    @Test func wakesAfterIdle() async throws {
        let pool = ThreadPool(threadCount: 2)
        let total = Atomic<Int>(0)
        for _ in 0..<3 {
            try await Task.sleep(for: .milliseconds(300))
            pool.run { _ in total.add(1, ordering: .relaxed) }
        }
        #expect(total.load(ordering: .relaxed) == 6)
    }
}

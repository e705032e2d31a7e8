import Testing
import VLLMModels
@testable import VLLMDistributed

/// The messages rank 0 sends its workers survive encoding, and a step sends only the blocks a
/// sequence's tables gained.
@Suite struct WorkerMessageTests {
    @Test func randomForwardStepsRoundTrip() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            var delta = ForwardDelta()
            for _ in 0..<Int.random(in: 0...5, using: &rng) {
                let groups = Int.random(in: 1...3, using: &rng)
                let tables = (0..<groups).map { _ in (0..<Int.random(in: 0...6, using: &rng)).map { _ in Int32.random(in: 0...100_000, using: &rng) } }
                let embeddings = Bool.random(using: &rng)
                    ? PromptEmbeddings(rows: 2, hiddenSize: 3, values: (0..<6).map { _ in Float.random(in: -2...2, using: &rng) }) : nil
                delta.entries.append(.init(sequence: Int64.random(in: 0...1 << 40, using: &rng),
                                           tokens: (0..<Int.random(in: 1...9, using: &rng)).map { _ in Int32.random(in: 0..<49152, using: &rng) },
                                           firstPosition: Int.random(in: 0...8192, using: &rng), needsLogits: .random(using: &rng),
                                           needsAllLogits: .random(using: &rng), tables: Bool.random(using: &rng) ? .append(tables) : .replace(tables),
                                           promptEmbeddings: embeddings, lora: Bool.random(using: &rng) ? Int.random(in: 1...64, using: &rng) : nil))
            }
            guard case let .forward(back) = WorkerMessage(decoding: WorkerMessage.forward(delta).encoded) else {
                Issue.record("not a forward step")
                return
            }
            #expect(back.entries.count == delta.entries.count)
            for (a, b) in zip(delta.entries, back.entries) {
                #expect(a.sequence == b.sequence && a.tokens == b.tokens && a.firstPosition == b.firstPosition)
                #expect(a.needsLogits == b.needsLogits && a.needsAllLogits == b.needsAllLogits && a.promptEmbeddings == b.promptEmbeddings)
                #expect(a.lora == b.lora)
                switch (a.tables, b.tables) {
                case let (.append(x), .append(y)), let (.replace(x), .replace(y)): #expect(x == y)
                default: Issue.record("table change kind lost")
                }
            }
        }
    }

    @Test func otherMessagesRoundTrip() {
        let layout = KVCacheLayout(groups: [[0, 2], [1, 3]], windows: [nil, 512])
        guard case let .initializeKVCache(l, n, b, d, slots) = WorkerMessage(decoding: WorkerMessage.initializeKVCache(
            layout: layout, numBlocks: 1234, blockSize: 16, dtype: .float32, offloadSlots: 77).encoded) else { Issue.record("kind"); return }
        #expect(l == layout && n == 1234 && b == 16 && d == .float32 && slots == 77)
        guard case let .copyBlocks(c) = WorkerMessage(decoding: WorkerMessage.copyBlocks([(1, 2), (7, 3)]).encoded) else { Issue.record("kind"); return }
        #expect(c.map(\.src) == [1, 7] && c.map(\.dst) == [2, 3])
        guard case let .loadBlocks(loads) = WorkerMessage(decoding: WorkerMessage.loadBlocks([(4, 0), (9, 12)]).encoded) else { Issue.record("kind"); return }
        #expect(loads.map(\.block) == [4, 9] && loads.map(\.slot) == [0, 12])
        guard case let .storeBlocks(stores) = WorkerMessage(decoding: WorkerMessage.storeBlocks([(5, 1)]).encoded) else { Issue.record("kind"); return }
        #expect(stores.map(\.block) == [5] && stores.map(\.slot) == [1])
        guard case let .addLoRA(id, path, rank) = WorkerMessage(decoding: WorkerMessage.addLoRA(id: 3, path: "/a/dapter é", maxRank: 64).encoded)
        else { Issue.record("kind"); return }
        #expect(id == 3 && path == "/a/dapter é" && rank == 64)
        guard case .removeLoRA(3) = WorkerMessage(decoding: WorkerMessage.removeLoRA(id: 3).encoded) else { Issue.record("kind"); return }
        guard case .shutdown = WorkerMessage(decoding: WorkerMessage.shutdown.encoded) else { Issue.record("kind"); return }
    }

    @Test func onlyAppendedBlocksAreSent() {
        #expect(TensorParallelModel.appended(from: [[1, 2]], to: [[1, 2, 3, 4]]) == [[3, 4]])
        #expect(TensorParallelModel.appended(from: [[1, 2], [5]], to: [[1, 2], [5, 6]]) == [[], [6]])
        // Preempted and rescheduled with other blocks, or fewer groups: the whole tables.
        #expect(TensorParallelModel.appended(from: [[1, 2]], to: [[9, 2, 3]]) == nil)
        #expect(TensorParallelModel.appended(from: [[1, 2, 3]], to: [[1, 2]]) == nil)
        #expect(TensorParallelModel.appended(from: [[1], [2]], to: [[1]]) == nil)
    }
}

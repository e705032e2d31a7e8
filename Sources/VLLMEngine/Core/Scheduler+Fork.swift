/// Forks: for beam search, a finished request that kept its blocks
/// (`Request.keepsBlocksWhenFinished`) lends its block table to the requests continuing it; for
/// parallel sampling, a request lends its prompt's blocks to its siblings.
extension Scheduler {
    /// Queues `child`, whose tokens continue the computed tokens of `parentID` (a finished
    /// request that kept its blocks), with the parent's block table: every block gains a
    /// reference, and the shared partial last block is copied on write when the child first
    /// writes into it. Throws as `add` does, or when the parent holds no kept blocks.
    public func fork(_ child: Request, from parentID: String) throws(SchedulerError) {
        guard let parent = held[parentID] else {
            throw .invalidRequest("request \(parentID) holds no blocks to fork from")
        }
        guard child.numTokens > parent.numComputedTokens,
              child.allTokenIDs[..<parent.numComputedTokens] == parent.allTokenIDs[..<parent.numComputedTokens] else {
            throw .invalidRequest("request \(child.requestID) does not continue \(parentID)")
        }
        try add(child)
        kvCacheManager.fork(parent: parent, child: child)
    }

    /// Frees the blocks kept by finished requests (see `Request.keepsBlocksWhenFinished`).
    public func release(_ requestIDs: some Sequence<String>) {
        for id in requestIDs { if let r = held.removeValue(forKey: id) { kvCacheManager.free(r) } }
    }

    /// Queues `sibling`, another sample of the same prompt as the unfinished request `leaderID`
    /// (parallel sampling: `n > 1`, `best_of`), to start from the leader's blocks. When the
    /// leader has computed its prompt, the sibling shares every block before the prompt's last
    /// token (the partial one copy-on-write) and computes only that token, to sample its own
    /// first token: the prompt is computed once, with or without prefix caching. A sibling
    /// whose leader is aborted first is scheduled on its own. With sliding-window layers (whose
    /// tables drop blocks behind the window) siblings are plain requests.
    public func addSibling(_ sibling: Request, of leaderID: String) throws(SchedulerError) {
        guard let leader = request(leaderID), leader.numOutputTokens == 0 else {
            throw .invalidRequest("request \(leaderID) is not waiting for its first token")
        }
        guard sibling.promptTokenIDs == leader.promptTokenIDs, sibling.blockHashExtraKey == leader.blockHashExtraKey else {
            throw .invalidRequest("request \(sibling.requestID) does not share the prompt of \(leaderID)")
        }
        try add(sibling)
        guard kvCacheManager.windows.allSatisfy({ $0 == nil }) && sibling.numPromptTokens > 1 else { return }
        waiting.removeLast()
        awaitingFork[leaderID, default: []].append(sibling)
    }

    /// Called when `leader` has sampled its first token: its siblings take its prompt blocks
    /// and join the front of the waiting queue.
    func forkSiblings(of leader: Request) {
        guard let siblings = awaitingFork.removeValue(forKey: leader.requestID) else { return }
        // A leader preempted since its step was scheduled (async scheduling) has no blocks to
        // lend: its siblings start as plain requests (usually prefix-cache hits).
        for s in siblings where kvCacheManager.holdsBlocks(leader.requestID) { kvCacheManager.fork(parent: leader, child: s, numComputedTokens: leader.numPromptTokens - 1) }
        waiting.insert(contentsOf: siblings, at: 0)
    }

    func forgetAwaitingSibling(_ request: Request) {
        for (leader, siblings) in awaitingFork where siblings.contains(where: { $0 === request }) {
            let rest = siblings.filter { $0 !== request }
            awaitingFork[leader] = rest.isEmpty ? nil : rest
        }
    }
}

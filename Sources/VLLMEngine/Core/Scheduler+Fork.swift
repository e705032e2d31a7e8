/// Forks for beam search: a finished request that kept its blocks
/// (`Request.keepsBlocksWhenFinished`) lends its block table to the requests continuing it.
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
}

import Foundation
import VLLMTokenizers

/// Turns engine-core token updates into `RequestOutput`s: incremental detokenization, stop
/// strings (the scheduler never sees text: a match here aborts the engine request), and
/// gathering the completions of a parent request into one output. A parent with `best_of > n`
/// reports only when every candidate has finished, then the `n` with the highest cumulative
/// logprob (best first, each keeping its candidate index, as vLLM V0 did).
final class OutputProcessor {
    private struct Completion {
        let parentID: String
        let index: Int
        let params: SamplingParams
        var detokenizer: IncrementalDetokenizer
        var output: CompletionOutput
    }

    private struct Parent {
        let promptTokenIDs: [Int]
        var promptLogprobs: [StepLogprobs?]?
        var promptLogprobRanks: [Int?]?
        var childIDs: [String]
        /// Completions returned; fewer than `childIDs` when only the best are kept.
        let n: Int
        var returnsBest: Bool { n < childIDs.count }
        var metrics: RequestMetrics
        var numCachedTokens: Int?
    }

    private let tokenizer: Tokenizer
    private var completions: [String: Completion] = [:]
    private var parents: [String: Parent] = [:]

    init(tokenizer: Tokenizer) { self.tokenizer = tokenizer }

    func addParent(id: String, promptTokenIDs: [Int], childIDs: [String], n: Int? = nil) {
        parents[id] = Parent(promptTokenIDs: promptTokenIDs, promptLogprobs: nil, promptLogprobRanks: nil, childIDs: childIDs,
                             n: n ?? childIDs.count, metrics: RequestMetrics(arrivalTime: .now))
    }

    /// Marks the first time any candidate of a parent was scheduled.
    func noteScheduled(_ requestIDs: [String]) {
        guard !requestIDs.isEmpty else { return }
        let now = ContinuousClock.now
        for id in requestIDs {
            if let parent = completions[id]?.parentID, parents[parent]?.metrics.firstScheduledTime == nil {
                parents[parent]?.metrics.firstScheduledTime = now
            }
        }
    }

    func addChild(id: String, parentID: String, index: Int, params: SamplingParams) {
        completions[id] = Completion(
            parentID: parentID, index: index, params: params,
            detokenizer: IncrementalDetokenizer(tokenizer: tokenizer, skipSpecialTokens: params.skipSpecialTokens,
                                                atSequenceStart: false),
            output: CompletionOutput(index: index, logprobs: params.logprobs.map { _ in [] }, logprobRanks: params.logprobs.map { _ in [] },
                                     cumulativeLogprob: 0))
    }

    var hasRequests: Bool { !parents.isEmpty }

    /// Applies `updates`; returns the outputs of parents that changed (finished ones are then
    /// forgotten) and the engine requests to abort because a stop string matched.
    func process(_ updates: [EngineCoreOutput]) -> (outputs: [RequestOutput], abort: [String]) {
        var changed: [String] = [], abort: [String] = []
        // Several tokens of one step (accepted proposals) are taken one at a time, so a stop
        // string ends the output where it would without speculation.
        for update in updates {
            for u in Self.perToken(update) {
                guard var c = completions[u.requestID], c.output.finishReason == nil else { continue }
                // Every candidate computes them; the first to report gives the parent's.
                if let pl = u.promptLogprobs, parents[c.parentID]?.promptLogprobs == nil {
                    parents[c.parentID]?.promptLogprobs = [nil] + pl.map { Optional($0) }
                    parents[c.parentID]?.promptLogprobRanks = u.promptLogprobRanks.map { [nil] + $0.map { Optional($0) } }
                }
                if let cached = u.numCachedTokens, parents[c.parentID]?.numCachedTokens == nil {
                    parents[c.parentID]?.numCachedTokens = cached
                }
                c.output.tokenIDs += u.newTokenIDs
                if !u.newTokenIDs.isEmpty, var p = parents[c.parentID] {
                    let now = ContinuousClock.now
                    if p.metrics.firstTokenTime == nil { p.metrics.firstTokenTime = now }
                    p.metrics.lastTokenTime = now
                    parents[c.parentID] = p
                }
                if let lp = u.newLogprobs { c.output.logprobs?.append(contentsOf: lp) }
                if let ranks = u.newLogprobRanks { c.output.logprobRanks?.append(contentsOf: ranks) }
                c.output.cumulativeLogprob? += u.newTokenLogprobs.reduce(0, +)
                // detokenize=false: no text at all (vLLM refuses stop strings for such requests).
                var text = ""
                if c.params.detokenize { for id in u.newTokenIDs { text += c.detokenizer.feed(id) } }
                if let reason = u.finishReason {
                    if c.params.detokenize { text += c.detokenizer.finish() }
                    c.output.finishReason = reason
                    if reason == "stop", let last = u.newTokenIDs.last, c.params.stopTokenIDs.contains(last) {
                        c.output.stopReason = String(last)
                    }
                }
                // A stop string can end in the new text while starting in the old: search from the
                // longest stop's length before the old end (counting only when there are stops).
                let searchFrom = c.params.stop.isEmpty ? 0 : max(0, c.output.text.count - c.params.stop.map(\.count).max()!)
                c.output.text += text
                // As vLLM's detokenizer: stop strings count only after min_tokens.
                if c.output.tokenIDs.count > c.params.minTokens,
                   let (range, stop) = Self.firstStop(in: c.output.text, from: searchFrom, stops: c.params.stop) {
                    c.output.text = String(c.output.text[..<(c.params.includeStopStrInOutput ? range.upperBound : range.lowerBound)])
                    if c.output.finishReason == nil && update.finishReason == nil { abort.append(u.requestID) }
                    c.output.finishReason = "stop"
                    c.output.stopReason = stop
                }
                completions[u.requestID] = c
                if !changed.contains(c.parentID) { changed.append(c.parentID) }
            }
        }
        var outputs: [RequestOutput] = []
        for id in changed {
            let p = parents[id]!
            let done = p.childIDs.allSatisfy { completions[$0]?.output.finishReason != nil }
            // A best-of parent speaks once, when all its candidates are done.
            if done || !p.returnsBest { outputs.append(output(of: id)) }
            if done { forget(parent: id) }
        }
        return (outputs, abort)
    }

    /// `u` split into one update per new token (the prompt logprobs with the first, the finish
    /// reason with the last).
    static func perToken(_ u: EngineCoreOutput) -> [EngineCoreOutput] {
        guard u.newTokenIDs.count > 1 else { return [u] }
        let last = u.newTokenIDs.count - 1
        return u.newTokenIDs.indices.map { i in
            EngineCoreOutput(requestID: u.requestID, newTokenIDs: [u.newTokenIDs[i]], newLogprobs: u.newLogprobs.map { [$0[i]] },
                             newLogprobRanks: u.newLogprobRanks.map { [$0[i]] },
                             newTokenLogprobs: [u.newTokenLogprobs[i]], promptLogprobs: i == 0 ? u.promptLogprobs : nil,
                             promptLogprobRanks: i == 0 ? u.promptLogprobRanks : nil, finishReason: i == last ? u.finishReason : nil,
                             numCachedTokens: i == 0 ? u.numCachedTokens : nil)
        }
    }

    /// Drops a parent and its completions (finished, or aborted by the caller).
    func forget(parent id: String) {
        guard let p = parents.removeValue(forKey: id) else { return }
        for child in p.childIDs { completions[child] = nil }
    }

    func childIDs(of parent: String) -> [String] { parents[parent]?.childIDs ?? [] }

    func hasParent(_ id: String) -> Bool { parents[id] != nil }

    private func output(of parentID: String) -> RequestOutput {
        let p = parents[parentID]!
        var outputs = p.childIDs.compactMap { completions[$0]?.output }
        if p.returnsBest {
            // Stable: equal scores keep candidate order.
            outputs = Array(outputs.enumerated().sorted {
                ($0.element.cumulativeLogprob ?? 0, -$0.offset) > ($1.element.cumulativeLogprob ?? 0, -$1.offset)
            }.map(\.element).prefix(p.n))
        }
        return RequestOutput(requestID: parentID, promptTokenIDs: p.promptTokenIDs, promptLogprobs: p.promptLogprobs,
                             promptLogprobRanks: p.promptLogprobRanks,
                             outputs: outputs, metrics: p.metrics, numCachedTokens: p.numCachedTokens)
    }

    /// The earliest match of any stop string that ends at or after `from` characters.
    private static func firstStop(in text: String, from: Int, stops: [String]) -> (Range<String.Index>, String)? {
        guard !stops.isEmpty else { return nil }
        let start = text.index(text.startIndex, offsetBy: from)
        var best: (Range<String.Index>, String)?
        for s in stops where !s.isEmpty {
            if let r = text[start...].range(of: s), best == nil || r.lowerBound < best!.0.lowerBound { best = (r, s) }
        }
        return best
    }
}

import Foundation
import VLLMTokenizers

/// Turns engine-core token updates into `RequestOutput`s: incremental detokenization, stop
/// strings (the scheduler never sees text: a match here aborts the engine request), and
/// gathering the `n` completions of a parent request into one output.
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
        var childIDs: [String]
    }

    private let tokenizer: Tokenizer
    private var completions: [String: Completion] = [:]
    private var parents: [String: Parent] = [:]

    init(tokenizer: Tokenizer) { self.tokenizer = tokenizer }

    func addParent(id: String, promptTokenIDs: [Int], childIDs: [String]) {
        parents[id] = Parent(promptTokenIDs: promptTokenIDs, childIDs: childIDs)
    }

    func addChild(id: String, parentID: String, index: Int, params: SamplingParams) {
        completions[id] = Completion(
            parentID: parentID, index: index, params: params,
            detokenizer: IncrementalDetokenizer(tokenizer: tokenizer, atSequenceStart: false),
            output: CompletionOutput(index: index, logprobs: params.logprobs.map { _ in [] }))
    }

    var hasRequests: Bool { !parents.isEmpty }

    /// Applies `updates`; returns the outputs of parents that changed (finished ones are then
    /// forgotten) and the engine requests to abort because a stop string matched.
    func process(_ updates: [EngineCoreOutput]) -> (outputs: [RequestOutput], abort: [String]) {
        var changed: [String] = [], abort: [String] = []
        for u in updates {
            guard var c = completions[u.requestID], c.output.finishReason == nil else { continue }
            c.output.tokenIDs += u.newTokenIDs
            if let lp = u.newLogprobs { c.output.logprobs?.append(contentsOf: lp) }
            var text = ""
            for id in u.newTokenIDs { text += c.detokenizer.feed(id) }
            if let reason = u.finishReason {
                text += c.detokenizer.finish()
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
                if c.output.finishReason == nil { abort.append(u.requestID) }
                c.output.finishReason = "stop"
                c.output.stopReason = stop
            }
            completions[u.requestID] = c
            if !changed.contains(c.parentID) { changed.append(c.parentID) }
        }
        let outputs = changed.map(output(of:))
        for out in outputs where out.finished { forget(parent: out.requestID) }
        return (outputs, abort)
    }

    /// Drops a parent and its completions (finished, or aborted by the caller).
    func forget(parent id: String) {
        guard let p = parents.removeValue(forKey: id) else { return }
        for child in p.childIDs { completions[child] = nil }
    }

    func childIDs(of parent: String) -> [String] { parents[parent]?.childIDs ?? [] }

    private func output(of parentID: String) -> RequestOutput {
        let p = parents[parentID]!
        return RequestOutput(requestID: parentID, promptTokenIDs: p.promptTokenIDs,
                             outputs: p.childIDs.compactMap { completions[$0]?.output })
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

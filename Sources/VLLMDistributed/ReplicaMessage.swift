import Foundation
import VLLMEngine
import VLLMStructuredOutput

/// What the API server's process (world rank 0) asks of a data-parallel replica running in
/// other processes. Each message on the link is a JSON array of these, in order.
enum ReplicaCommand: Codable, Equatable, Sendable {
    /// `serial` tells this request's outputs from those of an earlier request with its id.
    case add(requestID: String, serial: Int, prompt: PromptInput, params: SamplingParams,
             structuredOutputs: StructuredOutputsParams?, priority: Int, lora: LoRARequest?)
    case abort(requestID: String)
    case loadLoRA(call: Int, LoRARequest)
    case unloadLoRA(call: Int, name: String)
    case sleep(call: Int, level: Int)
    case wakeUp([AsyncLLM.SleepTag]?)
    /// The replica stops its engine, answers, and its processes end.
    case shutdown(call: Int)
}

/// What a replica tells the API server's process, as JSON arrays of these.
enum ReplicaEvent: Codable, Equatable, Sendable {
    case output(serial: Int, OutputDelta)
    /// The request's stream ended with this error (the replica's engine refused it or stopped).
    case failed(requestID: String, serial: Int, AsyncLLMError)
    /// A step that produced tokens, with the counters after it.
    case step(iterationTokens: Int, SchedulerStats)
    /// Counters and adapters after a change outside a step (start, adapter loaded or unloaded).
    case state(SchedulerStats, [LoRAAdapterInfo])
    case reply(call: Int, ReplicaReply)
}

enum ReplicaReply: Codable, Equatable, Sendable {
    case done
    case loaded(LoRAAdapterInfo)
    case loraError(LoRALoadError)
    case engineError(AsyncLLMError)
}

extension Array where Element: Codable {
    /// One link message.
    var encodedMessage: [UInt8] { WireJSON.encode(self) }

    /// A link message.
    init(message bytes: [UInt8]) { self = WireJSON.decode(Self.self, from: bytes) }
}

/// An array as the last one sent and what replaces it: the first `keep` elements stay and
/// `add` follows. Outputs grow by a few tokens per step, so a replica sends those, not the
/// whole output again (beam search may rewrite a beam, which the same form carries).
struct Splice<Element: Codable & Equatable & Sendable>: Codable, Equatable, Sendable {
    var keep: Int
    var add: [Element]

    init(from old: [Element], to new: [Element]) {
        var k = 0
        let n = Swift.min(old.count, new.count)
        while k < n && old[k] == new[k] { k += 1 }
        keep = k
        add = Array(new[k...])
    }

    func applied(to old: [Element]) -> [Element] { Array(old.prefix(keep)) + add }
}

/// One position's logprobs (`StepLogprobs`) in a codable form.
struct WireLogprobs: Codable, Equatable, Sendable {
    var tokenIDs: [Int]
    var logprobs: [Double]

    init(_ step: StepLogprobs) {
        tokenIDs = step.map(\.tokenID)
        logprobs = step.map(\.logprob)
    }

    var step: StepLogprobs { Array(zip(tokenIDs, logprobs).map { (tokenID: $0, logprob: $1) }) }
}

/// What changed in one completion since the replica last sent its request's output.
struct CompletionDelta: Codable, Equatable, Sendable {
    var index: Int
    /// Text as unicode scalars kept, and the text after them.
    var textKeep: Int
    var textAdd: String
    var tokenIDs: Splice<Int>
    var logprobs: Splice<WireLogprobs>?
    var logprobRanks: Splice<Int>?
    var cumulativeLogprob: Double?
    var finishReason: String?
    var stopReason: String?

    init(from old: CompletionOutput?, to new: CompletionOutput) {
        index = new.index
        let oldText = Array(old?.text.unicodeScalars ?? "".unicodeScalars)
        let text = Splice(from: oldText.map(\.value), to: new.text.unicodeScalars.map(\.value))
        textKeep = text.keep
        textAdd = String(String.UnicodeScalarView(text.add.compactMap(Unicode.Scalar.init)))
        tokenIDs = Splice(from: old?.tokenIDs ?? [], to: new.tokenIDs)
        logprobs = new.logprobs.map { Splice(from: (old?.logprobs ?? []).map(WireLogprobs.init), to: $0.map(WireLogprobs.init)) }
        logprobRanks = new.logprobRanks.map { Splice(from: old?.logprobRanks ?? [], to: $0) }
        cumulativeLogprob = new.cumulativeLogprob
        finishReason = new.finishReason
        stopReason = new.stopReason
    }

    func applied(to old: CompletionOutput?) -> CompletionOutput {
        var text = String.UnicodeScalarView((old?.text.unicodeScalars).map { Array($0.prefix(textKeep)) } ?? [])
        text.append(contentsOf: textAdd.unicodeScalars)
        return CompletionOutput(
            index: index, text: String(text), tokenIDs: tokenIDs.applied(to: old?.tokenIDs ?? []),
            logprobs: logprobs.map { $0.applied(to: (old?.logprobs ?? []).map(WireLogprobs.init)).map(\.step) },
            logprobRanks: logprobRanks.map { $0.applied(to: old?.logprobRanks ?? []) },
            finishReason: finishReason, stopReason: stopReason, cumulativeLogprob: cumulativeLogprob)
    }
}

/// A request's cumulative output as the change since the last one sent. Milestone times travel
/// as seconds after the request's arrival at the replica (the two processes' clocks differ);
/// the receiver counts them from the request's arrival at the API server.
struct OutputDelta: Codable, Equatable, Sendable {
    var requestID: String
    /// With the first output only (they do not change).
    var promptTokenIDs: [Int]?
    /// When they differ from those last sent (nil: unchanged).
    var promptLogprobs: [WireLogprobs?]?
    var promptLogprobRanks: [Int?]?
    var numCachedTokens: Int?
    /// First scheduled, first token, last token; nil without metrics (beam search).
    var milestones: [Double?]?
    var outputs: [CompletionDelta]

    init(from old: RequestOutput?, to new: RequestOutput) {
        requestID = new.requestID
        promptTokenIDs = old == nil ? new.promptTokenIDs : nil
        let logprobs = new.promptLogprobs.map { $0.map { $0.map(WireLogprobs.init) } }
        if logprobs != old?.promptLogprobs.map({ $0.map { $0.map(WireLogprobs.init) } }) {
            promptLogprobs = logprobs
            promptLogprobRanks = new.promptLogprobRanks
        }
        numCachedTokens = new.numCachedTokens
        milestones = new.metrics.map { m in
            [m.firstScheduledTime, m.firstTokenTime, m.lastTokenTime].map { $0.map { Self.seconds($0 - m.arrivalTime) } }
        }
        outputs = new.outputs.enumerated().map { i, out in
            CompletionDelta(from: old.flatMap { i < $0.outputs.count ? $0.outputs[i] : nil }, to: out)
        }
    }

    /// The cumulative output: `old` (the last one rebuilt, nil for the first) changed by this,
    /// with milestone times counted from `arrival`.
    func applied(to old: RequestOutput?, arrival: ContinuousClock.Instant) -> RequestOutput {
        var out = RequestOutput(
            requestID: requestID, promptTokenIDs: promptTokenIDs ?? old?.promptTokenIDs ?? [],
            promptLogprobs: promptLogprobs.map { $0.map { $0?.step } } ?? old?.promptLogprobs,
            promptLogprobRanks: promptLogprobs != nil ? promptLogprobRanks : old?.promptLogprobRanks,
            outputs: outputs.enumerated().map { i, d in d.applied(to: old.flatMap { i < $0.outputs.count ? $0.outputs[i] : nil }) },
            numCachedTokens: numCachedTokens)
        out.metrics = milestones.map { times in
            var m = RequestMetrics(arrivalTime: arrival)
            let at = times.map { $0.map { arrival + .seconds($0) } }
            (m.firstScheduledTime, m.firstTokenTime, m.lastTokenTime) = (at[0], at[1], at[2])
            return m
        }
        return out
    }

    private static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}

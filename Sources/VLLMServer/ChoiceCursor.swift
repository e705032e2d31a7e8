import VLLM

/// How much of one streamed choice the client has been sent. The engine's outputs are
/// cumulative; each step's chunk carries only what is new.
///
/// With stop strings, the last `longest stop - 1` characters are held back until the choice
/// finishes (as vLLM's output processor does): they may turn out to be the start of a stop
/// string, which the final text drops.
struct ChoiceCursor {
    private var sentScalars = 0
    private var sentTokens = 0
    private(set) var finished = false
    private let holdBack: Int

    init(params: SamplingParams) {
        let longest = params.stop.map { $0.unicodeScalars.count }.max() ?? 0
        holdBack = params.includeStopStrInOutput ? 0 : max(0, longest - 1)
    }

    /// What is new in `output` since the last call: text, and the range of new token steps.
    /// Returns nil when there is nothing to send (no new text, tokens or finish).
    mutating func advance(_ output: CompletionOutput) -> (text: String, steps: Range<Int>, finishReason: String?)? {
        guard !finished else { return nil }
        let scalars = output.text.unicodeScalars
        let isDone = output.finishReason != nil
        let visible = isDone ? scalars.count : max(sentScalars, scalars.count - holdBack)
        var text = ""
        if visible > sentScalars {
            text.unicodeScalars.append(contentsOf: scalars.dropFirst(sentScalars).prefix(visible - sentScalars))
            sentScalars = visible
        }
        let steps = sentTokens..<max(sentTokens, output.tokenIDs.count)
        sentTokens = steps.upperBound
        finished = isDone
        if text.isEmpty && steps.isEmpty && !isDone { return nil }
        return (text, steps, output.finishReason)
    }
}

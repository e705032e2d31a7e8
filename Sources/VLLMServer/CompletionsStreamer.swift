import VLLM

extension CompletionsCall {
    /// Streamed `text_completion` chunks, one call per engine output.
    final class Streamer {
        let call: CompletionsCall
        private var cursors: [Int: ChoiceCursor] = [:]
        private var completionTokens: [Int: Int] = [:]
        /// The last prompt's cached tokens once known (vLLM reports the last prompt's).
        private var cachedTokens: [Int: Int] = [:]
        /// Per choice: where the next token's `text_offset` starts.
        private var textOffsets: [Int: Int] = [:]
        /// Choices whose prompt has been sent (`echo`).
        private var echoed: Set<Int> = []
        /// Choices whose prompt token ids have been sent (`return_token_ids`).
        private var promptSent: Set<Int> = []

        init(_ call: CompletionsCall) { self.call = call }

        func chunks(for event: JobOutput) -> [JSONOut] {
            let job = event.job
            if let n = event.output.numCachedTokens { cachedTokens[job] = n }
            var out: [JSONOut] = []
            for o in event.output.outputs {
                let index = job * call.n + o.index
                var cursor = cursors[index] ?? ChoiceCursor(params: call.jobs[job].params)
                defer { cursors[index] = cursor }
                guard let delta = cursor.advance(o) else { continue }
                completionTokens[index] = o.tokenIDs.count
                // The first chunk of a choice carries the prompt (and its logprobs) under echo.
                let echo = call.request.echo && echoed.insert(index).inserted
                let text = (echo ? call.promptTexts[job] : "") + (call.echoOnly ? "" : delta.text)
                var lp = JSONOut.null
                if let k = call.request.logprobs {
                    var tokens = echo ? LogprobsFormatter.prompt(event.output) : []
                    if !call.echoOnly {
                        tokens += LogprobsFormatter.sampled((o.logprobs ?? [])[delta.steps.clamped(to: 0..<(o.logprobs?.count ?? 0))])
                    }
                    let r = call.logprobs.completion(tokens, top: k, offset: textOffsets[index] ?? 0)
                    lp = r.json
                    textOffsets[index] = r.end
                }
                var choice: [(String, JSONOut)] = [
                    ("index", .int(index)), ("text", .string(text)), ("logprobs", lp),
                    ("finish_reason", .string(delta.finishReason)),
                    ("stop_reason", .string(delta.finishReason == nil ? nil : o.stopReason)),
                ]
                if call.request.tokenIDs.returnTokenIDs {
                    // The prompt's ids with a choice's first chunk, then each chunk's new ids.
                    let first = promptSent.insert(index).inserted
                    choice += [("prompt_token_ids", first ? call.request.tokenIDs.ids(call.jobs[job].promptTokenIDs) : .null),
                               ("token_ids", call.request.tokenIDs.ids(o.tokenIDs[delta.steps]))]
                }
                var chunk = call.header("text_completion") + [("choices", .array([.object(choice)]))]
                if call.request.streamOptions?.usageOnEveryChunk == true { chunk.append(("usage", usage.continuousJSON)) }
                out.append(.object(chunk))
            }
            return out
        }

        private var usage: Usage {
            Usage(promptTokens: call.jobs.reduce(0) { $0 + $1.promptTokenIDs.count },
                  completionTokens: completionTokens.values.reduce(0, +),
                  cachedTokens: cachedTokens[call.jobs.count - 1], options: call.context.options)
        }

        /// The usage chunk, when asked for with `stream_options.include_usage`.
        func finalChunks() -> [JSONOut] {
            guard call.request.streamOptions?.includeUsage == true else { return [] }
            return [.object(call.header("text_completion") + [("choices", .array([])), ("usage", usage.json)])]
        }
    }
}

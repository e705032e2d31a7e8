import ArgumentParser
import Foundation
import VLLM

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate completions through the engine (special-token strings in prompts are parsed).")

    @OptionGroup var engine: EngineOptions

    @Option(help: "The prompt text.")
    var prompt: String?

    @Option(help: "JSON Lines file: each line {\"prompt\": ...} or {\"prompt_token_ids\": [...]}, optionally with max_tokens, temperature, seed, ignore_eos. Prints one RequestOutput JSON per line, in input order.")
    var promptsFile: String?

    @Option(help: "Tokens to generate at most.")
    var maxTokens = 16

    @Option(help: "Sampling temperature; 0 is greedy.")
    var temperature: Float = 1.0

    @Option(help: "Random seed for sampling.")
    var seed: UInt64?

    @Option(help: "Completions per prompt.")
    var n = 1

    @Option(help: "Stop string (repeatable); the completion ends before it.")
    var stop: [String] = []

    @Flag(help: "Keep generating after EOS.")
    var ignoreEos = false

    @Option(help: "Report the chosen token's logprob and the top K alternatives at each step.")
    var logprobs: Int?

    @Flag(help: "Print one JSON object shaped like vLLM's RequestOutput instead of streaming text.")
    var json = false

    @Flag(help: "End with a line {\"stats\": {...}} of engine counters.")
    var stats = false

    func validate() throws {
        guard (prompt == nil) != (promptsFile == nil) else { throw ValidationError("give exactly one of --prompt and --prompts-file") }
        do { try samplingParams.validate() } catch { throw ValidationError(error.description) }
    }

    var samplingParams: SamplingParams {
        SamplingParams(temperature: temperature, maxTokens: maxTokens, seed: seed, ignoreEOS: ignoreEos,
                       logprobs: logprobs, n: n, stop: stop)
    }

    func run() throws {
        if let file = promptsFile {
            let (prompts, params) = try PromptsFile.read(file, defaults: samplingParams)
            let llm = try engine.loadLLM()
            for out in try llm.generate(prompts, params) { print(OutputJSON.requestOutput(out).encoded) }
            if stats { print(OutputJSON.stats(llm.engine).encoded) }
            return
        }
        let llm = try engine.loadLLM()
        try llm.engine.addRequest(id: "0", prompt: .text(prompt!), params: samplingParams)
        var printed = 0
        var last: RequestOutput?
        while llm.engine.hasUnfinishedRequests {
            for out in llm.engine.step() {
                last = out
                // Stream the first completion's new text as it grows.
                if !json, n == 1, let text = out.outputs.first?.text, text.count > printed {
                    print(text.dropFirst(printed), terminator: "")
                    fflushStdout()
                    printed = text.count
                }
            }
        }
        if json { print(OutputJSON.requestOutput(last!).encoded) } else if n > 1 {
            for o in last!.outputs { print("[\(o.index)] \(o.text)") }
        } else { print() }
        if stats { print(OutputJSON.stats(llm.engine).encoded) }
    }
}

/// `--prompts-file` lines.
enum PromptsFile {
    struct Line: Decodable {
        var prompt: String?
        var prompt_token_ids: [Int]?
        var max_tokens: Int?
        var temperature: Float?
        var seed: UInt64?
        var ignore_eos: Bool?
    }

    static func read(_ path: String, defaults: SamplingParams) throws -> ([PromptInput], [SamplingParams]) {
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read --prompts-file \(path)") }
        var prompts: [PromptInput] = [], params: [SamplingParams] = []
        for (n, raw) in String(decoding: data, as: UTF8.self).split(separator: "\n").enumerated()
        where !raw.allSatisfy(\.isWhitespace) {
            let line: Line
            do { line = try JSONDecoder().decode(Line.self, from: Data(raw.utf8)) } catch {
                throw ValidationError("\(path) line \(n + 1) is not a valid JSON object of the expected shape")
            }
            switch (line.prompt, line.prompt_token_ids) {
            case let (p?, nil): prompts.append(.text(p))
            case let (nil, ids?): prompts.append(.tokenIDs(ids))
            default: throw ValidationError("\(path) line \(n + 1) needs exactly one of prompt and prompt_token_ids")
            }
            var p = defaults
            if let v = line.max_tokens { p.maxTokens = v }
            if let v = line.temperature { p.temperature = v }
            if let v = line.seed { p.seed = v }
            if let v = line.ignore_eos { p.ignoreEOS = v }
            do { try p.validate() } catch { throw ValidationError("\(path) line \(n + 1): \(error.description)") }
            params.append(p)
        }
        guard !prompts.isEmpty else { throw ValidationError("\(path) has no prompts") }
        return (prompts, params)
    }
}

/// vLLM-shaped JSON for outputs and engine counters.
enum OutputJSON {
    static func requestOutput(_ r: RequestOutput) -> JSON {
        .object([
            ("prompt_token_ids", .array(r.promptTokenIDs.map { .int($0) })),
            ("outputs", .array(r.outputs.map { o in
                .object([
                    ("index", .int(o.index)),
                    ("text", .string(o.text)),
                    ("token_ids", .array(o.tokenIDs.map { .int($0) })),
                    ("logprobs", o.logprobs.map { steps in .array(steps.map(step)) } ?? .null),
                    ("finish_reason", o.finishReason.map { .string($0) } ?? .null),
                    ("stop_reason", o.stopReason.map { .string($0) } ?? .null),
                ])
            })),
        ])
    }

    /// {"<token id>": logprob, ...}: the chosen token first, then the top K (deduplicated).
    static func step(_ step: StepLogprobs) -> JSON {
        var seen = Set<Int>()
        return .object(step.compactMap { e in
            seen.insert(e.tokenID).inserted ? (String(e.tokenID), .double(e.logprob)) : nil
        })
    }

    static func stats(_ engine: LLMEngine) -> JSON {
        let s = engine.stats
        return .object([("stats", .object([
            ("num_preemptions", .int(s.numPreemptions)),
            ("prefix_cache_queries", .int(s.prefixCacheQueries)),
            ("prefix_cache_hits", .int(s.prefixCacheHits)),
            ("kv_waste", .double(s.kvWaste)),
            ("peak_kv_blocks_used", .int(s.peakKVBlocksUsed)),
            ("num_kv_blocks", .int(engine.numKVBlocks)),
        ]))])
    }
}

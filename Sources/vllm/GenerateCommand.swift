import ArgumentParser
import Foundation
import VLLM
import VLLMCommandLine

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate completions through the engine (special-token strings in prompts are parsed).")

    @OptionGroup(title: "Engine: model, KV cache, scheduler, LoRA") var engine: EngineOptions

    @Option(help: "The prompt text.")
    var prompt: String?

    @Option(help: "JSON Lines file: each line {\"prompt\": ...} or {\"prompt_token_ids\": [...]}, with any vLLM sampling parameter (snake_case) overriding the command line's. Prints one RequestOutput JSON per line, in input order.")
    var promptsFile: String?

    @Option(name: .customLong("sampling-params"), help: "A JSON object of vLLM sampling parameters (snake_case keys: n, best_of, temperature, top_p, top_k, min_p, penalties, seed, stop, stop_token_ids, logprobs, prompt_logprobs, logit_bias, use_beam_search, length_penalty, early_stopping, skip_special_tokens, detokenize, …). The flags below override it.")
    var samplingParamsJSON: String?

    @Option(help: "Tokens to generate at most (default 16).")
    var maxTokens: Int?

    @Option(help: "Sampling temperature; 0 is greedy (default 1).")
    var temperature: Float?

    @Option(help: "Random seed for sampling.")
    var seed: UInt64?

    @Option(help: "Completions per prompt (default 1).")
    var n: Int?

    @Option(help: "Candidates per prompt, of which the n most likely are returned (beam width with temperature 0).")
    var bestOf: Int?

    @Option(help: "Stop string (repeatable); the completion ends before it.")
    var stop: [String] = []

    @Flag(help: "Keep generating after EOS.")
    var ignoreEos = false

    @Option(help: "Report the chosen token's logprob and the top K alternatives at each step.")
    var logprobs: Int?

    @Option(help: "Report each prompt token's logprob and the top K alternatives.")
    var promptLogprobs: Int?

    @Option(help: "Run with this LoRA adapter (a --lora-modules name); with --prompts-file, the default for lines without \"lora\".")
    var lora: String?

    @Option(help: "Run with the LoRA adapter in this directory (loaded under its path as name).")
    var loraPath: String?

    @Flag(help: "Print one JSON object shaped like vLLM's RequestOutput instead of streaming text.")
    var json = false

    @Flag(help: "End with a line {\"stats\": {...}} of engine counters.")
    var stats = false

    func validate() throws {
        guard (prompt == nil) != (promptsFile == nil) else { throw ValidationError("give exactly one of --prompt and --prompts-file") }
        if lora != nil && loraPath != nil { throw ValidationError("give at most one of --lora and --lora-path") }
        if (lora != nil || loraPath != nil) && !engine.enableLora { throw ValidationError("--lora and --lora-path need --enable-lora") }
        do { try samplingParams().validate() } catch let e as SamplingParamsError { throw ValidationError(e.description) }
    }

    /// `--sampling-params` over `base` (vLLM's defaults, or the model's generation config), then
    /// the flags that were given.
    func samplingParams(base: SamplingParams = SamplingParams()) throws -> SamplingParams {
        var p = base
        if let json = samplingParamsJSON {
            p = try SamplingParamsJSON.parameters(SamplingParamsJSON.object(json, context: "--sampling-params"), text: json,
                                                  over: p, context: "--sampling-params")
        }
        if let v = maxTokens { p.maxTokens = v }
        if let v = temperature { p.temperature = v }
        if let v = seed { p.seed = v }
        if let v = n { p.n = v }
        if let v = bestOf { p.bestOf = v }
        if ignoreEos { p.ignoreEOS = true }
        if let v = logprobs { p.logprobs = v }
        if let v = promptLogprobs { p.promptLogprobs = v }
        if !stop.isEmpty { p.stop = stop }
        return p
    }

    func run() throws {
        let llm = try engine.loadLLM()
        let samplingParams = try samplingParams(base: llm.engine.defaultSamplingParams)
        let defaultLoRA = try lora.map(engine.loraRequest(named:))
            ?? loraPath.map { LoRARequest(loraName: $0, loraIntId: 1_000_000, loraPath: $0) }
        if let file = promptsFile {
            let (prompts, params, loraNames) = try PromptsFile.read(file, defaults: samplingParams)
            let loras = try loraNames.map { try $0.map(engine.loraRequest(named:)) ?? defaultLoRA }
            if loras.contains(where: { $0 != nil }) && !engine.enableLora { throw ValidationError("\"lora\" in --prompts-file needs --enable-lora") }
            for out in try llm.generate(prompts, params, loraRequest: loras) { print(OutputJSON.requestOutput(out).encoded) }
            if stats { print(OutputJSON.stats(llm.engine).encoded) }
            return
        }
        try llm.engine.addRequest(id: "0", prompt: .text(prompt!), params: samplingParams, lora: defaultLoRA)
        var printed = 0
        var last: RequestOutput?
        while llm.engine.hasUnfinishedRequests {
            for out in llm.engine.step() {
                last = out
                // Stream the first completion's new text as it grows.
                if !json, samplingParams.n == 1, let text = out.outputs.first?.text, text.count > printed {
                    print(text.dropFirst(printed), terminator: "")
                    fflushStdout()
                    printed = text.count
                }
            }
        }
        if json { print(OutputJSON.requestOutput(last!).encoded) } else if samplingParams.n > 1 {
            for o in last!.outputs { print("[\(o.index)] \(o.text)") }
        } else { print() }
        if stats { print(OutputJSON.stats(llm.engine).encoded) }
    }
}

/// `--prompts-file` lines.
enum PromptsFile {
    /// Prompts, their sampling parameters, and the LoRA adapter each line names (`"lora"`).
    static func read(_ path: String, defaults: SamplingParams) throws -> ([PromptInput], [SamplingParams], [String?]) {
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read --prompts-file \(path)") }
        var prompts: [PromptInput] = [], params: [SamplingParams] = [], loras: [String?] = []
        for (n, raw) in String(decoding: data, as: UTF8.self).split(separator: "\n").enumerated()
        where !raw.allSatisfy(\.isWhitespace) {
            let context = "\(path) line \(n + 1)"
            var line = try SamplingParamsJSON.object(String(raw), context: context)
            let text = line.removeValue(forKey: "prompt"), ids = line.removeValue(forKey: "prompt_token_ids")
            let lora = line.removeValue(forKey: "lora")
            guard lora == nil || lora is String else { throw ValidationError("\(context): lora must be an adapter name (a string)") }
            loras.append(lora as? String)
            switch (text as? String, ids as? [Int]) {
            case let (p?, nil) where ids == nil: prompts.append(.text(p))
            case let (nil, ids?) where text == nil: prompts.append(.tokenIDs(ids))
            default: throw ValidationError("\(context) needs exactly one of prompt (a string) and prompt_token_ids (a list of ints)")
            }
            let p = try SamplingParamsJSON.parameters(line, text: String(raw), over: defaults, context: context)
            do { try p.validate() } catch { throw ValidationError("\(context): \(error.description)") }
            params.append(p)
        }
        guard !prompts.isEmpty else { throw ValidationError("\(path) has no prompts") }
        return (prompts, params, loras)
    }
}

/// vLLM-shaped JSON for outputs and engine counters.
enum OutputJSON {
    static func requestOutput(_ r: RequestOutput) -> JSON {
        .object([
            ("prompt_token_ids", .array(r.promptTokenIDs.map { .int($0) })),
            ("prompt_logprobs", r.promptLogprobs.map { .array($0.map { $0.map(step) ?? .null }) } ?? .null),
            ("outputs", .array(r.outputs.map { o in
                .object([
                    ("index", .int(o.index)),
                    ("text", .string(o.text)),
                    ("token_ids", .array(o.tokenIDs.map { .int($0) })),
                    ("cumulative_logprob", o.cumulativeLogprob.map { .double($0) } ?? .null),
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
        var fields: [(String, JSON)] = [
            ("num_preemptions", .int(s.numPreemptions)),
            ("prefix_cache_queries", .int(s.prefixCacheQueries)),
            ("prefix_cache_hits", .int(s.prefixCacheHits)),
            ("kv_waste", .double(s.kvWaste)),
            ("peak_kv_blocks_used", .int(s.peakKVBlocksUsed)),
            // What those requests' tables would have held had sliding windows dropped nothing.
            ("peak_kv_blocks_without_windows", .int(s.peakKVTableEntries)),
            ("num_kv_blocks", .int(engine.numKVBlocks)),
        ]
        if let o = s.offload {
            fields.append(("kv_offload", .object([
                ("blocks_stored", .int(o.blocksStored)), ("blocks_loaded", .int(o.blocksLoaded)),
                ("queries", .int(o.queries)), ("hits", .int(o.hits)),
                ("bytes_moved", .int((o.blocksStored + o.blocksLoaded) * engine.kvBlockBytes)),
                ("slots_used", .int(o.slotsUsed)), ("slots", .int(o.slots)),
            ])))
        }
        if engine.args.speculativeConfig != nil {
            let d = s.specDecoding
            fields.append(("spec_decode", .object([
                ("num_drafts", .int(d.numDrafts)), ("num_draft_tokens", .int(d.numDraftTokens)),
                ("num_accepted_tokens", .int(d.numAcceptedTokens)), ("acceptance_rate", .double(d.acceptanceRate)),
                ("mean_acceptance_length", .double(d.meanAcceptanceLength)),
                ("accepted_per_position", .array(d.acceptedPerPosition.map { .int($0) })),
            ])))
        }
        return .object([("stats", .object(fields))])
    }
}

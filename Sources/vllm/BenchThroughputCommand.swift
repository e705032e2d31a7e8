import ArgumentParser
import Foundation
import VLLM
import VLLMCommandLine
import VLLMServer

/// Offline throughput: every prompt submitted at once, continuous batching does the rest.
/// With `--max-num-seqs 1` it is the one-at-a-time baseline.
struct BenchThroughputCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "throughput")

    @OptionGroup(title: "Engine: model, KV cache, scheduler, LoRA") var engine: EngineOptions

    @Option(help: "Prompts (random token ids) when no --dataset is given.")
    var numPrompts = 256

    @Option(help: "Prompt tokens of each random prompt.")
    var inputLen = 128

    @Option(help: "Tokens generated per request (EOS ignored, as vLLM's benchmark does).")
    var outputLen = 128

    @Option(help: "JSON Lines: {\"prompt\": ...} or {\"prompt_token_ids\": [...]}, optional max_tokens.")
    var dataset: String?

    @Option(help: "Seed of the random prompts.")
    var seed: UInt64 = 0

    @Option(help: "Spread the requests round-robin over the first N --lora-modules adapters (0: base model only).")
    var loraMix = 0

    @Option(help: "A structured_outputs object every request is constrained by (e.g. '{\"json\": {...}}' or '{\"regex\": \"...\"}'); constrained requests stop at EOS once the constraint is complete.")
    var structuredOutputs: String?

    @Flag(help: "End with one JSON line of the results.")
    var json = false

    func run() throws {
        let llm = try engine.loadLLM()
        let (prompts, params) = try makeWorkload(vocabSize: llm.loaded.model.config.vocabSize)
        let modules = try engine.engineArgs.loraModules
        guard loraMix >= 0, loraMix <= modules.count else {
            throw ValidationError("--lora-mix \(loraMix) needs that many --lora-modules (have \(modules.count))")
        }
        let adapters = try modules.prefix(loraMix).map { try engine.loraRequest(named: $0.name) }
        let loras: [LoRARequest?] = adapters.isEmpty ? [] : prompts.indices.map { adapters[$0 % adapters.count] }
        let clock = ContinuousClock()
        let start = clock.now
        let outputs = try llm.generate(prompts, params, loraRequest: loras)
        let seconds = (clock.now - start).seconds
        let outputTokens = outputs.reduce(0) { $0 + $1.outputs.reduce(0) { $0 + $1.tokenIDs.count } }
        let promptTokens = outputs.reduce(0) { $0 + $1.promptTokenIDs.count }
        let s = llm.engine.stats
        let peak = Double(s.peakKVBlocksUsed) / Double(llm.engine.numKVBlocks)
        print("requests: \(outputs.count), prompt tokens: \(promptTokens), output tokens: \(outputTokens), time: \(format(seconds)) s")
        print("throughput: \(format(Double(outputs.count) / seconds)) requests/s, \(format(Double(outputTokens) / seconds)) output tokens/s, \(format(Double(promptTokens + outputTokens) / seconds)) total tokens/s")
        print("peak KV usage: \(format(peak * 100))% of \(llm.engine.numKVBlocks) blocks, KV waste: \(format(s.kvWaste * 100))%, preemptions: \(s.numPreemptions)")
        let spec = s.specDecoding
        if llm.engine.args.speculativeConfig != nil {
            print("speculative decoding: acceptance rate \(format(spec.acceptanceRate * 100))%, mean acceptance length \(format(spec.meanAcceptanceLength)) (\(spec.numAcceptedTokens) of \(spec.numDraftTokens) proposed tokens in \(spec.numDrafts) verifications)")
        }
        if json {
            print(JSON.object([
                ("requests_per_s", .double(Double(outputs.count) / seconds)),
                ("output_tokens_per_s", .double(Double(outputTokens) / seconds)),
                ("total_tokens_per_s", .double(Double(promptTokens + outputTokens) / seconds)),
                ("peak_kv_usage", .double(peak)), ("kv_waste", .double(s.kvWaste)),
                ("num_requests", .int(outputs.count)), ("output_tokens", .int(outputTokens)),
                ("num_preemptions", .int(s.numPreemptions)), ("max_num_seqs", .int(engine.maxNumSeqs)),
                ("lora_mix", .int(loraMix)), ("kv_blocks_for_requests", .int(llm.engine.kvBlocksForRequests)),
                ("num_kv_blocks", .int(llm.engine.numKVBlocks)),
                ("lora_adapter_bytes", .int(llm.engine.loraAdapters.reduce(0) { $0 + $1.bytes })),
                ("lora_preallocation_bytes", .int(llm.engine.loraPreallocationBytes)),
                ("kv_block_bytes", .int(llm.engine.kvBlockBytes)),
                ("structured_outputs", .bool(structuredOutputs != nil)),
                ("spec_decode_acceptance_rate", .double(spec.acceptanceRate)),
                ("spec_decode_mean_acceptance_length", .double(spec.meanAcceptanceLength)),
            ]).encoded)
        }
    }

    private func makeWorkload(vocabSize: Int) throws -> ([PromptInput], [SamplingParams]) {
        var base = SamplingParams(temperature: 0, maxTokens: outputLen, ignoreEOS: true)
        if let structuredOutputs {
            do {
                base.structuredOutputs = try StructuredOutputFields.read(samplingJSON: "{\"structured_outputs\": \(structuredOutputs)}")
            } catch {
                throw ValidationError("--structured-outputs: \(error.description)")
            }
            guard base.structuredOutputs != nil else {
                throw ValidationError("--structured-outputs must be a JSON object such as '{\"regex\": \"[0-9]+\"}'")
            }
        }
        if let dataset {
            var (prompts, params, _) = try PromptsFile.read(dataset, defaults: base)
            // A constraint that is complete allows only EOS, so constrained requests keep it.
            for i in params.indices { params[i].ignoreEOS = params[i].structuredOutputs == nil }
            return (prompts, params)
        }
        base.ignoreEOS = base.structuredOutputs == nil
        var rng = SplitMix64(seed: seed)
        let prompts = (0..<numPrompts).map { _ in
            PromptInput.tokenIDs((0..<inputLen).map { _ in Int.random(in: 100..<vocabSize, using: &rng) })
        }
        return (prompts, [base])
    }
}

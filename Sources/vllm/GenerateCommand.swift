import ArgumentParser
import VLLM

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate a completion of PROMPT (special-token strings in it are parsed).")

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "The prompt text.")
    var prompt: String

    @Option(help: "Tokens to generate at most.")
    var maxTokens = 16

    @Option(help: "Sampling temperature; 0 is greedy.")
    var temperature: Float = 1.0

    @Option(help: "Random seed for sampling.")
    var seed: UInt64?

    @Flag(help: "Keep generating after EOS.")
    var ignoreEos = false

    @Option(help: "Report the chosen token's logprob and the top K alternatives at each step.")
    var logprobs: Int?

    @Flag(help: "Print one JSON object shaped like vLLM's RequestOutput instead of streaming text.")
    var json = false

    func validate() throws {
        let params = samplingParams
        do { try params.validate() } catch { throw ValidationError(error.description) }
    }

    var samplingParams: SamplingParams {
        SamplingParams(temperature: temperature, maxTokens: maxTokens, seed: seed,
                       ignoreEOS: ignoreEos, logprobs: logprobs)
    }

    func run() throws {
        let loaded = try modelOptions.load()
        let ids = loaded.tokenizer.encode(prompt)
        let output = try loaded.generator.generate(promptTokenIDs: ids, params: samplingParams) { piece in
            if !json { print(piece, terminator: ""); fflushStdout() }
        }
        if json { print(Self.json(output).encoded) } else { print() }
    }

    static func json(_ r: RequestOutput) -> JSON {
        .object([
            ("prompt_token_ids", .array(r.promptTokenIDs.map { .int($0) })),
            ("outputs", .array(r.outputs.map { o in
                .object([
                    ("index", .int(o.index)),
                    ("text", .string(o.text)),
                    ("token_ids", .array(o.tokenIDs.map { .int($0) })),
                    ("logprobs", o.logprobs.map { steps in .array(steps.map(stepJSON)) } ?? .null),
                    ("finish_reason", o.finishReason.map { .string($0) } ?? .null),
                ])
            })),
        ])
    }

    /// {"<token id>": logprob, ...}: the chosen token first, then the top K (deduplicated).
    static func stepJSON(_ step: StepLogprobs) -> JSON {
        var seen = Set<Int>()
        return .object(step.compactMap { e in
            seen.insert(e.tokenID).inserted ? (String(e.tokenID), .double(e.logprob)) : nil
        })
    }
}

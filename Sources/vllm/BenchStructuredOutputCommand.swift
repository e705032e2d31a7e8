import ArgumentParser
import Foundation
import VLLM
import VLLMCommandLine
import VLLMJinja

/// What structured outputs cost per token: each schema is compiled (uncached), then `--batch-size`
/// matchers walk it in lockstep for `--steps` steps, each taking a random allowed token (seeded;
/// a matcher whose output is complete starts over), and every mask fill is timed. The matchers
/// of a schema share remembered masks, as the engine's requests do. The model is loaded for its
/// tokenizer and vocabulary size only: the numbers are the grammar engine's alone.
struct BenchStructuredOutputCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "structured-output", abstract: "Grammar compile time and per-token mask cost on the model's vocabulary.")

    @OptionGroup(title: "Engine: model, KV cache, scheduler, LoRA") var engine: EngineOptions

    @Option(help: "A JSON array of schemas, or of {\"name\", \"schema\"} objects (default: tests/server/fixtures/schemas.json).")
    var schemas = "tests/server/fixtures/schemas.json"

    @Option(help: "Schemas taken from the file (the first N).")
    var numSchemas = 20

    @Option(help: "Matchers advanced together (one step fills one mask each).")
    var batchSize = 32

    @Option(help: "Steps per schema.")
    var steps = 64

    @Option(help: "Random seed for the walks.")
    var seed: UInt64 = 1

    @Flag(help: "Leave out the precomputed token tables (nodes' tables are made when first reached, on the engine's thread).")
    var noTokenTables = false

    @Flag(help: "End with one JSON line of the results.")
    var json = false

    func validate() throws {
        guard numSchemas >= 1, batchSize >= 1, steps >= 1 else {
            throw ValidationError("--num-schemas, --batch-size and --steps must be at least 1")
        }
    }

    func run() throws {
        let loaded = try engine.loadModel()
        let vocab = loaded.model.config.vocabSize
        let started = Date()
        let info = TokenizerInfo(tokenizer: loaded.tokenizer, vocabSize: vocab)
        let infoMs = Date().timeIntervalSince(started) * 1000
        // Read with key order kept: the output follows the schema's property order.
        guard case let .list(list) = try Value(json: String(contentsOfFile: schemas, encoding: .utf8)) else {
            throw ValidationError("\(schemas) must hold a JSON array")
        }
        var compileMs: [Double] = [], tablesMs: [Double] = [], tablesKiB: [Double] = [], fillUs: [Double] = [], stepMs: [Double] = []
        var rng = SplitMix64(seed: seed)
        for entry in list.prefix(numSchemas) {
            var schema = entry
            if case let .dict(d) = entry, let s = d["schema"] { schema = s }
            let text = try schema.jsonText()
            let t0 = Date()
            let grammar = try GrammarCompiler.compile(.jsonSchema(text))
            compileMs.append(Date().timeIntervalSince(t0) * 1000)
            var tables: GrammarTokenTables?
            if !noTokenTables {
                let t1 = Date()
                tables = grammar.tokenTables(for: info)
                tablesMs.append(Date().timeIntervalSince(t1) * 1000)
                tablesKiB.append(Double(tables!.bytes) / 1024)
            }
            // As in the engine: the requests of one grammar share its remembered masks.
            let shared = GrammarMatcherCache(tables: tables)
            let matchers = (0..<batchSize).map { _ in GrammarMatcher(grammar, tokenizer: info, cache: shared) }
            var mask = TokenBitmask(vocabSize: info.vocabSize)
            for _ in 0..<steps {
                let s0 = Date()
                for m in matchers {
                    if m.isTerminated { m.reset() }
                    let f0 = Date()
                    m.fillNextTokenBitmask(&mask)
                    fillUs.append(Date().timeIntervalSince(f0) * 1e6)
                    let allowed = mask.allowedIDs
                    guard !allowed.isEmpty else { m.reset(); continue }
                    m.acceptToken(allowed[Int(rng.next() % UInt64(allowed.count))])
                }
                stepMs.append(Date().timeIntervalSince(s0) * 1000)
            }
        }
        func pct(_ xs: [Double], _ p: Double) -> Double {
            let s = xs.sorted()
            return s.isEmpty ? 0 : s[min(s.count - 1, Int(Double(s.count) * p))]
        }
        print("model: \(loaded.path), vocabulary \(vocab) (tokenizer info built in \(format(infoMs)) ms)")
        print("\(compileMs.count) schemas from \(schemas); \(batchSize) matchers per schema, \(steps) steps, random allowed tokens")
        print("compile: p50 \(format(pct(compileMs, 0.5))) ms, max \(format(compileMs.max() ?? 0)) ms")
        if !tablesMs.isEmpty {
            print("token tables: p50 \(format(pct(tablesMs, 0.5))) ms, max \(format(tablesMs.max() ?? 0)) ms; p50 \(format(pct(tablesKiB, 0.5))) KiB, max \(format(tablesKiB.max() ?? 0)) KiB")
        }
        print("mask fill: p50 \(format(pct(fillUs, 0.5))) µs, p99 \(format(pct(fillUs, 0.99))) µs, mean \(format(fillUs.reduce(0, +) / Double(max(fillUs.count, 1)))) µs")
        print("step of \(batchSize) masks: p50 \(format(pct(stepMs, 0.5))) ms, p99 \(format(pct(stepMs, 0.99))) ms")
        if json {
            let out: [String: Any] = [
                "vocab_size": vocab, "schemas": compileMs.count, "batch_size": batchSize, "steps": steps,
                "compile_ms_p50": pct(compileMs, 0.5), "compile_ms_max": compileMs.max() ?? 0,
                "tables_ms_p50": pct(tablesMs, 0.5), "tables_ms_max": tablesMs.max() ?? 0,
                "fill_us_p50": pct(fillUs, 0.5), "fill_us_p99": pct(fillUs, 0.99),
                "fill_us_mean": fillUs.reduce(0, +) / Double(max(fillUs.count, 1)),
                "step_ms_p50": pct(stepMs, 0.5), "step_ms_p99": pct(stepMs, 0.99),
            ]
            print(String(decoding: try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys]), as: UTF8.self))
        }
    }
}

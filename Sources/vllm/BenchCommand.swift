import ArgumentParser
import VLLM
import VLLMCommandLine

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks.",
        subcommands: [BenchLatencyCommand.self, BenchThroughputCommand.self, BenchRooflineCommand.self,
                      BenchAttentionCommand.self, BenchFidelityCommand.self, BenchStructuredOutputCommand.self])
}

/// Single-request latency: prefill throughput on an input-len prompt, then decode throughput at
/// batch 1 over output-len tokens. Reports the median over --num-iters runs after warm-up.
struct BenchLatencyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "latency")

    @OptionGroup(title: "Engine: model, KV cache, scheduler, LoRA") var engine: EngineOptions

    @Option(help: "Prompt tokens.")
    var inputLen = 512

    @Option(help: "Generated tokens (greedy, EOS ignored).")
    var outputLen = 128

    @Option(help: "Measured runs; the median is reported.")
    var numIters = 5

    @Option(help: "Unmeasured warm-up runs.")
    var numItersWarmup = 1

    @Flag(help: "End with one JSON line of the results.")
    var json = false

    func validate() throws {
        guard inputLen >= 1, outputLen >= 1 else { throw ValidationError("--input-len and --output-len must be at least 1") }
        guard numIters >= 1, numItersWarmup >= 0 else { throw ValidationError("--num-iters must be at least 1") }
    }

    func run() throws {
        let loaded = try engine.loadModel()
        let model = loaded.model
        guard inputLen + outputLen <= model.config.contextLength else {
            throw ValidationError("--input-len + --output-len exceeds the context length \(model.config.contextLength)")
        }
        // Random ordinary tokens (seeded): the work per token does not depend on which they are.
        var rng = SplitMix64(seed: 42)
        let prompt = (0..<inputLen).map { _ in Int.random(in: 100..<model.config.vocabSize, using: &rng) }
        let cache = SequenceKVCache(config: model.config, capacity: inputLen + outputLen,
                                    dtype: try engine.engineArgs.kvCacheDtype)
        let clock = ContinuousClock()
        var prefill: [Double] = [], decode: [Double] = []
        for iter in 0..<(numItersWarmup + numIters) {
            cache.reset()
            let t0 = clock.now
            var logits = model.forward(tokens: prompt, cache: cache)
            let t1 = clock.now
            for _ in 0..<outputLen {
                logits = model.forward(tokens: [Sampler.argmax(logits)], cache: cache)
            }
            let t2 = clock.now
            guard iter >= numItersWarmup else { continue }
            prefill.append(Double(inputLen) / (t1 - t0).seconds)
            decode.append(Double(outputLen) / (t2 - t1).seconds)
        }
        let p = median(prefill), d = median(decode)
        print("model: \(loaded.path)")
        print("threads: \(model.pool.threadCount), input-len: \(inputLen), output-len: \(outputLen), runs: \(numIters) (median)")
        print("prefill: \(format(p)) tokens/s   decode: \(format(d)) tokens/s")
        if json {
            print(JSON.object([
                ("prefill_tokens_per_s", .double(p)), ("decode_tokens_per_s", .double(d)),
                ("input_len", .int(inputLen)), ("output_len", .int(outputLen)),
                ("threads", .int(model.pool.threadCount)), ("num_iters", .int(numIters)), ("statistic", .string("median")),
                ("prefill_runs", .array(prefill.map { .double($0) })), ("decode_runs", .array(decode.map { .double($0) })),
            ]).encoded)
        }
    }

}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

func format(_ x: Double) -> String { String(Double(Int(x * 10)) / 10) }


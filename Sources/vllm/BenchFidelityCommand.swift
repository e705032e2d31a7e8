import ArgumentParser
import Foundation
import VLLM
import VLLMCommandLine

/// How far the engine's activation mode moves the next-token distribution from the exact pass
/// (`--activation-dtype exact`: fp32 activations times exactly dequantized weights, which the
/// reference tests hold within fp32 rounding of float64). Both load the same model; each prompt
/// (random ordinary tokens, seeded) is prefilled, then continued greedily along the exact pass's
/// choices, and every step's full-vocabulary distributions are compared: mean and max
/// KL(exact ‖ mode), the worst gap over the exact pass's top-5 logprobs, and steps whose argmax
/// differs. The prefill step runs the long-batch kernels, the others the decode-sized ones.
struct BenchFidelityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fidelity", abstract: "KL and top-5 logprob gap of the activation mode against the exact pass.")

    @OptionGroup(title: "Engine: model, KV cache, scheduler, LoRA") var engine: EngineOptions

    @Option(help: "Prompts compared.")
    var numPrompts = 4

    @Option(help: "Prompt tokens.")
    var inputLen = 128

    @Option(help: "Decode steps compared after each prompt.")
    var outputLen = 32

    @Flag(help: "End with one JSON line of the results.")
    var json = false

    func validate() throws {
        guard numPrompts >= 1, inputLen >= 1, outputLen >= 0 else {
            throw ValidationError("--num-prompts and --input-len must be at least 1, --output-len at least 0")
        }
    }

    func run() throws {
        let loaded = try engine.loadModel()
        var exactArgs = try engine.engineArgs
        exactArgs.activationDtype = .exact
        let exact = try LoadedModel(path: loaded.path, args: exactArgs).model, model = loaded.model
        guard inputLen + outputLen <= model.config.contextLength else {
            throw ValidationError("--input-len + --output-len exceeds the context length \(model.config.contextLength)")
        }
        let dtype = try engine.engineArgs.kvCacheDtype
        var rng = SplitMix64(seed: 7)
        var stats = FidelityStats()
        for _ in 0..<numPrompts {
            let prompt = (0..<inputLen).map { _ in Int.random(in: 100..<model.config.vocabSize, using: &rng) }
            let caches = [exact, model].map { SequenceKVCache(config: $0.config, capacity: inputLen + outputLen, dtype: dtype) }
            var want = exact.forward(tokens: prompt, cache: caches[0]), got = model.forward(tokens: prompt, cache: caches[1])
            for step in 0...outputLen {
                let next = stats.add(exact: want, mode: got)
                guard step < outputLen else { break }
                want = exact.forward(tokens: [next], cache: caches[0])
                got = model.forward(tokens: [next], cache: caches[1])
            }
        }
        let mode = try engine.engineArgs.activationDtype.rawValue
        print("model: \(loaded.path)")
        print("activation dtype \(mode) against exact: \(stats.count) steps (\(numPrompts) prompts of \(inputLen) tokens, \(outputLen) decode steps each)")
        print("mean KL \(stats.meanKL) nats, max KL \(stats.maxKL), worst top-5 logprob gap \(stats.worstGap), argmax differs at \(stats.argmaxMisses) steps")
        if json {
            print(JSON.object([
                ("activation_dtype", .string(mode)), ("steps", .int(stats.count)),
                ("mean_kl", .double(stats.meanKL)), ("max_kl", .double(stats.maxKL)),
                ("worst_top5_gap", .double(stats.worstGap)), ("argmax_misses", .int(stats.argmaxMisses)),
            ]).encoded)
        }
    }
}

/// Running comparison of two next-token distributions per step, in float64.
struct FidelityStats {
    private(set) var count = 0, argmaxMisses = 0
    private(set) var maxKL = 0.0, worstGap = 0.0
    private var klSum = 0.0
    var meanKL: Double { count == 0 ? 0 : klSum / Double(count) }

    /// Adds one step; returns the exact distribution's argmax (the greedy continuation).
    mutating func add(exact: [Float], mode: [Float]) -> Int {
        let p = Sampler.logSoftmax(exact), q = Sampler.logSoftmax(mode)
        var kl = 0.0
        for i in p.indices where p[i] > -.infinity { kl += exp(p[i]) * (p[i] - q[i]) }
        let best = Sampler.argmax(exact)
        let top = Sampler.logprobs(logits: exact, chosen: best, k: 5).dropFirst().map(\.0)
        worstGap = max(worstGap, top.map { abs(p[$0] - q[$0]) }.max()!)
        if Sampler.argmax(mode) != best { argmaxMisses += 1 }
        klSum += kl
        maxKL = max(maxKL, kl)
        count += 1
        return best
    }
}

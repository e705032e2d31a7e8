import ArgumentParser
import VLLM
import VLLMCommandLine

/// Decode attention through the paged KV cache against the same keys and values stored
/// contiguously: the cost of the block table, per context length (see `AttentionBenchmark`).
struct BenchAttentionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attention",
        abstract: "Paged vs contiguous decode attention on the same K/V (single thread).")

    @Option(parsing: .upToNextOption, help: "Context lengths (cached positions), space- or comma-separated.")
    var contexts: [String] = ["128,256,512,1024,2048,4096"]

    @Option(help: "Head dimension (default: SmolLM2-135M's).")
    var headDim = 64

    @Option(help: "Query heads.")
    var queryHeads = 9

    @Option(help: "KV heads (query heads share them in equal groups).")
    var kvHeads = 3

    @Option(help: "Token slots per KV cache block (default: the engine's).")
    var blockSize = EngineArgs().blockSize

    @Option(help: "KV cache element type: auto (the engine's default), float16 or float32.")
    var kvCacheDtype = "auto"

    @Option(parsing: .upToNextOption,
            help: "Software-prefetch distances (rows ahead, 0: none) to run the contiguous kernel with; the fastest is the baseline.")
    var contiguousPrefetch: [String] = ["0,16,32"]

    @Option(help: "The paged pool's size as a multiple of the blocks the sequence uses.")
    var poolFactor = 4

    @Option(help: "Timed trials per layout, the layouts alternating; medians are reported.")
    var trials = 31

    @Option(help: "Approximate length of one trial, milliseconds.")
    var trialMs = 10.0

    @Flag(help: "End with one JSON line of the results.")
    var json = false

    var contextList: [Int] { get throws { try Self.integers(contexts, min: 1, flag: "--contexts") } }
    var prefetchList: [Int] { get throws { try Self.integers(contiguousPrefetch, min: 0, flag: "--contiguous-prefetch") } }

    /// Integers given space- or comma-separated.
    static func integers(_ args: [String], min: Int, flag: String) throws -> [Int] {
        let values = try args.flatMap { $0.split(separator: ",") }.map {
            guard let n = Int($0), n >= min else { throw ValidationError("\(flag) takes integers >= \(min), got \($0)") }
            return n
        }
        guard !values.isEmpty else { throw ValidationError("\(flag) needs at least one value") }
        return values
    }

    var dtype: KVCacheDType { get throws { try EngineOptions.kvCacheDType(kvCacheDtype) } }

    func validate() throws {
        _ = try contextList
        _ = try prefetchList
        _ = try dtype
        guard headDim >= 1, kvHeads >= 1, queryHeads >= kvHeads, queryHeads % kvHeads == 0 else {
            throw ValidationError("--query-heads must be a positive multiple of --kv-heads")
        }
        guard blockSize >= 1, poolFactor >= 1, trials >= 1, trialMs > 0 else {
            throw ValidationError("--block-size, --pool-factor, --trials and --trial-ms must be positive")
        }
    }

    func run() throws {
        let shape = AttentionBenchmark.Shape(headDim: headDim, queryHeads: queryHeads, kvHeads: kvHeads,
                                             blockSize: blockSize, dtype: try dtype)
        print("head_dim \(headDim), \(queryHeads) query heads over \(kvHeads) KV heads, block size \(blockSize), "
              + "\(shape.dtype.rawValue) K/V, pool \(poolFactor)x the blocks used, shuffled")
        let prefetch = try prefetchList
        print("one thread, all KV heads per call; medians of \(trials) rounds of ~\(Int(trialMs)) ms per layout, order rotating; "
              + "contiguous = the fastest of software prefetch \(prefetch.map(String.init).joined(separator: "/")) rows ahead; "
              + "the ratio is the median over rounds")
        print("context | paged µs | contiguous µs | paged/contiguous | contiguous prefetch")
        var results: [AttentionBenchmark.Result] = []
        for n in try contextList {
            let r = AttentionBenchmark.measure(shape: shape, context: n, contiguousPrefetch: prefetch,
                                               poolFactor: poolFactor, trials: trials, trialSeconds: trialMs / 1000)
            // Same values, same kernels, same order of operations: the outputs agree to rounding.
            guard r.maxDifference <= 1e-5 else {
                throw ValidationError("context \(n): paged and contiguous outputs differ by \(r.maxDifference)")
            }
            print("\(pad(n, 7)) | \(pad(micro(r.pagedMedian), 8)) | \(pad(micro(r.contiguousMedian), 13)) | "
                  + "\(pad(format2(r.ratio), 16)) | \(pad(r.best.prefetch, 19))")
            fflushStdout()
            results.append(r)
        }
        if json {
            print(JSON.object([
                ("head_dim", .int(headDim)), ("query_heads", .int(queryHeads)), ("kv_heads", .int(kvHeads)),
                ("block_size", .int(blockSize)), ("kv_cache_dtype", .string(shape.dtype.rawValue)),
                ("pool_factor", .int(poolFactor)), ("trials", .int(trials)), ("statistic", .string("median")),
                ("results", .array(results.map { r in
                    JSON.object([
                        ("context", .int(r.context)), ("paged_us", .double(r.pagedMedian * 1e6)),
                        ("contiguous_us", .double(r.contiguousMedian * 1e6)), ("ratio", .double(r.ratio)),
                        ("contiguous_prefetch", .int(r.best.prefetch)),
                        ("contiguous_variants", .array(r.contiguous.map { c in
                            JSON.object([("prefetch", .int(c.prefetch)),
                                         ("us", .double(AttentionBenchmark.Result.median(c.seconds) * 1e6))])
                        })),
                        ("max_abs_diff", .double(Double(r.maxDifference))),
                    ])
                })),
            ]).encoded)
        }
    }

    private func micro(_ s: Double) -> String { format2(s * 1e6) }

    /// Two decimals.
    private func format2(_ x: Double) -> String {
        let c = Int((x * 100).rounded())
        let frac = c % 100
        return "\(c / 100).\(frac < 10 ? "0" : "")\(frac)"
    }

    private func pad(_ s: CustomStringConvertible, _ width: Int) -> String {
        let t = s.description
        return String(repeating: " ", count: max(0, width - t.count)) + t
    }
}

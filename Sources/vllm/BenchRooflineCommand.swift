import ArgumentParser
import Foundation
import VLLM
import VLLMCommandLine

/// The machine's limits, measured in this run: memory bandwidth (STREAM-style triad) and peak
/// fp32 FLOP/s, plus the decode ceiling they put on the model (every weight byte is read once
/// per decode step, so tokens/s ≤ bandwidth ÷ model bytes).
struct BenchRooflineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "roofline")

    @OptionGroup var model: ModelOptions

    @Option(help: "Bytes per triad array (three are streamed); far above the caches.")
    var arrayMiB = 128

    @Option(help: "Measured repeats; the best is reported, as STREAM does.")
    var repeats = 5

    @Flag(help: "End with one JSON line of the results.")
    var json = false

    func validate() throws {
        guard arrayMiB >= 1, repeats >= 1 else { throw ValidationError("--array-mi-b and --repeats must be at least 1") }
    }

    func run() throws {
        let path = try model.model ?? DefaultModel.resolve()
        guard let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int else {
            throw ValidationError("cannot read the model file \(path)")
        }
        let pool = ThreadPool(threadCount: model.threads ?? ThreadPool.availableCores)
        let r = Roofline.measure(pool: pool, arrayBytes: arrayMiB << 20, repeats: repeats)
        let decodeCeiling = r.memoryBandwidth / Double(size)
        print("threads: \(r.threads)")
        print("memory bandwidth (triad, best of \(repeats)): \(format(r.memoryBandwidth / 1e9)) GB/s")
        print("peak fp32 (FMA, best of \(repeats)): \(format(r.peakFlops / 1e9)) GFLOP/s")
        print("decode ceiling for \(path) (\(size) bytes): \(format(decodeCeiling)) tokens/s")
        if json {
            print(JSON.object([
                ("threads", .int(r.threads)), ("memory_bandwidth_bytes_per_s", .double(r.memoryBandwidth)),
                ("peak_flops", .double(r.peakFlops)), ("model_bytes", .int(size)),
                ("decode_tokens_per_s_ceiling", .double(decodeCeiling)),
            ]).encoded)
        }
    }
}

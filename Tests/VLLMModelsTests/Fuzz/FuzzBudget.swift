import Foundation

/// How many cases each format's fuzzer runs and from which seed. CI runs a small fixed budget;
/// `VLLM_FUZZ_CASES=20000` (and optionally `VLLM_FUZZ_SEED`) makes a long run, and
/// `VLLM_FUZZ_VERBOSE=1` prints each case before it runs, so the last line before a crash names it.
enum FuzzBudget {
    static var cases: Int { env("VLLM_FUZZ_CASES").flatMap(Int.init) ?? 300 }
    static var seed: UInt64 { env("VLLM_FUZZ_SEED").flatMap { UInt64($0) } ?? 0x5EED_F11E }
    static var verbose: Bool { env("VLLM_FUZZ_VERBOSE") == "1" }

    private static func env(_ name: String) -> String? { ProcessInfo.processInfo.environment[name] }
}

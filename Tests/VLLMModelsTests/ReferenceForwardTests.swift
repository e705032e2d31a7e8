import Foundation
import Testing
import VLLMTestSupport
import VLLMCompute
@testable import VLLMModels

/// The default model against the exact float64 reference pass (shared/reference): greedy paths
/// must match token for token, and top-5 logprobs must be within 0.02 (we report the worst gap;
/// fp32 on exactly dequantized weights is expected within ~3e-5).
@Suite(.serialized) struct ReferenceForwardTests {
    static let model: DecoderModel = {
        let gguf = try! GGUFFile(path: TestPaths.defaultModel)
        return try! DecoderModel(gguf: gguf, pool: ThreadPool())
    }()

    static func logSoftmax(_ logits: [Float]) -> [Double] {
        let m = Double(logits.max()!)
        let lse = m + log(logits.reduce(0.0) { $0 + exp(Double($1) - m) })
        return logits.map { Double($0) - lse }
    }

    @Test func configFromMetadata() {
        let c = Self.model.config
        #expect(c.layerCount == 30 && c.hiddenSize == 576 && c.intermediateSize == 1536)
        #expect(c.headCount == 9 && c.kvHeadCount == 3 && c.headDim == 64 && c.vocabSize == 49152)
        #expect(c.rope.freqBase == 100000)
    }

    /// Both KV cache types meet the same bar: fp16 rounding of K/V moves logprobs by far less
    /// than the 0.02 allowed and flips no greedy token on these prompts.
    @Test(arguments: 0..<12, [KVCacheDType.float32, .float16])
    func greedyAndLogprobsMatchFloat64(case index: Int, kvCacheDtype: KVCacheDType) throws {
        let ref = try TestPaths.referenceLines("generation.jsonl")[index]
        let prompt = (ref["prompt_token_ids"] as! [NSNumber]).map(\.intValue)
        let expected = (ref["greedy_token_ids_fp64"] as! [NSNumber]).map(\.intValue)
        let top5 = ref["fp64_top5"] as! [[[NSNumber]]]
        let m = Self.model
        let cache = SequenceKVCache(config: m.config, capacity: prompt.count + expected.count, dtype: kvCacheDtype)
        var logits = m.forward(tokens: prompt, cache: cache)
        var got: [Int] = []
        var worst = 0.0
        for step in 0..<expected.count {
            let lp = Self.logSoftmax(logits)
            let next = lp.indices.max { lp[$0] < lp[$1] }!
            got.append(next)
            if step < top5.count {
                for pair in top5[step] {
                    worst = max(worst, abs(lp[pair[0].intValue] - pair[1].doubleValue))
                }
            }
            // Teacher-force the reference path so one early slip doesn't hide later checks.
            if step + 1 < expected.count { logits = m.forward(tokens: [expected[step]], cache: cache) }
        }
        #expect(got == expected, "\(ref["id"]!) \(kvCacheDtype)")
        #expect(worst < 0.02, "\(ref["id"]!): worst top-5 logprob gap \(worst)")
        print("reference \(ref["id"]!) \(kvCacheDtype): worst top-5 logprob gap \(worst)")
    }

    /// Mean KL(float64 ‖ ours) over the 16 reference steps of every prompt, teacher-forced on the
    /// float64 greedy path: the opt-in int8 activation mode must stay under 0.001 nats (the
    /// issue's bar; llama.cpp's int8 path measures ~0.0019 on these prompts), the default within
    /// its fidelity budget, 1e-5. The reference has the top 5 tokens of each step, so the
    /// KL is taken over those 5 and the rest of the vocabulary as one outcome (a lower bound of
    /// the full KL that the top 5 dominate here).
    @Test(arguments: [(ActivationPrecision.int8, 0.001), (.float32, 1e-5), (.exact, 1e-9)])
    func activationsStayCloseToFloat64(_ precision: ActivationPrecision, bar: Double) throws {
        let m = try DecoderModel(gguf: GGUFFile(path: TestPaths.defaultModel), pool: ThreadPool(), activationPrecision: precision)
        var kls: [Double] = []
        var worstGap = 0.0
        for ref in try TestPaths.referenceLines("generation.jsonl") {
            let prompt = (ref["prompt_token_ids"] as! [NSNumber]).map(\.intValue)
            let path = (ref["greedy_token_ids_fp64"] as! [NSNumber]).map(\.intValue)
            let top5 = ref["fp64_top5"] as! [[[NSNumber]]]
            let cache = SequenceKVCache(config: m.config, capacity: prompt.count + top5.count, dtype: .float32)
            var logits = m.forward(tokens: prompt, cache: cache)
            for step in 0..<top5.count {
                let lp = Self.logSoftmax(logits)
                var kl = 0.0, pRest = 1.0, qRest = 1.0
                for pair in top5[step] {
                    let p = pair[1].doubleValue, q = lp[pair[0].intValue]
                    kl += exp(p) * (p - q)
                    pRest -= exp(p)
                    qRest -= exp(q)
                    worstGap = max(worstGap, abs(p - q))
                }
                if pRest > 1e-12 && qRest > 1e-12 { kl += pRest * log(pRest / qRest) }
                kls.append(kl)
                logits = m.forward(tokens: [path[step]], cache: cache)
            }
        }
        let mean = kls.reduce(0, +) / Double(kls.count)
        print("\(precision) activations: mean KL \(mean) over \(kls.count) steps, max \(kls.max()!), worst top-5 logprob gap \(worstGap)")
        #expect(mean < bar)
    }
}


import Foundation
import Testing
import VLLMJinja
import VLLMStructuredOutput
@testable import VLLMEngine

/// Structured outputs on the real model: every constrained output matches its constraint at
/// temperature 1, in a batch mixing constraints with unconstrained requests (which come out as
/// they do alone), and logprobs are those of the allowed tokens only.
extension EngineTests {
    static let person = """
        {"type": "object", "properties": {"name": {"type": "string", "maxLength": 12},
         "age": {"type": "integer", "minimum": 0, "maximum": 120}, "pet": {"enum": ["cat", "dog", null]}},
         "required": ["name", "age"]}
        """

    static func constraints() -> [StructuredOutputsParams] {
        [
            StructuredOutputsParams(json: person, disableAnyWhitespace: true),
            StructuredOutputsParams(regex: "[0-9]{3}-[a-z]{2,5}"),
            StructuredOutputsParams(choice: ["red", "green", "blue"]),
            StructuredOutputsParams(grammar: "root ::= \"(\" [a-z]+ (\",\" [a-z]+)? \")\""),
            StructuredOutputsParams(jsonObject: true, disableAnyWhitespace: true),
        ]
    }

    /// Whether `text` is a complete match of `so`, by a fresh matcher.
    static func satisfies(_ text: String, _ so: StructuredOutputsParams) throws -> Bool {
        let m = GrammarMatcher(try so.compiled(), tokenizer: TokenizerInfo(tokenBytes: [], vocabSize: 1, stopTokenIDs: [0]))
        return m.acceptString(text) && m.isCompleted
    }

    @Test func constrainedOutputsMatchInAMixedBatch() throws {
        let free = SamplingParams(temperature: 0, maxTokens: 16, ignoreEOS: true)
        let alone = try Self.runMixed(Self.engine(), [("u", Self.prompts[7], free)])["u"]!.tokenIDs
        var requests: [(id: String, prompt: [Int], params: SamplingParams)] = [("u", Self.prompts[7], free)]
        let kinds = Self.constraints()
        for seed in 0..<4 {
            for (k, so) in kinds.enumerated() {
                var p = SamplingParams(temperature: 1, maxTokens: 120, seed: UInt64(seed * 10 + k))
                p.structuredOutputs = so
                requests.append(("c\(k)-\(seed)", Self.prompts[seed * 5 + k], p))
            }
        }
        let done = try Self.runMixed(Self.engine(), requests)
        #expect(done["u"]!.tokenIDs == alone)
        var texts: [String] = []
        for seed in 0..<4 {
            for (k, so) in kinds.enumerated() {
                let out = done["c\(k)-\(seed)"]!
                if out.finishReason == "length" && so.jsonObject == true {
                    // Any JSON object may run past max_tokens; what was written must still be
                    // the start of one.
                    let m = GrammarMatcher(try so.compiled(), tokenizer: TokenizerInfo(tokenBytes: [], vocabSize: 1, stopTokenIDs: [0]))
                    #expect(m.acceptString(out.text), "\(k)/\(seed): \(out.text)")
                    continue
                }
                #expect(out.finishReason == "stop", "\(k)/\(seed): \(out.text)")
                #expect(try Self.satisfies(out.text, so), "\(k)/\(seed): \(out.text)")
                texts.append(out.text)
            }
        }
        // The JSON outputs parse, and the schema's fields are there with their types.
        for seed in 0..<4 {
            guard case let .dict(d)? = try? Value(json: done["c0-\(seed)"]!.text) else {
                Issue.record("not a JSON object: \(done["c0-\(seed)"]!.text)"); continue
            }
            guard case .string? = d["name"], case let .int(age)? = d["age"] else { Issue.record("fields: \(d)"); continue }
            #expect((0...120).contains(age))
            #expect(d.keys.count <= 3)
        }
        // Sampling varied the outputs (four seeds of the same regex agreeing would be a fluke).
        #expect(Set((0..<4).map { done["c1-\($0)"]!.text }).count > 1)
    }

    @Test func logprobsAreOverTheAllowedTokens() throws {
        var p = SamplingParams(temperature: 0, maxTokens: 8, logprobs: 5)
        p.structuredOutputs = StructuredOutputsParams(choice: ["red", "green", "blue"])
        let out = try Self.runMixed(Self.engine(), [("c", Self.prompts[2], p)])["c"]!
        #expect(["red", "green", "blue"].contains(out.text))
        let info = TokenizerInfo(tokenizer: Self.tokenizer, vocabSize: Self.model.config.vocabSize)
        let m = GrammarMatcher(try p.structuredOutputs!.compiled(), tokenizer: info)
        for (step, lp) in out.logprobs!.enumerated() {
            var mask = TokenBitmask(vocabSize: info.vocabSize)
            m.fillNextTokenBitmask(&mask)
            // Listed alternatives are allowed or -inf (when fewer than k are allowed), and the
            // allowed ones carry all the mass.
            for (t, l) in lp { #expect(mask.isAllowed(t) == l.isFinite, "step \(step) token \(t) \(l)") }
            if mask.allowedCount <= 5 {
                let mass = lp.dropFirst().reduce(0) { $0 + ($1.logprob.isFinite ? exp($1.logprob) : 0) }
                #expect(abs(mass - 1) < 1e-4, "step \(step): \(mass)")
            }
            #expect(m.acceptToken(out.tokenIDs[step]))
        }
        #expect(m.isCompleted)
    }

    @Test func everyChoiceOfNSatisfiesTheConstraint() throws {
        var p = SamplingParams(temperature: 1.2, maxTokens: 40, seed: 8, n: 4)
        p.structuredOutputs = StructuredOutputsParams(regex: "(yes|no|maybe)!{1,3}")
        let engine = try Self.engine()
        try engine.addRequest(id: "n", prompt: .tokenIDs(Self.prompts[4]), params: p)
        var final: RequestOutput?
        while engine.hasUnfinishedRequests { for o in engine.step() where o.finished { final = o } }
        let outs = try #require(final).outputs
        #expect(outs.count == 4)
        for o in outs { #expect(try Self.satisfies(o.text, p.structuredOutputs!), "\(o.text)") }
        #expect(engine.engineCore.structuredOutputs?.count == 0)
    }

    @Test func badConstraintsAreRefusedBeforeQueueing() throws {
        let engine = try Self.engine()
        var p = SamplingParams(maxTokens: 4)
        p.structuredOutputs = StructuredOutputsParams(regex: "(a")
        #expect(throws: InvalidRequest.self) { try engine.addRequest(id: "x", prompt: .tokenIDs([1, 2]), params: p) }
        p.structuredOutputs = StructuredOutputsParams(json: "{}", regex: "a")
        #expect(throws: InvalidRequest.self) { try engine.addRequest(id: "y", prompt: .tokenIDs([1, 2]), params: p) }
        #expect(!engine.hasUnfinishedRequests)
    }
}

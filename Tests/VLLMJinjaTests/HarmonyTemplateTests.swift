import Foundation
import Testing
@testable import VLLMJinja

/// gpt-oss's chat template (the harmony format: tool schemas rendered as TypeScript, channels,
/// `thinking`, tool calls and results, `reasoning_effort`, builtin tools) renders byte for byte as
/// transformers renders it (Tests/Fixtures/harmony, made by scripts/make-harmony-fixtures.py).
@Suite struct HarmonyTemplateTests {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/harmony")

    static func isTrue(_ v: Value?) -> Bool {
        if case .bool(true)? = v { return true }
        return false
    }

    @Test func rendersAsTransformersDoes() throws {
        let template = try ChatTemplate(String(contentsOf: Self.dir.appendingPathComponent("chat_template.jinja"), encoding: .utf8))
        // Parsed as template values, so that objects keep their key order (tool schemas render in it).
        let fixture = try Value(json: String(contentsOf: Self.dir.appendingPathComponent("renders.json"), encoding: .utf8))
        guard case let .list(cases) = fixture, case .dict = cases.first else { Issue.record("renders.json is not a list of cases"); return }
        #expect(cases.count == 9)
        for c in cases {
            guard case let .dict(d) = c, case let .string(name)? = d["name"], case let .string(want)? = d["rendered"] else {
                Issue.record("a case without name or rendered"); continue
            }
            var kwargs: [(String, Value)] = []
            if case let .dict(k)? = d["kwargs"] {
                for key in k.keys { if case let .string(s) = key { kwargs.append((s, k[key]!)) } }
            }
            var text: String = try template.apply(messages: d["messages"]!, addGenerationPrompt: Self.isTrue(d["add_generation_prompt"]),
                                          tools: d["tools"], extraKwargs: kwargs)
            // The fixture has the render date replaced by DATE.
            let date = try #require(text.range(of: #"Current date: \d{4}-\d{2}-\d{2}\n"#, options: String.CompareOptions.regularExpression))
            text.replaceSubrange(date, with: "Current date: DATE\n")
            #expect(text == want, "\(name)")
        }
    }
}

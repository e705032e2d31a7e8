import Testing
@testable import VLLMJinja

@Suite struct ChatTemplateTests {
    let chatML = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"

    @Test func appliesWithGenerationPrompt() throws {
        let t = try ChatTemplate(chatML)
        let messages = try Value(json: #"[{"role": "user", "content": "Hi 👋"}]"#)
        #expect(try t.apply(messages: messages) == "<|im_start|>user\nHi 👋<|im_end|>\n")
        #expect(try t.apply(messages: messages, addGenerationPrompt: true) == "<|im_start|>user\nHi 👋<|im_end|>\n<|im_start|>assistant\n")
    }

    @Test func toolsDocumentsAndSpecialTokensReachTheTemplate() throws {
        let t = try ChatTemplate("{{ bos_token }}{{ tools is none }}{{ documents is none }}{% if tools %}{{ tools | tojson }}{% endif %}{{ flag }}{{ eos_token }}")
        #expect(try t.apply(messages: [], specialTokens: ["bos_token": "<s>", "eos_token": "</s>"]) == "<s>TrueTrue</s>")
        let tools = try Value(json: #"[{"type": "function", "function": {"name": "f", "parameters": {"z": 1, "a": 2}}}]"#)
        #expect(try t.apply(messages: [], tools: tools, documents: [], extraKwargs: [("flag", 7)])
                == #"FalseFalse[{"type": "function", "function": {"name": "f", "parameters": {"z": 1, "a": 2}}}]7"#)
    }

    @Test func continueFinalMessageCutsAfterTheContent() throws {
        let t = try ChatTemplate(chatML)
        let messages = try Value(json: #"[{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "The answer is  "}]"#)
        #expect(try t.apply(messages: messages, continueFinalMessage: true) == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nThe answer is  ")
        let trimming = try ChatTemplate("{% for m in messages %}[{{ m.content | trim }}]{% endfor %}")
        #expect(try trimming.apply(messages: messages, continueFinalMessage: true) == "[Hi][The answer is")
        let parts = try Value(json: #"[{"role": "assistant", "content": [{"type": "text", "text": "One, two"}]}]"#)
        #expect(try ChatTemplate("{{ messages[0].content[0].text }}!").apply(messages: parts, continueFinalMessage: true) == "One, two")
        #expect(throws: TemplateError.self) { try t.apply(messages: messages, addGenerationPrompt: true, continueFinalMessage: true) }
    }

    @Test func jsonKeepsKeyOrderAndPythonNumberTypes() throws {
        let v = try Value(json: #"{"z": 1, "a": [1.0, 2, -0.5e3, true, null, "\u00e9\ud83d\ude00\n"], "m": {}}"#)
        #expect(try Template("{{ v }}|{{ v | tojson }}").render(["v": v])
                == #"{'z': 1, 'a': [1.0, 2, -500.0, True, None, 'é😀\n'], 'm': {}}|{"z": 1, "a": [1.0, 2, -500.0, true, null, "é😀\n"], "m": {}}"#)
        #expect(throws: TemplateError.self) { try Value(json: #"{"a": }"#) }
        #expect(throws: TemplateError.self) { try Value(json: "[1] x") }
    }
}

import Testing
@testable import VLLMTokenizers

/// The hand-written regex matchers against splits worked out from the regexes' semantics.
@Suite struct PreTokenizerTests {
    func pieces(_ name: String, _ text: String) throws -> [String] {
        let pre = try #require(PreTokenizer(name: name))
        let s = Array(text.unicodeScalars)
        return pre.split(s, CharClass.classify(s), 0..<s.count).map { r in
            var v = String.UnicodeScalarView()
            v.append(contentsOf: s[r])
            return String(v)
        }
    }

    let sample = "Hello world 12345 it's IT'S\n\n  x"

    @Test func gpt2() throws {
        #expect(try pieces("gpt2", sample) ==
            ["Hello", " world", " 12345", " it", "'s", " IT", "'", "S", "\n\n ", " x"])
    }

    @Test func smollmSplitsEveryDigit() throws {
        #expect(try pieces("smollm", sample) ==
            ["Hello", " world", " ", "1", "2", "3", "4", "5", " it", "'s", " IT", "'", "S", "\n\n ", " x"])
        #expect(try pieces("smollm", "x2") == ["x", "2"])
    }

    @Test func llama3() throws {
        #expect(try pieces("llama-bpe", sample) ==
            ["Hello", " world", " ", "123", "45", " it", "'s", " IT", "'S", "\n\n", " ", " x"])
        #expect(try pieces("llama-bpe", "(foo) bar!!\n\nbaz   ") == ["(foo", ")", " bar", "!!\n\n", "baz", "   "])
        #expect(try pieces("llama-bpe", "a \r\n b") == ["a", " \r\n", " b"])
    }

    @Test func qwen2SplitsEveryDigit() throws {
        #expect(try pieces("qwen2", "in 2024") == ["in", " ", "2", "0", "2", "4"])
    }

    @Test func llamaCppDefault() throws {
        #expect(try pieces("default", "a+b=12345!") == ["a", "+", "b", "=", "123", "45", "!"])
    }

    @Test func whitespaceLookahead() throws {
        // `\s+(?!\S)`: a run before a word gives up its last space to that word.
        #expect(try pieces("gpt2", "a   b") == ["a", "  ", " b"])
        #expect(try pieces("gpt2", "a\tb") == ["a", "\t", "b"])
        #expect(try pieces("gpt2", "a  ") == ["a", "  "])
    }

    @Test func unknownNameIsRejected() {
        #expect(PreTokenizer(name: "no-such-pre") == nil)
        #expect(PreTokenizer(name: nil) != nil) // missing key: llama.cpp's default
    }
}

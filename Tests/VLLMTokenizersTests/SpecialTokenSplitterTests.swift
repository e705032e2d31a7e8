import Testing
@testable import VLLMTokenizers

@Suite struct SpecialTokenSplitterTests {
    // 0 "<a>" control, 1 "<a><b>" control, 2 "<b>" user-defined, 3 "x" normal.
    let splitter = SpecialTokenSplitter(tokens: ["<a>", "<a><b>", "<b>", "x"],
                                        types: [.control, .control, .userDefined, .normal])

    func split(_ text: String, _ parseSpecial: Bool) -> [Fragment] {
        splitter.split(Array(text.unicodeScalars), parseSpecial: parseSpecial)
    }

    @Test func longestMatchWins() {
        #expect(split("x<a><b>y<a>", true) == [.text(0..<1), .token(1), .text(7..<8), .token(0)])
    }

    @Test func userDefinedTokensAlwaysSplit() {
        #expect(split("x<a><b>y", false) == [.text(0..<4), .token(2), .text(7..<8)])
    }

    @Test func adjacentAndWholeText() {
        #expect(split("<a><a>", true) == [.token(0), .token(0)])
        #expect(split("x", true) == [.text(0..<1)])
        #expect(split("", true) == [])
    }
}

import Testing
@testable import VLLMStructuredOutput

@Suite struct GrammarCacheTests {
    static func vocabulary() -> TokenizerInfo {
        var tokens: [[UInt8]] = []
        for i in 0..<300 {
            let a = UInt8(32 + i % 90), b = UInt8(32 + i / 90)
            tokens.append([a, b])
        }
        tokens.append([])
        return TokenizerInfo(tokenBytes: tokens, vocabSize: 301, stopTokenIDs: [300])
    }

    @Test func sameConstraintIsCompiledOnce() throws {
        let cache = GrammarCache(capacity: 4)
        let spec = StructuredOutputSpec.regex("[a-z]{2}")
        let a = try cache.compiled(spec)
        #expect(try cache.compiled(spec) === a)
        #expect(try cache.compiled(spec, anyWhitespace: false) !== a)
        #expect(cache.count == 2)
    }

    /// Grammars leave, least recently used first, when their token tables pass the budget,
    /// and when there are more than `capacity` of them.
    @Test func tablesAndCountAreBounded() throws {
        let vocabulary = Self.vocabulary()
        let specs = (1...6).map { StructuredOutputSpec.regex("[a-z]{1,\($0 + 3)}") }
        let sizes = try specs.map { try GrammarCompiler.compile($0).tokenTables(for: vocabulary).bytes }
        let budget = sizes[0] + sizes[1] + sizes[2] + sizes[3] / 2
        let cache = GrammarCache(capacity: 100, maxTableBytes: budget)
        for spec in specs { _ = try cache.compiled(spec).tokenTables(for: vocabulary) }
        #expect(sizes.reduce(0, +) > budget + sizes[5], "the grammars' tables together pass the budget")
        // Checked when a grammar is added, before its own tables are made.
        #expect(cache.tableBytes <= budget + sizes[5] && cache.count < 6)
        let small = GrammarCache(capacity: 3)
        for n in 1...5 { _ = try small.compiled(StructuredOutputSpec.regex("y{\(n)}")) }
        #expect(small.count == 3)
    }
}

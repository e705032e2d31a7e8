/// Every scanning node's tokens (see `GrammarMatcher.computeNodeTokens`) for one grammar on one
/// vocabulary: xgrammar's adaptive token mask cache. Made once per constraint when its first
/// request arrives — on the caller's thread, not the engine's — and only read afterwards, so a
/// position reached for the first time costs a union of lists plus a walk of the few tokens its
/// top nodes cannot decide, not a walk of the vocabulary.
public final class GrammarTokenTables: Sendable {
    let nodes: [NodeTokens?]
    /// Bytes held by the tables.
    public let bytes: Int

    init(_ grammar: CompiledGrammar, tokenizer: TokenizerInfo) {
        let walker = GrammarMatcher(grammar, tokenizer: tokenizer)
        nodes = (0..<Int32(grammar.nodeCount)).map { grammar.scans($0) ? walker.computeNodeTokens($0) : nil }
        bytes = nodes.reduce(0) { $0 + ($1?.bytes ?? 0) }
    }
}

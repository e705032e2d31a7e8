/// What a request constrains its output to (vLLM's `StructuredOutputsParams` kinds).
public enum StructuredOutputSpec: Hashable, Sendable {
    /// A JSON Schema, as JSON text.
    case jsonSchema(String)
    /// Any JSON object (`response_format` `{"type": "json_object"}`).
    case jsonObject
    /// A regular expression the whole output matches.
    case regex(String)
    /// Exactly one of these strings.
    case choice([String])
    /// EBNF (GBNF) or Lark grammar text.
    case grammar(String)
}

/// Constraints to automata. Compiling is pure and the result immutable, so it may run on any
/// thread and be shared by every request with the same constraint.
public enum GrammarCompiler {
    /// - Parameter anyWhitespace: JSON constraints allow whitespace between tokens (vLLM's
    ///   default; false is `disable_any_whitespace`: the compact `json.dumps` layout).
    public static func grammar(for spec: StructuredOutputSpec, anyWhitespace: Bool = true) throws(GrammarError) -> Grammar {
        switch spec {
        case let .jsonSchema(text):
            return try JSONSchemaConverter.convert(text, anyWhitespace: anyWhitespace)
        case .jsonObject:
            return JSONSchemaConverter.anyObject(anyWhitespace: anyWhitespace)
        case let .regex(pattern):
            var g = Grammar()
            g.root = g.addRule("root", try RegexConverter.convert(pattern))
            return g
        case let .choice(options):
            guard !options.isEmpty else { throw GrammarError("Choice '[]' cannot be an empty list") }
            var g = Grammar()
            g.root = g.addRule("root", .choice(options.map { .literal($0) }))
            return g
        case let .grammar(text):
            return try EBNFParser.parse(text)
        }
    }

    public static func compile(_ spec: StructuredOutputSpec, anyWhitespace: Bool = true) throws(GrammarError) -> CompiledGrammar {
        try CompiledGrammar(grammar(for: spec, anyWhitespace: anyWhitespace))
    }
}

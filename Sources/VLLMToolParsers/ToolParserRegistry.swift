/// The parsers by the names vLLM accepts for `--tool-call-parser`.
public enum ToolParserRegistry {
    /// Every parser, including aliases (`llama4_json` is `llama3_json`, as in vLLM).
    public static let parsers: [String: ToolParser] = [
        "granite": .granite,
        "hermes": .hermes,
        "llama3_json": .llama3JSON,
        "llama4_json": .llama3JSON,
        "mistral": .mistral,
        "openai": .openai,
        "pythonic": .pythonic,
    ]

    /// The accepted names, sorted.
    public static var names: [String] { parsers.keys.sorted() }

    /// The parser called `name`, or an error that lists the valid names.
    public static func make(name: String) throws(ToolParserError) -> ToolParser {
        guard let parser = parsers[name] else { throw .unknownParser(name, validNames: names) }
        return parser
    }
}

/// Why no parser could be made.
public enum ToolParserError: Error, Equatable, CustomStringConvertible, Sendable {
    case unknownParser(String, validNames: [String])

    public var description: String {
        switch self {
        case let .unknownParser(name, valid):
            "unknown tool call parser '\(name)'; valid names: \(valid.joined(separator: ", "))"
        }
    }
}

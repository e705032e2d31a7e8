import Synchronization

/// A request's output constraint as vLLM's `StructuredOutputsParams` spells it: exactly one of
/// `json` (a JSON Schema), `regex`, `choice`, `grammar` (EBNF or Lark) or `jsonObject`.
public struct StructuredOutputsParams: Sendable, Hashable, Codable {
    /// A JSON Schema as JSON text.
    public var json: String?
    public var regex: String?
    public var choice: [String]?
    public var grammar: String?
    public var jsonObject: Bool?
    /// JSON constraints in the compact `json.dumps` layout instead of allowing any whitespace.
    public var disableAnyWhitespace = false

    public init(json: String? = nil, regex: String? = nil, choice: [String]? = nil, grammar: String? = nil,
                jsonObject: Bool? = nil, disableAnyWhitespace: Bool = false) {
        self.json = json
        self.regex = regex
        self.choice = choice
        self.grammar = grammar
        self.jsonObject = jsonObject
        self.disableAnyWhitespace = disableAnyWhitespace
    }

    /// The constraint; throws when none or several are given.
    public func spec() throws(GrammarError) -> StructuredOutputSpec {
        var kinds: [StructuredOutputSpec] = []
        var names: [String] = []
        if let json { kinds.append(.jsonSchema(json)); names.append("json") }
        if let regex { kinds.append(.regex(regex)); names.append("regex") }
        if let choice { kinds.append(.choice(choice)); names.append("choice") }
        if let grammar { kinds.append(.grammar(grammar)); names.append("grammar") }
        if let jsonObject {
            guard jsonObject else { throw GrammarError("json_object must be true when given") }
            kinds.append(.jsonObject); names.append("json_object")
        }
        guard kinds.count == 1 else {
            throw GrammarError(kinds.isEmpty
                ? "No valid structured output parameter found: give one of json, regex, choice, grammar or json_object."
                : "You can only use one kind of structured outputs constraint but multiple are specified: \(names.joined(separator: ", ")).")
        }
        return kinds[0]
    }

    /// The compiled constraint (from `GrammarCache.shared`).
    public func compiled() throws(GrammarError) -> CompiledGrammar {
        try GrammarCache.shared.compiled(spec(), anyWhitespace: !disableAnyWhitespace)
    }
}

/// Compiled grammars by constraint, shared by every request and thread: a schema sent again
/// (every request of an application usually sends the same one) is compiled once. Failures are
/// not kept. Least recently used entries leave past `capacity` grammars, or when their token
/// tables (kept with each grammar) pass `maxTableBytes`.
public final class GrammarCache: Sendable {
    public static let shared = GrammarCache(capacity: 256)

    private struct Key: Hashable { let spec: StructuredOutputSpec; let anyWhitespace: Bool }
    private struct State {
        var entries: [Key: (grammar: CompiledGrammar, lastUse: Int)] = [:]
        var clock = 0
    }
    private let state = Mutex(State())
    let capacity: Int
    let maxTableBytes: Int

    init(capacity: Int, maxTableBytes: Int = 512 << 20) {
        self.capacity = capacity
        self.maxTableBytes = maxTableBytes
    }

    public func compiled(_ spec: StructuredOutputSpec, anyWhitespace: Bool = true) throws(GrammarError) -> CompiledGrammar {
        let key = Key(spec: spec, anyWhitespace: anyWhitespace)
        if let hit = state.withLock({ s -> CompiledGrammar? in
            guard let e = s.entries[key] else { return nil }
            s.clock += 1
            s.entries[key] = (e.grammar, s.clock)
            return e.grammar
        }) { return hit }
        // Compiled outside the lock: two threads may both compile a new key; one result is kept.
        let grammar = try GrammarCompiler.compile(spec, anyWhitespace: anyWhitespace)
        state.withLock { s in
            s.clock += 1
            s.entries[key] = (grammar, s.clock)
            var tableBytes = s.entries.values.reduce(0) { $0 + $1.grammar.tableBytes }
            while s.entries.count > 1 && (s.entries.count > capacity || tableBytes > maxTableBytes),
                  let oldest = s.entries.min(by: { $0.value.lastUse < $1.value.lastUse }) {
                tableBytes -= oldest.value.grammar.tableBytes
                s.entries[oldest.key] = nil
            }
        }
        return grammar
    }

    public var count: Int { state.withLock { $0.entries.count } }

    /// Bytes of the token tables the cached grammars hold.
    public var tableBytes: Int { state.withLock { $0.entries.values.reduce(0) { $0 + $1.grammar.tableBytes } } }
}

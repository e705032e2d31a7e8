/// The outputs of `tool_choice` "required" and of a named function, which structured outputs
/// force into one shape each (vLLM 0.11's): "required" generates a JSON array of
/// `{"name": …, "parameters": {…}}` objects, a named function generates its arguments object
/// alone. Neither is a `--tool-call-parser`; the chat endpoint picks one from the request.
extension ToolParser {
    /// `tool_choice: "required"`. Each element's `parameters` become the call's arguments,
    /// re-serialized as `json.dumps` writes them (vLLM's non-streamed form; its stream sends the
    /// model's own spacing, ours sends the same text as the whole response).
    public static let requiredCalls = ToolParser(name: "tool_choice=required", keepsText: false) { RequiredCallsMachine() }

    /// `tool_choice: {"type": "function", "function": {"name": name}}`: the whole output is the
    /// arguments of one call to `name`, as generated (vLLM passes it on unchanged).
    public static func namedCall(_ name: String) -> ToolParser {
        ToolParser(name: "tool_choice=\(name)", keepsText: false) { NamedCallMachine(name: name) }
    }
}

struct RequiredCallsMachine: ToolCallMachine {
    private var array: CallArrayReader?

    mutating func feed(_ c: Unicode.Scalar, _ ledger: inout CallLedger) {
        if array != nil {
            _ = array!.feed(c, &ledger)
        } else if c == "[" {
            array = CallArrayReader(raw: "", argumentsOptional: false, argumentKeys: ["parameters"])
        }
        // The constraint allows nothing but whitespace before the array.
    }

    mutating func finish(_ ledger: inout CallLedger) {
        array?.finish(&ledger)
    }
}

struct NamedCallMachine: ToolCallMachine {
    let name: String
    private var index: Int?
    private var arguments = ""

    init(name: String) { self.name = name }

    mutating func feed(_ c: Unicode.Scalar, _ ledger: inout CallLedger) {
        let i = index ?? ledger.open(name: name)
        index = i
        arguments.unicodeScalars.append(c)
        ledger.setArguments(i, to: arguments)
    }

    mutating func finish(_ ledger: inout CallLedger) {
        ledger.close(index ?? ledger.open(name: name), arguments: arguments)
    }
}

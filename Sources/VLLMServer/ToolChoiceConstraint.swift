import VLLM
import VLLMJinja

/// `tool_choice` "required" or a named function, served as vLLM 0.11 serves them: the output
/// is constrained by a JSON schema made from the offered tools, then read back into
/// `tool_calls` (`ToolParser.requiredCalls`, `.namedCall`).
///
/// - named: the schema is that tool's `parameters`, so the output is the arguments object.
/// - "required": an array (at least one item) of objects `{"name": <one tool's name>,
///   "parameters": <that tool's parameters>}`, one `anyOf` branch per tool; each tool's
///   `$defs` are lifted to the root, where its `#/$defs/…` references then resolve.
///
/// A tool without `parameters` gets arguments `{}` (vLLM's intent for "required"; for a named
/// tool vLLM leaves the output unconstrained, we constrain it the same way).
enum ToolChoiceConstraint {
    /// The constraint for a forced choice over the request's `tools` (nil when not given).
    static func structuredOutputs(_ choice: ToolChoice, tools: [Value]?) throws -> StructuredOutputsParams {
        guard let tools else { throw APIError.badRequest("When using `tool_choice`, `tools` must be set.", param: "tool_choice") }
        let functions = try tools.enumerated().map { try function($0.offset, $0.element) }
        let schema: Value
        switch choice {
        case let .function(name):
            guard let f = functions.first(where: { $0.name == name }) else {
                throw APIError.badRequest("The tool specified in `tool_choice` does not match any of the specified `tools`", param: "tool_choice")
            }
            schema = f.parameters
        default:
            var defs = Dict()
            var branches: [Value] = []
            for var f in functions {
                if case var .dict(p) = f.parameters, case let .dict(d)? = p["$defs"] {
                    for (key, value) in zip(d.keys, d.values) {
                        if let seen = defs[key], try text(seen) != text(value) {
                            throw APIError.badRequest("Tool definition '\(key.pyStr)' has multiple schemas, which is not supported.", param: "tools")
                        }
                        defs[key] = value
                    }
                    p["$defs"] = nil
                    f.parameters = .dict(p)
                }
                let name: Value = ["type": "string", "enum": [.string(f.name)]]
                let branch: Value = ["properties": ["name": name, "parameters": f.parameters], "required": ["name", "parameters"]]
                branches.append(branch)
            }
            let items: Value = ["type": "object", "anyOf": .list(branches)]
            var root = Dict([("type", "array"), ("minItems", 1), ("items", items)])
            if defs.count > 0 { root["$defs"] = .dict(defs) }
            schema = .dict(root)
        }
        let params = StructuredOutputsParams(json: try text(schema))
        do { _ = try params.compiled() } catch { throw APIError.badRequest(error.message, param: "tools") }
        return params
    }

    private struct Function {
        var name: String
        var parameters: Value
    }

    private static func function(_ index: Int, _ tool: Value) throws -> Function {
        guard case let .dict(t) = tool, case let .dict(f)? = t["function"], case let .string(name)? = f["name"] else {
            throw APIError.badRequest("tools[\(index)] must be {\"type\": \"function\", \"function\": {\"name\": …}}.", param: "tools")
        }
        // vLLM: missing, null or empty parameters generate an empty object.
        switch f["parameters"] {
        case nil, .some(.none): return Function(name: name, parameters: Self.emptyObject)
        case let .dict(d)? where d.count == 0: return Function(name: name, parameters: Self.emptyObject)
        case let p?: return Function(name: name, parameters: p)
        }
    }

    private static var emptyObject: Value { ["type": "object", "properties": [:], "additionalProperties": false] }

    private static func text(_ v: Value) throws -> String {
        do { return try v.jsonText() } catch { throw APIError.badRequest("tools holds a value that is not JSON.", param: "tools") }
    }
}

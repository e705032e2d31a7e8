import VLLM
import VLLMJinja

/// A request's output constraint, read from the body as vLLM 0.11 reads it: the
/// `structured_outputs` object; else the older `guided_json` / `guided_regex` / `guided_choice`
/// / `guided_grammar` fields; then `response_format` (`json_object`, or `json_schema` with its
/// `schema`) on top. Schemas are read from the body text, so their property order — which the
/// output follows — is the client's. The constraint is compiled here (once per distinct
/// constraint, cached), so a bad one is a 400 before anything is queued.
///
/// Chosen differently from vLLM 0.11, which ignores it there: `response_format` `json_schema`
/// also constrains `/v1/completions`.
public enum StructuredOutputFields {
    static func read(body: String) throws -> StructuredOutputsParams? {
        guard case let .dict(root)? = try? Value(json: body) else { return nil }
        var params: StructuredOutputsParams?
        var field = "structured_outputs"
        if let so = present(root["structured_outputs"]) {
            params = try structuredOutputs(so)
        } else {
            var p = StructuredOutputsParams()
            p.json = try schemaText(root["guided_json"], field: "guided_json")
            p.regex = try string(root["guided_regex"], field: "guided_regex")
            p.choice = try strings(root["guided_choice"], field: "guided_choice")
            p.grammar = try string(root["guided_grammar"], field: "guided_grammar")
            if p != StructuredOutputsParams() {
                params = p
                field = ["guided_json", "guided_regex", "guided_choice", "guided_grammar"].first { present(root[$0]) != nil }!
            }
        }
        if let format = present(root["response_format"]) {
            guard case let .dict(f) = format, case let .string(type)? = f["type"] else {
                throw APIError.badRequest("response_format must be an object with a 'type'.", param: "response_format")
            }
            switch type {
            case "text": break
            case "json_object":
                params = params ?? StructuredOutputsParams()
                params!.jsonObject = true
                field = "response_format"
            case "json_schema":
                guard case let .dict(js)? = f["json_schema"], let schema = present(js["schema"]) else {
                    throw APIError.badRequest("response_format of type 'json_schema' needs a 'json_schema' object with a 'schema'.", param: "response_format")
                }
                params = params ?? StructuredOutputsParams()
                params!.json = try schemaText(schema, field: "response_format.json_schema.schema")
                field = "response_format"
            case "structural_tag":
                throw APIError.badRequest("response_format type 'structural_tag' is not supported.", param: "response_format")
            default:
                throw APIError.badRequest("response_format type must be one of 'text', 'json_object', 'json_schema'; got '\(type.prefix(40))'.", param: "response_format")
            }
        }
        guard let params else { return nil }
        return try compiled(params, field: field)
    }

    /// The `structured_outputs` member of a JSON object's text, compiled (nil when absent):
    /// what `vllm generate --sampling-params` and `--prompts-file` lines take, as vLLM's
    /// `SamplingParams(structured_outputs=…)`. Throws the message a client would get.
    public static func read(samplingJSON text: String) throws(StructuredOutputsFieldError) -> StructuredOutputsParams? {
        guard case let .dict(root)? = try? Value(json: text), let so = present(root["structured_outputs"]) else { return nil }
        do {
            return try compiled(structuredOutputs(so), field: "structured_outputs")
        } catch let error as APIError {
            throw StructuredOutputsFieldError(description: "\(error.param ?? "structured_outputs"): \(error.message)")
        } catch {
            throw StructuredOutputsFieldError(description: "structured_outputs: \(error)")
        }
    }

    /// vLLM's `structured_outputs` object.
    private static func structuredOutputs(_ so: Value) throws -> StructuredOutputsParams {
        let field = "structured_outputs"
        guard case let .dict(d) = so else { throw APIError.badRequest("structured_outputs must be an object.", param: field) }
        var p = StructuredOutputsParams()
        p.json = try schemaText(d["json"], field: "structured_outputs.json")
        p.regex = try string(d["regex"], field: "structured_outputs.regex")
        p.choice = try strings(d["choice"], field: "structured_outputs.choice")
        p.grammar = try string(d["grammar"], field: "structured_outputs.grammar")
        p.jsonObject = try bool(d["json_object"], field: "structured_outputs.json_object")
        p.disableAnyWhitespace = try bool(d["disable_any_whitespace"], field: "structured_outputs.disable_any_whitespace") ?? false
        if present(d["structural_tag"]) != nil {
            throw APIError.badRequest("structural_tag constraints are not supported.", param: "structured_outputs.structural_tag")
        }
        if [p.json != nil, p.regex != nil, p.choice != nil].filter({ $0 }).count > 1 {
            throw APIError.badRequest("You can only use one kind of constraints for structured outputs ('json', 'regex' or 'choice').", param: field)
        }
        return p
    }

    /// `params` once its constraint compiles (cached), or a 400 naming `field`.
    private static func compiled(_ params: StructuredOutputsParams, field: String) throws -> StructuredOutputsParams {
        do { _ = try params.compiled() } catch { throw APIError.badRequest(error.message, param: field) }
        return params
    }

    /// nil for an absent key or a JSON null.
    private static func present(_ v: Value?) -> Value? {
        if case .none? = v { return nil }
        return v
    }

    private static func string(_ v: Value?, field: String) throws -> String? {
        guard let v = present(v) else { return nil }
        guard case let .string(s) = v else { throw APIError.badRequest("\(field) must be a string.", param: field) }
        return s
    }

    private static func strings(_ v: Value?, field: String) throws -> [String]? {
        guard let v = present(v) else { return nil }
        guard case let .list(items) = v else { throw APIError.badRequest("\(field) must be a list of strings.", param: field) }
        var out: [String] = []
        for item in items {
            guard case let .string(s) = item else { throw APIError.badRequest("\(field) must be a list of strings.", param: field) }
            out.append(s)
        }
        return out
    }

    private static func bool(_ v: Value?, field: String) throws -> Bool? {
        guard let v = present(v) else { return nil }
        guard case let .bool(b) = v else { throw APIError.badRequest("\(field) must be a boolean.", param: field) }
        return b
    }

    /// A schema given as an object (or boolean), or as its JSON text.
    private static func schemaText(_ v: Value?, field: String) throws -> String? {
        guard let v = present(v) else { return nil }
        switch v {
        case let .string(s): return s
        case .dict, .bool:
            do { return try v.jsonText() } catch { throw APIError.badRequest("\(field) is not a valid JSON schema.", param: field) }
        default: throw APIError.badRequest("\(field) must be a JSON schema (an object).", param: field)
        }
    }
}

/// A `structured_outputs` value outside a request (the command line's JSON) that cannot be used.
public struct StructuredOutputsFieldError: Error, CustomStringConvertible {
    public let description: String
}

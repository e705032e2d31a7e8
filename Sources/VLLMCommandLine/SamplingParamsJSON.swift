import ArgumentParser
import Foundation
import VLLM
import VLLMServer

/// `SamplingParams` from the command line's JSON: `--sampling-params` and `--prompts-file`
/// lines, with vLLM's snake_case keys, decoded by `SamplingParams`' own `Codable`, and
/// vLLM's `structured_outputs` object read as the server reads it.
public enum SamplingParamsJSON {
    /// `object` (parsed from `text`) laid over `base`, with `text`'s `structured_outputs`.
    public static func parameters(_ object: [String: Any], text: String, over base: SamplingParams, context: String) throws -> SamplingParams {
        var object = object
        object.removeValue(forKey: "structured_outputs")
        var p = try merge(object, over: base, context: context)
        p.structuredOutputs = base.structuredOutputs
        do {
            // Read from the text: the schema's property order is the order the output follows.
            if let so = try StructuredOutputFields.read(samplingJSON: text) { p.structuredOutputs = so }
        } catch {
            throw ValidationError("\(context): \(error.description)")
        }
        return p
    }

    /// `object`'s keys laid over `base` (keys it lacks keep `base`'s values). Unknown keys and
    /// values of the wrong type are errors naming the key.
    private static func merge(_ object: [String: Any], over base: SamplingParams, context: String) throws -> SamplingParams {
        if let unknown = object.keys.filter({ !SamplingParams.jsonKeys.contains($0) }).sorted().first {
            throw ValidationError("\(context): unknown sampling parameter \(unknown)")
        }
        let baseData = try JSONEncoder().encode(base)
        var merged = (try JSONSerialization.jsonObject(with: baseData) as? [String: Any]) ?? [:]
        for (k, v) in object { merged[k] = v }
        do {
            return try JSONDecoder().decode(SamplingParams.self, from: JSONSerialization.data(withJSONObject: merged))
        } catch let DecodingError.typeMismatch(_, c), let DecodingError.valueNotFound(_, c), let DecodingError.dataCorrupted(c) {
            let key = c.codingPath.first?.stringValue ?? "?"
            throw ValidationError("\(context): bad value for \(key): \(c.debugDescription)")
        } catch {
            throw ValidationError("\(context): \(error)")
        }
    }

    /// A JSON object from text, or an error saying what `context` should hold.
    public static func object(_ text: String, context: String) throws -> [String: Any] {
        guard let v = try? JSONSerialization.jsonObject(with: Data(text.utf8)), let o = v as? [String: Any] else {
            throw ValidationError("\(context) must be a JSON object")
        }
        return o
    }
}

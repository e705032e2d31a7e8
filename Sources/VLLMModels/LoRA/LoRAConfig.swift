import Foundation

/// The fields of a PEFT `adapter_config.json` (PEFT's `LoraConfig`) that decide how the weights
/// apply: ΔW = scale · B · A with scale = alpha / r, or alpha / √r with rsLoRA.
public struct LoRAConfig: Sendable, Equatable {
    public var rank: Int
    public var alpha: Double
    public var useRSLoRA: Bool
    /// The targets named by `target_modules`, resolved against a Llama layer.
    public var targets: Set<LoRATarget>
    public var baseModelName: String?

    /// Scale applied to B·A.
    public var scale: Double { useRSLoRA ? alpha / Double(rank).squareRoot() : alpha / Double(rank) }

    /// Parses `adapter_config.json` at `path` (in the adapter directory `dir`, for messages).
    public init(path: String, dir: String) throws(LoRAError) {
        // Real configs are a few KB; the cap keeps a hostile file from being read whole.
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size > 1 << 20 {
            throw .notAnAdapter(path: dir, reason: "adapter_config.json is \(size) bytes, more than the 1 MiB any real config takes")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .notAnAdapter(path: dir, reason: "adapter_config.json is missing or unreadable")
        }
        guard let json = try? JSONSerialization.jsonObject(with: data), let c = json as? [String: Any] else {
            throw .notAnAdapter(path: dir, reason: "adapter_config.json is not a JSON object")
        }
        if let type = c["peft_type"] as? String, type.uppercased() != "LORA" {
            throw .notAnAdapter(path: dir, reason: "peft_type is \(type.clippedForMessage()), not LORA")
        }
        guard let r = c["r"] as? Int, r > 0 else {
            throw .notAnAdapter(path: dir, reason: "adapter_config.json needs a positive integer r")
        }
        rank = r
        // PEFT's default lora_alpha is 8.
        guard let alpha = (c["lora_alpha"] ?? 8) as? Double, alpha.isFinite else {
            throw .notAnAdapter(path: dir, reason: "lora_alpha is not a number")
        }
        self.alpha = alpha
        useRSLoRA = c["use_rslora"] as? Bool ?? false
        baseModelName = c["base_model_name_or_path"] as? String

        if c["use_dora"] as? Bool == true { throw .unsupported(path: dir, reason: "this engine does not yet support DoRA (use_dora)") }
        if c["fan_in_fan_out"] as? Bool == true { throw .unsupported(path: dir, reason: "fan_in_fan_out weights are not supported") }
        if let bias = c["bias"] as? String, bias != "none" { throw .unsupported(path: dir, reason: "Adapter bias cannot be used without bias_enabled (bias \"\(bias.clippedForMessage())\"; adapters are served without biases)") }
        for key in ["rank_pattern", "alpha_pattern"] {
            if let p = c[key] as? [String: Any], !p.isEmpty { throw .unsupported(path: dir, reason: "per-module ranks or alphas (\(key)) are not supported") }
        }
        if let m = c["modules_to_save"] as? [Any], !m.isEmpty {
            throw .unsupported(path: dir, reason: "this engine only supports modules_to_save being None (it lists \(m.map { "\($0)" }.joined(separator: ", ").clippedForMessage()))")
        }
        targets = try Self.resolveTargets(c["target_modules"], dir: dir)
    }

    /// PEFT's matching rules: a list entry matches a module whose full name is the entry or ends
    /// with "." + entry; a string is a regular expression that must match a full module name;
    /// "all-linear" is every linear layer but the output head.
    static let maxTargetPatternBytes = 1024

    static func resolveTargets(_ value: Any?, dir: String) throws(LoRAError) -> Set<LoRATarget> {
        let names = LoRATarget.moduleNames.map { (LoRATarget.targets(module: $0)!, LoRATarget.moduleName($0, layer: 0)) }
        if let list = value as? [String] {
            var found = Set<LoRATarget>(), unknown: [String] = []
            for entry in list {
                let hits = names.filter { $0.1 == entry || $0.1.hasSuffix("." + entry) }.flatMap(\.0)
                if hits.isEmpty { unknown.append(entry) } else { found.formUnion(hits) }
            }
            guard unknown.isEmpty else { throw .unsupportedTargets(path: dir, modules: unknown.prefix(8).map { $0.clippedForMessage() }) }
            guard !found.isEmpty else { throw .notAnAdapter(path: dir, reason: "target_modules is empty") }
            return found
        }
        guard let s = value as? String else {
            throw .notAnAdapter(path: dir, reason: "target_modules must be a list of module names or a string")
        }
        if s == "all-linear" { return Set(LoRATarget.allCases) }
        // Module-name patterns are a line long; a huge one is corrupt, and parsing it (the regex
        // parser recurses on groups) must not run off the stack.
        guard s.utf8.count <= maxTargetPatternBytes else {
            throw .notAnAdapter(path: dir, reason: "target_modules pattern is \(s.utf8.count) bytes long (at most \(maxTargetPatternBytes) are accepted)")
        }
        guard let regex = try? Regex(s) else { throw .notAnAdapter(path: dir, reason: "target_modules \"\(s.clippedForMessage())\" is not a valid regular expression") }
        let found = Set(names.filter { (try? regex.wholeMatch(in: $0.1)) != nil }.flatMap(\.0))
        guard !found.isEmpty else { throw .unsupportedTargets(path: dir, modules: [s.clippedForMessage()]) }
        return found
    }
}

import VLLM

/// What a request's `model` field chose: the name its response reports, and the LoRA adapter
/// it runs with (nil: the base model).
struct ModelChoice: Sendable {
    let name: String
    let lora: LoRARequest?
}

extension ServerContext {
    /// Resolves a request's `model` field, as vLLM does: a served base name (or none at all)
    /// runs the base model and reports the first served name; an adapter's name runs that
    /// adapter and reports its name. `BASE:ADAPTER` (a served name, a colon, an adapter name)
    /// also picks the adapter. Anything else is vLLM's 404.
    func resolveModel(_ requested: String?) throws(APIError) -> ModelChoice {
        guard let requested, !requested.isEmpty, !modelNames.contains(requested) else {
            return ModelChoice(name: modelNames[0], lora: nil)
        }
        if let lora = loras.adapter(named: requested) ?? qualifiedAdapter(requested) {
            return ModelChoice(name: lora.loraName, lora: lora)
        }
        throw .notFound("The model `\(requested)` does not exist.", param: "model")
    }

    /// The adapter `BASE:ADAPTER` names. Names may hold colons themselves, so every served
    /// name that prefixes the text is tried rather than splitting at one colon.
    private func qualifiedAdapter(_ requested: String) -> LoRARequest? {
        for base in modelNames where requested.hasPrefix(base + ":") {
            if let lora = loras.adapter(named: String(requested.dropFirst(base.count + 1))) { return lora }
        }
        return nil
    }

    /// The model an adapter's `/v1/models` card names as its parent: the `base_model_name` its
    /// `--lora-modules` entry gave when that is a served name (vLLM ignores any other), else
    /// the first served name.
    func parent(of lora: LoRARequest) -> String {
        guard let base = lora.baseModelName, modelNames.contains(base) else { return modelNames[0] }
        return base
    }
}

import Synchronization
import VLLM

/// The LoRA adapters the server answers to by name (vLLM's `OpenAIServingModels.lora_requests`):
/// the `--lora-modules` ones, then those loaded through `/v1/load_lora_adapter`, in the order
/// they came.
///
/// This list, not the engine's, says which names exist: with `--max-cpu-loras` full the engine
/// may evict an idle adapter and reload it from its path on next use, and the name must keep
/// working meanwhile.
///
/// A name with a load or unload in flight is busy: a second operation on it is refused rather
/// than interleaved with the first, so two loads can never both claim one name.
final class LoRARegistry: Sendable {
    private struct State {
        var adapters: [LoRARequest]
        var busy: Set<String> = []
        var lastID: Int
    }

    private let state: Mutex<State>

    /// - Parameter modules: `--lora-modules` in flag order; the engine loaded the i-th at start
    ///   with id i + 1, so runtime loads take ids after them.
    init(modules: [LoRAModule]) {
        let loaded = modules.enumerated().map { i, m in
            LoRARequest(loraName: m.name, loraIntId: i + 1, loraPath: m.path, baseModelName: m.baseModelName)
        }
        state = Mutex(State(adapters: loaded, lastID: modules.count))
    }

    /// Every known adapter, oldest first.
    var adapters: [LoRARequest] { state.withLock { $0.adapters } }

    func adapter(named name: String) -> LoRARequest? {
        state.withLock { s in s.adapters.first { $0.loraName == name } }
    }

    /// Claims `name` for a load and gives it a fresh id; a known or busy name is refused.
    /// Every successful call must be followed by `finish`.
    func beginLoad(name: String, path: String) throws(APIError) -> LoRARequest {
        try state.withLock { (s: inout State) throws(APIError) -> LoRARequest in
            if s.adapters.contains(where: { $0.loraName == name }) {
                throw .invalidUserInput("The lora adapter '\(name)' has already been loaded.")
            }
            try Self.claim(name, in: &s)
            s.lastID += 1
            return LoRARequest(loraName: name, loraIntId: s.lastID, loraPath: path)
        }
    }

    /// Claims a known `name` for an unload; an unknown name is a 404, a busy one refused.
    /// Every successful call must be followed by `finish`.
    func beginUnload(name: String) throws(APIError) {
        try state.withLock { (s: inout State) throws(APIError) in
            guard s.adapters.contains(where: { $0.loraName == name }) else {
                throw .notFound("The lora adapter '\(name)' cannot be found.")
            }
            try Self.claim(name, in: &s)
        }
    }

    /// Ends the operation on `name`: a loaded adapter joins the list, an unloaded one leaves it,
    /// and a failed one changes nothing.
    func finish(_ name: String, loaded: LoRARequest? = nil, unloaded: Bool = false) {
        state.withLock { s in
            s.busy.remove(name)
            if let loaded { s.adapters.append(loaded) }
            if unloaded { s.adapters.removeAll { $0.loraName == name } }
        }
    }

    private static func claim(_ name: String, in s: inout State) throws(APIError) {
        guard s.busy.insert(name).inserted else {
            throw .conflict("Another load or unload of the lora adapter '\(name)' is in progress; try again when it has finished.")
        }
    }
}

import Foundation
import Hummingbird
import NIOCore
import VLLM

/// `POST /v1/load_lora_adapter`.
struct LoadLoRAAdapterRequest: Decodable {
    var loraName: String
    var loraPath: String

    enum CodingKeys: String, CodingKey {
        case loraName = "lora_name", loraPath = "lora_path"
    }
}

/// `POST /v1/unload_lora_adapter` (vLLM also accepts a `lora_int_id`, which it ignores).
struct UnloadLoRAAdapterRequest: Decodable {
    var loraName: String

    enum CodingKeys: String, CodingKey {
        case loraName = "lora_name"
    }
}

/// Loading and unloading LoRA adapters while the server runs. As in vLLM these routes exist
/// only when `VLLM_ALLOW_RUNTIME_LORA_UPDATING` is set, and live under `/v1` so `--api-key`
/// guards them. Requests in flight are never disturbed: the engine registers or drops an
/// adapter between steps, and refuses to drop one that unfinished requests use.
enum LoRAEndpoints {
    static func register(on v1: RouterGroup<BasicRequestContext>, _ ctx: ServerContext) {
        ctx.logger.warning("LoRA dynamic loading & unloading is enabled in the API server (VLLM_ALLOW_RUNTIME_LORA_UPDATING); use it only where every client is trusted.")
        v1.post("load_lora_adapter") { request, _ in
            await Routes.answer { try await load(ctx, try Routes.decode(LoadLoRAAdapterRequest.self, try await Routes.readBody(request, ctx))) }
        }
        v1.post("unload_lora_adapter") { request, _ in
            await Routes.answer { try await unload(ctx, try Routes.decode(UnloadLoRAAdapterRequest.self, try await Routes.readBody(request, ctx))) }
        }
    }

    static func load(_ ctx: ServerContext, _ request: LoadLoRAAdapterRequest) async throws -> Response {
        let name = request.loraName
        guard !name.isEmpty, !request.loraPath.isEmpty else {
            throw APIError.invalidUserInput("Both 'lora_name' and 'lora_path' must be provided.")
        }
        // A request naming a served model always gets the base model, so such an adapter could
        // never be used (vLLM accepts it silently).
        guard !ctx.modelNames.contains(name) else {
            throw APIError.invalidUserInput("'\(name)' is the name of a served base model; choose another lora_name.")
        }
        let path = try confined(request.loraPath, ctx)
        let lora = try ctx.loras.beginLoad(name: name, path: path)
        var loaded: LoRARequest?
        defer { ctx.loras.finish(name, loaded: loaded) }
        do {
            _ = try await ctx.engine.loadLoRAAdapter(lora)
        } catch LoRALoadError.duplicateName {
            // The engine still holds an adapter of this name that the server had unloaded: a
            // request that resolved the name just before its unload brought it back from its
            // path. Replace that copy (refused while a request still uses it).
            try await ctx.engine.unloadLoRAAdapter(name: name)
            _ = try await ctx.engine.loadLoRAAdapter(lora)
        }
        loaded = lora
        ctx.logger.info("Loaded new LoRA adapter: name \(LogText.quoted(name, limit: ctx.options.maxLogLen)), path \(LogText.quoted(request.loraPath, limit: ctx.options.maxLogLen))")
        return success("Success: LoRA adapter '\(name)' added successfully.")
    }

    /// With `--lora-path-root`, the adapter directory and the files read from it, symlinks
    /// followed, must lie inside the root; the resolved directory is what gets loaded.
    private static func confined(_ path: String, _ ctx: ServerContext) throws -> String {
        guard let root = ctx.options.loraPathRoot else { return path }
        func resolved(_ p: String) -> String { URL(fileURLWithPath: p).resolvingSymlinksInPath().standardizedFileURL.path }
        let top = resolved(root)
        func inside(_ p: String) -> Bool { p == top || p.hasPrefix(top == "/" ? "/" : top + "/") }
        let dir = resolved(path)
        let files = ["adapter_config.json", "adapter_model.safetensors"].map { resolved(dir + "/" + $0) }
        guard inside(dir), files.allSatisfy(inside) else {
            throw APIError.badRequest("lora_path \(LogText.quoted(path, limit: 200)) is outside --lora-path-root (symlinks are followed).", param: "lora_path")
        }
        return dir
    }

    static func unload(_ ctx: ServerContext, _ request: UnloadLoRAAdapterRequest) async throws -> Response {
        let name = request.loraName
        guard !name.isEmpty else {
            throw APIError.invalidUserInput("'lora_name' needs to be provided to unload a LoRA adapter.")
        }
        try ctx.loras.beginUnload(name: name)
        var unloaded = false
        defer { ctx.loras.finish(name, unloaded: unloaded) }
        do {
            try await ctx.engine.unloadLoRAAdapter(name: name)
        } catch LoRALoadError.notLoaded {
            // The engine had already evicted it to make room (`--max-cpu-loras`): nothing to free.
        }
        unloaded = true
        ctx.logger.info("Removed LoRA adapter: name \(LogText.quoted(name, limit: ctx.options.maxLogLen))")
        return success("Success: LoRA adapter '\(name)' removed successfully.")
    }

    /// vLLM answers these routes with a bare text body.
    private static func success(_ text: String) -> Response {
        Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}

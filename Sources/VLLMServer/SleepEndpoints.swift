import Hummingbird
import VLLM

/// vLLM's sleep-mode routes (`--enable-sleep-mode`): `POST /sleep?level=N`, `POST
/// /wake_up[?tags=weights&tags=kv_cache]`, `GET /is_sleeping`.
enum SleepEndpoints {
    static func register(on router: RouterGroup<BasicRequestContext>, _ ctx: ServerContext) {
        router.post("/sleep") { request, _ in
            await Routes.answer {
                let raw = request.uri.queryParameters.get("level") ?? "1"
                guard let level = Int(raw), level == 1 || level == 2 else {
                    throw APIError.badRequest("level must be 1 or 2, got \(raw)", param: "level")
                }
                try await ctx.engine.sleep(level: level)
                ctx.logger.notice("Sleeping (level \(level)): the KV cache's memory is released; requests get 503 until /wake_up")
                return Response(status: .ok)
            }
        }
        router.post("/wake_up") { request, _ in
            await Routes.answer {
                let names: [String] = request.uri.queryParameters.getAll("tags")
                let tags = try names.map { name in
                    guard let tag = AsyncLLM.SleepTag(rawValue: name) else {
                        throw APIError.badRequest("unknown wake-up tag \(name); known: weights, kv_cache", param: "tags")
                    }
                    return tag
                }
                ctx.engine.wakeUp(tags.isEmpty ? nil : tags)
                return Response(status: .ok)
            }
        }
        router.get("/is_sleeping") { _, _ in Routes.jsonResponse(.object([("is_sleeping", .bool(ctx.engine.isSleeping))])) }
    }
}

import Hummingbird

/// With `--api-key`, `/v1/*`, `/tokenize` and `/detokenize` need `Authorization: Bearer KEY`
/// (vLLM guards `/v1/*` only); `/health`, `/metrics`, `/version` stay open.
struct APIKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let expected: [UInt8]

    init(key: String) { expected = Array("Bearer \(key)".utf8) }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .options || matches(request.headers[.authorization]) else {
            return APIError.unauthorized.response
        }
        return try await next(request, context)
    }

    /// Compares in time independent of where the first difference is, so response timing
    /// does not reveal how much of a guessed key was right.
    private func matches(_ header: String?) -> Bool {
        guard let header else { return false }
        let given = Array(header.utf8)
        var diff = UInt8(given.count == expected.count ? 0 : 1)
        for i in 0..<expected.count { diff |= expected[i] ^ (i < given.count ? given[i] : 0) }
        return diff == 0
    }
}

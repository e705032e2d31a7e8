import Foundation
import HTTPTypes
import Hummingbird

/// What every request passes before routing: the `--root-path` prefix a proxy may leave on the
/// path comes off (vLLM serves its routes with and without it), and with
/// `--enable-request-id-headers` every response, errors included, carries `X-Request-Id`: the
/// request's own, or a new random one (vLLM's uuid4 hex).
struct FrontDoor<Inner: HTTPResponder>: HTTPResponder where Inner.Context == BasicRequestContext {
    let inner: Inner
    let rootPath: String?
    let requestIDHeaders: Bool

    func respond(to request: Request, context: BasicRequestContext) async throws -> Response {
        var routed = request
        if let root = rootPath, let path = request.head.path, let stripped = Self.strip(root, from: path) {
            var head = request.head
            head.path = stripped
            routed = Request(head: head, body: request.body)
        }
        guard requestIDHeaders else { return try await inner.respond(to: routed, context: context) }
        var response: Response
        do {
            response = try await inner.respond(to: routed, context: context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: routed, context: context)
        }
        let field = HTTPField.Name.requestID
        response.headers[field] = request.headers[field]
            ?? UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        return response
    }

    /// `path` without the `root` prefix, when it starts with it as whole path segments.
    static func strip(_ root: String, from path: String) -> String? {
        guard path.hasPrefix(root) else { return nil }
        let rest = path.dropFirst(root.count)
        if rest.isEmpty { return "/" }
        guard rest.first == "/" || rest.first == "?" else { return nil }
        return rest.first == "?" ? "/" + rest : String(rest)
    }
}

extension HTTPField.Name {
    static let requestID = HTTPField.Name("X-Request-Id")!
}

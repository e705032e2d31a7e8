import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization
@testable import VLLMHub

/// HTTPTypes' field name type (Hummingbird re-exports the collection, not the name).
typealias FieldName = HTTPFields.Element.Name

/// One file of a fake repo.
struct FakeFile: Sendable {
    var path: String
    var content: [UInt8]
    /// Served as the hub serves LFS files: a 302 to file storage, the blob named by its sha256.
    var lfs: Bool

    init(_ path: String, _ text: String) { self.init(path, bytes: Array(text.utf8), lfs: false) }

    init(_ path: String, bytes: [UInt8], lfs: Bool = true) {
        self.path = path
        content = bytes
        self.lfs = lfs
    }

    /// The hub's names: sha256 for LFS files, a 40-hex git hash otherwise (a stand-in here).
    var etag: String {
        var hasher = SHA256()
        hasher.update(content)
        let digest = hasher.finalizeHex()
        return lfs ? digest : String(digest.prefix(40))
    }
}

struct FakeRepo: Sendable {
    var id: String
    /// commit → files.
    var commits: [String: [FakeFile]]
    /// Branch or tag → commit.
    var refs: [String: String]
    /// A private repo: everything needs this bearer token.
    var token: String?
    /// Files need a token (the listing does not), as on the hub.
    var gated = false
    /// Replaces the listing's JSON, for hostile answers.
    var rawListing: String?
    /// Replaces a file's ETag header, for hostile answers.
    var etagOverride: [String: String] = [:]
}

/// A request as the fake hub saw it.
struct SeenRequest: Sendable {
    var server: String  // "hub" or "storage"
    var method: String
    var path: String
    var range: String?
    var authorization: String?
}

/// A stand-in for the hub on loopback: the listing API, `resolve` with the hub's headers and
/// a 302 for LFS files to a second server (file storage, another origin), Range requests,
/// 401/403/404 with X-Error-Code, and faults on demand (a cut connection, corrupt bytes).
final class FakeHub: Sendable {
    private struct State {
        var repos: [String: FakeRepo] = [:]
        var requests: [SeenRequest] = []
        /// File path → bytes after which its next full GET is cut.
        var cutOnce: [String: Int] = [:]
        /// Files served with a flipped first byte.
        var corrupt: Set<String> = []
        var storageOrigin = ""
        var endpoint = ""
    }

    private let state = Mutex(State())

    /// The hub's base URL, for HF_ENDPOINT.
    var endpoint: String { state.withLock { $0.endpoint } }
    var requests: [SeenRequest] { state.withLock { $0.requests } }
    func cutOnce(_ path: String, after bytes: Int) { state.withLock { $0.cutOnce[path] = bytes } }
    func corrupt(_ path: String) { state.withLock { _ = $0.corrupt.insert(path) } }
    func add(_ repo: FakeRepo) { state.withLock { $0.repos[repo.id] = repo } }

    /// Runs `body` with the hub and its storage server listening, then stops both.
    static func with<T>(_ repos: [FakeRepo], _ body: (FakeHub) async throws -> T) async throws -> T {
        let hub = FakeHub()
        for repo in repos { hub.add(repo) }
        let (hubTask, hubPort) = try await hub.serve("hub")
        let (storageTask, storagePort) = try await hub.serve("storage")
        hub.state.withLock {
            $0.endpoint = "http://127.0.0.1:\(hubPort)"
            $0.storageOrigin = "http://127.0.0.1:\(storagePort)"
        }
        func stop() async {
            hubTask.cancel()
            storageTask.cancel()
            _ = await (hubTask.result, storageTask.result)
        }
        do {
            let result = try await body(hub)
            await stop()
            return result
        } catch {
            await stop()
            throw error
        }
    }

    private func serve(_ name: String) async throws -> (Task<Void, any Error>, Int) {
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "fake-\(name)")
        logger.logLevel = .critical
        let app = Application(
            responder: CallbackResponder<BasicRequestContext> { request, _ in self.respond(request, server: name) },
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in portSink.yield(channel.localAddress?.port ?? 0) },
            logger: logger)
        let task = Task { try await app.run() }
        for await port in ports { return (task, port) }
        throw CancellationError()
    }

    private struct Cut: Error {}

    private func respond(_ request: Request, server: String) -> Response {
        let path = request.uri.path
        let seen = SeenRequest(
            server: server, method: request.method.rawValue, path: path,
            range: request.headers[.range], authorization: request.headers[.authorization])
        let state = self.state.withLock { state in
            state.requests.append(seen)
            return state
        }
        let parts = path.split(separator: "/").map { String($0).removingPercentEncoding ?? String($0) }
        if server == "storage" {
            return serveStorage(parts, request: request, state: state)
        }
        if parts.count == 6, parts[0] == "api", parts[1] == "models", parts[4] == "revision" {
            return listing(repoID: parts[2] + "/" + parts[3], revision: parts[5], seen: seen, state: state)
        }
        if parts.count >= 5, parts[2] == "resolve" {
            return resolve(repoID: parts[0] + "/" + parts[1], revision: parts[3], file: parts[4...].joined(separator: "/"),
                           request: request, seen: seen, state: state)
        }
        return Response(status: .notFound)
    }

    private func refusal(_ repo: FakeRepo?, seen: SeenRequest, forFile: Bool) -> Response? {
        guard let repo else { return error(.notFound, code: "RepoNotFound") }
        if let token = repo.token, seen.authorization != "Bearer \(token)" {
            return error(.unauthorized, code: "RepoNotFound")
        }
        if repo.gated, forFile, seen.authorization == nil { return error(.forbidden, code: "GatedRepo") }
        return nil
    }

    private func listing(repoID: String, revision: String, seen: SeenRequest, state: State) -> Response {
        let repo = state.repos[repoID]
        if let refused = refusal(repo, seen: seen, forFile: false) { return refused }
        if let raw = repo!.rawListing { return json(raw) }
        guard let commit = repo!.refs[revision] ?? (repo!.commits[revision] != nil ? revision : nil) else {
            return error(.notFound, code: "RevisionNotFound")
        }
        let document: [String: Any] = [
            "id": repoID, "sha": commit, "private": repo!.token != nil, "gated": repo!.gated ? "manual" : false,
            "siblings": repo!.commits[commit]!.map { ["rfilename": $0.path] },
        ]
        let data = try! JSONSerialization.data(withJSONObject: document)
        return json(String(decoding: data, as: UTF8.self))
    }

    private func resolve(repoID: String, revision: String, file: String, request: Request, seen: SeenRequest, state: State) -> Response {
        let repo = state.repos[repoID]
        if let refused = refusal(repo, seen: seen, forFile: true) { return refused }
        guard let commit = repo!.refs[revision] ?? (repo!.commits[revision] != nil ? revision : nil) else {
            return error(.notFound, code: "RevisionNotFound")
        }
        guard let entry = repo!.commits[commit]!.first(where: { $0.path == file }) else {
            return error(.notFound, code: "EntryNotFound")
        }
        var headers = HTTPFields()
        headers[FieldName("X-Repo-Commit")!] = commit
        let etag = repo!.etagOverride[file] ?? entry.etag
        if entry.lfs {
            headers[FieldName("X-Linked-Etag")!] = "\"\(etag)\""
            headers[FieldName("X-Linked-Size")!] = "\(entry.content.count)"
            headers[.eTag] = "\"pointer-\(etag.prefix(8))\""
            headers[.location] = "\(state.storageOrigin)/storage/\(repoID)/\(commit)/\(file)?signed=1"
            headers[.contentLength] = "0"
            return Response(status: .found, headers: headers)
        }
        headers[.eTag] = "W/\"\(etag)\""
        return content(entry, request: request, headers: headers, state: state)
    }

    private func serveStorage(_ parts: [String], request: Request, state: State) -> Response {
        guard parts.count >= 5, parts[0] == "storage",
              let files = state.repos[parts[1] + "/" + parts[2]]?.commits[parts[3]],
              let entry = files.first(where: { $0.path == parts[4...].joined(separator: "/") })
        else { return Response(status: .notFound) }
        var headers = HTTPFields()
        headers[.eTag] = "\"storage-etag\""
        return content(entry, request: request, headers: headers, state: state)
    }

    /// The file's bytes, honouring "Range: bytes=N-" and the faults asked for.
    private func content(_ entry: FakeFile, request: Request, headers: HTTPFields, state: State) -> Response {
        var headers = headers
        var bytes = entry.content
        if state.corrupt.contains(entry.path), !bytes.isEmpty { bytes[0] ^= 0xFF }
        var status = HTTPResponse.Status.ok
        var start = 0
        if let range = request.headers[.range], range.hasPrefix("bytes="), range.hasSuffix("-"),
           let from = Int(range.dropFirst(6).dropLast()) {
            guard from < bytes.count else {
                headers[.contentRange] = "bytes */\(bytes.count)"
                return Response(status: .rangeNotSatisfiable, headers: headers)
            }
            start = from
            status = .partialContent
            headers[.contentRange] = "bytes \(from)-\(bytes.count - 1)/\(bytes.count)"
        }
        let body = Array(bytes[start...])
        headers[.contentLength] = "\(body.count)"
        if request.method == .head { return Response(status: status, headers: headers) }
        if start == 0, let cut = self.state.withLock({ $0.cutOnce.removeValue(forKey: entry.path) }) {
            let first = Array(body.prefix(cut))
            return Response(status: status, headers: headers, body: ResponseBody(contentLength: body.count) { writer in
                try await writer.write(ByteBuffer(bytes: first))
                throw Cut()
            })
        }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    private func json(_ text: String) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    private func error(_ status: HTTPResponse.Status, code: String) -> Response {
        var headers = HTTPFields()
        headers[FieldName("X-Error-Code")!] = code
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: "{\"error\":\"\(code)\"}")))
    }
}

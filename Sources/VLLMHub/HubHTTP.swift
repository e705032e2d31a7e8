import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// HTTP to the hub on AsyncHTTPClient. Redirects are followed here, not by the client: the
/// hub's own headers (ETag, X-Linked-Etag, X-Repo-Commit) are on its 302 to the file storage,
/// and the token must not follow a redirect to another host.
struct HubHTTP {
    let client: HTTPClient
    let token: String?
    let endpoint: String

    /// A response, with the first hop's headers (the hub's) when redirects were followed.
    struct Response {
        let status: Int
        let url: String
        let hubHeaders: HTTPHeaders
        let headers: HTTPHeaders
        let body: HTTPClientResponse.Body
    }

    init(settings: HubSettings) {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        // No overall deadline (weights take long); a stalled connection fails after `read`.
        configuration.timeout = .init(connect: .seconds(15), read: .seconds(60))
        configuration.decompression = .disabled
        // Fail at once when the hub cannot be reached (offline machine, wrong HF_ENDPOINT)
        // rather than retrying until the connect timeout; transfers have their own resuming
        // retries (FileFetcher).
        configuration.connectionPool.retryConnectionEstablishment = false
        client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        token = settings.token
        endpoint = settings.endpoint
    }

    func shutdown() async { try? await client.shutdown() }

    /// Sends a request and follows up to 10 redirects: all of them for GET, only those that
    /// stay on the hub (relative Location, e.g. a renamed repo) for HEAD, whose answer is the
    /// hub's own metadata.
    func send(_ method: HTTPMethod, _ url: String, headers extra: [(String, String)] = []) async throws -> Response {
        var url = url
        var hubHeaders: HTTPHeaders?
        for _ in 0...10 {
            var request = HTTPClientRequest(url: url)
            request.method = method
            request.headers.add(name: "User-Agent", value: "swift-vllm")
            request.headers.add(name: "Accept-Encoding", value: "identity")
            if let token, Self.origin(url) == Self.origin(endpoint) {
                request.headers.add(name: "Authorization", value: "Bearer \(token)")
            }
            for (name, value) in extra { request.headers.add(name: name, value: value) }
            let response = try await client.execute(request, deadline: .distantFuture)
            let status = Int(response.status.code)
            if hubHeaders == nil { hubHeaders = response.headers }
            let location = response.headers.first(name: "Location")
            if [301, 302, 303, 307, 308].contains(status), let location,
               method == .GET || location.hasPrefix("/") {
                _ = try? await response.body.collect(upTo: 1 << 20)
                url = Self.resolve(location, against: url)
                continue
            }
            return Response(status: status, url: url, hubHeaders: hubHeaders!, headers: response.headers, body: response.body)
        }
        throw HubHTTPError.tooManyRedirects(url)
    }

    /// The whole body of a small document (API answers); a larger one is refused, not buffered.
    static func collect(_ response: Response, maxBytes: Int) async throws -> [UInt8] {
        do {
            var buffer = try await response.body.collect(upTo: maxBytes)
            return buffer.readBytes(length: buffer.readableBytes) ?? []
        } catch is NIOTooManyBytesError {
            throw HubHTTPError.tooLarge(response.url, maxBytes)
        }
    }

    /// "scheme://host:port" of a URL, to tell whether a redirect leaves the hub.
    static func origin(_ url: String) -> Substring {
        guard let schemeEnd = url.range(of: "://") else { return url[...] }
        let rest = url[schemeEnd.upperBound...]
        return url[..<(rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? url.endIndex)]
    }

    static func resolve(_ location: String, against url: String) -> String {
        if location.contains("://") { return location }
        if location.hasPrefix("//") { return String(url[..<url.range(of: "//")!.lowerBound]) + location }
        if location.hasPrefix("/") { return origin(url) + location }
        let directory = url[..<(url.lastIndex(of: "/") ?? url.endIndex)]
        return directory + "/" + location
    }

    /// Percent-encoding of one URL path segment, or of a path keeping its '/' separators.
    static func percentEncoded(_ s: String, keepingSlashes: Bool) -> String {
        var out = ""
        for byte in s.utf8 {
            let c = Character(Unicode.Scalar(byte))
            if byte < 0x80, c.isLetter || c.isNumber || "-._~".contains(c) || (keepingSlashes && c == "/") {
                out.append(c)
            } else {
                let hex = Array("0123456789ABCDEF")
                out += "%" + String(hex[Int(byte >> 4)]) + String(hex[Int(byte & 0xF)])
            }
        }
        return out
    }
}

enum HubHTTPError: Error, CustomStringConvertible {
    case tooManyRedirects(String)
    case tooLarge(String, Int)
    /// Retried: the next attempt resumes where this one stopped.
    case endedEarly(String, Int, Int)
    /// Retried from the start.
    case rangeRefused(String)

    var description: String {
        switch self {
        case .endedEarly(let file, let got, let size): return "the connection ended after \(got) of \(size) bytes of \(file)"
        case .rangeRefused(let file): return "the server refused to resume \(file)"
        case .tooManyRedirects(let url): return "more than 10 redirects from \(url)"
        case .tooLarge(let url, let max): return "the answer from \(url) is larger than \(max) bytes"
        }
    }
}

import Foundation
import NIOHTTP1

/// The two hub calls a download makes, with every answer checked before any of it names a path
/// on disk: a repo's file list at a revision, and one file's metadata.
struct HubAPI {
    let http: HubHTTP
    let repo: RepoID
    /// Bound on the JSON of a repo listing (big repos list thousands of files, still far below).
    var maxListingBytes = 16 << 20

    struct Listing {
        /// The commit the revision points to.
        let commit: String
        let files: [String]
    }

    /// Where a file's bytes are and what the cache calls them.
    struct FileMetadata {
        /// The blob's name: the sha256 of the content for LFS files, the git blob hash otherwise.
        let etag: String
        let size: Int?
    }

    private struct ListingDocument: Decodable {
        struct Sibling: Decodable { let rfilename: String }
        let sha: String?
        let siblings: [Sibling]?
    }

    /// GET {endpoint}/api/models/{repo}/revision/{revision}.
    func listing(revision: String) async throws -> Listing {
        let url = http.endpoint + "/api/models/" + repo.id + "/revision/"
            + HubHTTP.percentEncoded(revision, keepingSlashes: false)
        let response = try await http.send(.GET, url)
        guard response.status == 200 else { throw failure(response, revision: revision) }
        let body = try await HubHTTP.collect(response, maxBytes: maxListingBytes)
        guard let document = try? JSONDecoder().decode(ListingDocument.self, from: Data(body)),
              let commit = document.sha, let siblings = document.siblings
        else { throw HubError.untrustedResponse(repo: repo.id, detail: "the listing at \(url) has no sha or siblings") }
        guard Revision.isCommitHash(commit) else {
            throw HubError.untrustedResponse(repo: repo.id, detail: "'\(commit.prefix(80))' is not a commit hash")
        }
        let files = siblings.map(\.rfilename)
        for file in files {
            if let problem = RelativePath.problem(file) {
                throw HubError.untrustedResponse(repo: repo.id, detail: "file name '\(file.prefix(200))' is \(problem)")
            }
        }
        return Listing(commit: commit, files: files)
    }

    func fileURL(commit: String, file: String) -> String {
        http.endpoint + "/" + repo.id + "/resolve/" + commit + "/" + HubHTTP.percentEncoded(file, keepingSlashes: true)
    }

    /// HEAD {endpoint}/{repo}/resolve/{commit}/{file}: the hub answers a 302 to its file storage
    /// for LFS files, with the hash in X-Linked-Etag, or a 200 with the ETag for small files.
    func metadata(commit: String, file: String) async throws -> FileMetadata {
        let response = try await http.send(.HEAD, fileURL(commit: commit, file: file))
        guard response.status == 200 || (300..<400).contains(response.status) else {
            throw failure(response, revision: commit)
        }
        let headers = response.hubHeaders
        guard let raw = headers.first(name: "X-Linked-Etag") ?? headers.first(name: "ETag") else {
            throw HubError.untrustedResponse(repo: repo.id, detail: "no ETag for \(file)")
        }
        let etag = Self.normalizedETag(raw)
        guard !etag.isEmpty, etag.utf8.count <= 128,
              etag.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == "_") })
        else { throw HubError.untrustedResponse(repo: repo.id, detail: "ETag '\(raw.prefix(80))' of \(file) cannot name a blob") }
        if let served = headers.first(name: "X-Repo-Commit"), served != commit {
            throw HubError.untrustedResponse(repo: repo.id, detail: "\(file) was served from commit \(served.prefix(80)), not \(commit)")
        }
        let size = (headers.first(name: "X-Linked-Size") ?? headers.first(name: "Content-Length")).flatMap { Int($0) }
        return FileMetadata(etag: etag, size: size)
    }

    /// `W/"abc"` and `"abc"` are both `abc`.
    static func normalizedETag(_ raw: String) -> String {
        var s = Substring(raw.trimmingBlanks())
        if s.hasPrefix("W/") { s = s.dropFirst(2) }
        return String(s.filter { $0 != "\"" })
    }

    /// The one-line error for a refused request, from its status and the hub's X-Error-Code.
    func failure(_ response: HubHTTP.Response, revision: String) -> HubError {
        let code = response.headers.first(name: "X-Error-Code") ?? response.hubHeaders.first(name: "X-Error-Code")
        switch (response.status, code) {
        case (_, "GatedRepo"): return .gated(repo: repo.id, endpoint: http.endpoint)
        case (404, "RevisionNotFound"): return .revisionNotFound(repo: repo.id, revision: revision, endpoint: http.endpoint)
        case (404, "EntryNotFound"): return .httpStatus(404, url: response.url)
        case (404, _): return .repoNotFound(repo: repo.id, endpoint: http.endpoint)
        case (401, _), (403, _): return .unauthorized(repo: repo.id, endpoint: http.endpoint, hadToken: http.token != nil)
        default: return .httpStatus(response.status, url: response.url)
        }
    }
}

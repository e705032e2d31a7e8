import NIOCore
import VLLMCompute

/// Brings one file of one commit into the cache: blob (resumed, checked, renamed into place
/// under the blob's lock) and snapshot link.
struct FileFetcher {
    let api: HubAPI
    let cache: HubCache
    let commit: String
    let attempts: Int
    let retryDelay: Duration

    var repo: RepoID { api.repo }

    func isPresent(_ file: String) -> Bool {
        FileSystem.kind(cache.snapshotFolder(repo, commit: commit) + "/" + file) == .file
    }

    /// `progress` is told every change in the number of bytes held (negative when a download
    /// restarts), including a whole blob found already in the cache.
    func fetch(_ file: String, metadata known: HubAPI.FileMetadata? = nil, progress: (Int) -> Void = { _ in }) async throws {
        if isPresent(file) { return }
        let metadata: HubAPI.FileMetadata
        if let known { metadata = known } else { metadata = try await api.metadata(commit: commit, file: file) }
        let blob = cache.blobPath(repo, etag: metadata.etag)
        if FileSystem.kind(blob) == .file {
            progress(metadata.size ?? 0)
        } else {
            let lock = try await FileLock.acquire(cache.lockPath(repo, etag: metadata.etag)) {
                logInfo("Waiting for another process downloading \(file) of \(repo)")
            }
            defer { lock.release() }
            // The other holder may have finished it while we waited.
            if FileSystem.kind(blob) == .file {
                progress(metadata.size ?? 0)
            } else {
                try FileSystem.makeDirectories(FileSystem.parentDirectory(blob))
                try await transfer(file, metadata, into: blob, progress: progress)
            }
        }
        try cache.link(repo, commit: commit, file: file, etag: metadata.etag)
    }

    /// Downloads into `<blob>.incomplete`, resuming after a broken connection up to `attempts`
    /// times, checks size and (LFS files, named by it) sha256, then renames it to `blob`.
    private func transfer(_ file: String, _ metadata: HubAPI.FileMetadata, into blob: String, progress: (Int) -> Void) async throws {
        let hashed = metadata.etag.utf8.count == 64 && metadata.etag.allSatisfy(\.isHexDigit)
        let partial = try IncompleteBlob(path: blob + ".incomplete", hashing: hashed)
        if let size = metadata.size, partial.length > size { try partial.restart() }
        progress(partial.length)
        for attempt in 1... {
            do {
                try await receive(file, metadata, into: partial, progress: progress)
                if let size = metadata.size, partial.length < size {
                    throw HubHTTPError.endedEarly(file, partial.length, size)
                }
                break
            } catch let error as HubError {
                throw error
            } catch {
                guard attempt < attempts, !Task.isCancelled else { throw error }
                try await Task.sleep(for: retryDelay)
            }
        }
        let digest = try partial.finish()
        if let size = metadata.size, partial.length != size {
            FileSystem.remove(partial.path)
            throw HubError.integrity(repo: repo.id, file: file, detail: "\(partial.length) bytes received, \(size) expected")
        }
        if let digest, digest != metadata.etag.lowercased() {
            // A partial file that hashes wrong is useless for resuming: start afresh next time.
            FileSystem.remove(partial.path)
            throw HubError.integrity(repo: repo.id, file: file, detail: "sha256 \(digest) differs from the hub's \(metadata.etag)")
        }
        try FileSystem.move(partial.path, to: blob)
    }

    /// One GET of the file, from where `partial` ends.
    private func receive(_ file: String, _ metadata: HubAPI.FileMetadata, into partial: IncompleteBlob, progress: (Int) -> Void) async throws {
        let resumeFrom = partial.length
        let range = resumeFrom > 0 ? [("Range", "bytes=\(resumeFrom)-")] : []
        let response = try await api.http.send(.GET, api.fileURL(commit: commit, file: file), headers: range)
        switch response.status {
        case 206 where resumeFrom > 0:
            guard let contentRange = response.headers.first(name: "Content-Range"),
                  Self.rangeStart(contentRange) == resumeFrom
            else { throw HubError.untrustedResponse(repo: repo.id, detail: "a resumed download of \(file) did not start at byte \(resumeFrom)") }
        case 200:
            if resumeFrom > 0 { try partial.restart(); progress(-resumeFrom) }
        case 416:
            // What is on disk does not fit the file (it changed): start again from nothing.
            try partial.restart()
            progress(-resumeFrom)
            throw HubHTTPError.rangeRefused(file)
        default:
            throw api.failure(response, revision: commit)
        }
        for try await chunk in response.body {
            try chunk.withUnsafeReadableBytes { try partial.append($0) }
            progress(chunk.readableBytes)
            if let size = metadata.size, partial.length > size {
                FileSystem.remove(partial.path)
                throw HubError.integrity(repo: repo.id, file: file, detail: "more than the \(size) bytes announced")
            }
        }
    }

    /// The first byte of "bytes START-END/TOTAL".
    static func rangeStart(_ contentRange: String) -> Int? {
        guard contentRange.hasPrefix("bytes "), let dash = contentRange.firstIndex(of: "-") else { return nil }
        return Int(contentRange[contentRange.index(contentRange.startIndex, offsetBy: 6)..<dash])
    }
}

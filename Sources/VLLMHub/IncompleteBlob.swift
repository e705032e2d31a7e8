#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A blob being downloaded, `blobs/<etag>.incomplete`: what an earlier, interrupted download
/// left is kept and extended (the hub serves Range requests), and the content is hashed as it
/// grows so the check at the end needs no second read. Only one holder at a time: the caller
/// holds the blob's lock.
final class IncompleteBlob {
    let path: String
    private let fd: Int32
    private(set) var length: Int
    private var hasher: SHA256?
    private let hashing: Bool

    init(path: String, hashing: Bool) throws(HubError) {
        self.path = path
        self.hashing = hashing
        fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileSystem.error(path, "open") }
        length = 0
        hasher = hashing ? SHA256() : nil
        // Hash what an earlier download left; the resumed bytes are hashed as they arrive.
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(length)) }
            if n < 0 { if errno == EINTR { continue }; throw FileSystem.error(path, "read") }
            if n == 0 { break }
            chunk.withUnsafeBytes { hasher?.update(UnsafeRawBufferPointer(rebasing: $0[..<n])) }
            length += n
        }
    }

    deinit { close(fd) }

    /// Drops everything written (the server ignored the Range, or the partial data is unusable).
    func restart() throws(HubError) {
        guard ftruncate(fd, 0) == 0 else { throw FileSystem.error(path, "truncate") }
        length = 0
        hasher = hashing ? SHA256() : nil
    }

    func append(_ bytes: UnsafeRawBufferPointer) throws(HubError) {
        try FileSystem.writeAll(fd, bytes, path: path)
        hasher?.update(bytes)
        length += bytes.count
    }

    /// Flushes to disk; returns the content's sha256 when hashing.
    func finish() throws(HubError) -> String? {
        guard fsync(fd) == 0 else { throw FileSystem.error(path, "fsync") }
        return hasher?.finalizeHex()
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive flock(2) on a lock file, the same kind huggingface_hub takes on
/// `.locks/models--ORG--NAME/<etag>.lock`, so this package and Python never write one blob at
/// the same time. Polled rather than blocking so a waiting download does not hold a thread.
/// Group-writable like Python's, so users sharing a cache can wait on each other's locks.
final class FileLock {
    private var fd: Int32

    private init(fd: Int32) { self.fd = fd }

    deinit { release() }

    /// Closing the descriptor releases the lock.
    func release() {
        if fd >= 0 { close(fd) }
        fd = -1
    }

    static func acquire(_ path: String, waiting: () -> Void = {}) async throws(HubError) -> FileLock {
        try FileSystem.makeDirectories(FileSystem.parentDirectory(path))
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o664)
        guard fd >= 0 else { throw FileSystem.error(path, "open lock") }
        var toldWaiting = false
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                let error = FileSystem.error(path, "flock")
                close(fd)
                throw error
            }
            if !toldWaiting { waiting(); toldWaiting = true }
            do { try await Task.sleep(for: .milliseconds(100)) } catch { close(fd); throw .filesystem(path: path, detail: "cancelled while waiting for the lock") }
        }
        return FileLock(fd: fd)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The few POSIX file operations the cache needs, each failing with one `HubError.filesystem`
/// line that names the path and the system's reason. POSIX directly (not FileManager) for exact
/// control over symlinks, renames and modes.
enum FileSystem {
    enum Kind { case missing, file, directory, other }

    /// What `path` is, following symlinks (a dangling symlink is `.missing`).
    static func kind(_ path: String) -> Kind {
        var st = stat()
        guard stat(path, &st) == 0 else { return .missing }
        switch st.st_mode & S_IFMT {
        case S_IFREG: return .file
        case S_IFDIR: return .directory
        default: return .other
        }
    }

    /// Size of a regular file (following symlinks), or nil.
    static func fileSize(_ path: String) -> Int? {
        var st = stat()
        guard stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return nil }
        return Int(st.st_size)
    }

    static func error(_ path: String, _ what: String) -> HubError {
        .filesystem(path: path, detail: "\(what): \(String(cString: strerror(errno)))")
    }

    /// `mkdir -p`.
    static func makeDirectories(_ path: String) throws(HubError) {
        if kind(path) == .directory { return }
        let parent = parentDirectory(path)
        if parent != path, !parent.isEmpty { try makeDirectories(parent) }
        if mkdir(path, 0o755) != 0, errno != EEXIST { throw error(path, "mkdir") }
    }

    static func parentDirectory(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// A whole file, refusing one larger than `maxBytes` (hub documents are bounded).
    static func readFile(_ path: String, maxBytes: Int) throws(HubError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw error(path, "open") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; throw error(path, "read") }
            if n == 0 { return bytes }
            bytes += chunk[0..<n]
            if bytes.count > maxBytes { throw .filesystem(path: path, detail: "larger than \(maxBytes) bytes") }
        }
    }

    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(HubError) {
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 { if errno == EINTR { continue }; throw error(path, "write") }
            offset += n
        }
    }

    /// Readers never see a half-written file: the text goes to a unique temporary name in the
    /// same folder, then is renamed over `path`.
    static func writeFileAtomically(_ text: String, to path: String) throws(HubError) {
        let temporary = path + ".\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw error(temporary, "create") }
        do throws(HubError) {
            var failure: HubError?
            Array(text.utf8).withUnsafeBytes { bytes in
                do throws(HubError) { try writeAll(fd, bytes, path: temporary) } catch { failure = error }
            }
            if let failure { throw failure }
            close(fd)
            try move(temporary, to: path)
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
    }

    /// rename(2): atomic within one file system, which the cache's folders share.
    static func move(_ from: String, to: String) throws(HubError) {
        if rename(from, to) != 0 { throw error(to, "rename from \(from)") }
    }

    /// Points `path` at `target` (kept relative as given), replacing whatever link was there in one
    /// step: made under a temporary name, then renamed over.
    static func replaceSymlink(at path: String, pointingTo target: String) throws(HubError) {
        let temporary = path + ".\(getpid()).\(UInt32.random(in: 0...UInt32.max)).link"
        guard symlink(target, temporary) == 0 else { throw error(temporary, "symlink") }
        do { try move(temporary, to: path) } catch { unlink(temporary); throw error }
    }

    static func remove(_ path: String) { unlink(path) }

    static func listDirectory(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading a model directory's small files with a size cap: they are untrusted, and a
/// "tokenizer_config.json" of gigabytes must be refused before it is read, not after.
enum TokenizerFiles {
    static let tokenizerJSONLimit = 64 << 20
    static let configLimit = 16 << 20
    static let templateLimit = 4 << 20
    static let maxAdditionalTemplates = 64

    /// The whole file, or nil when it does not exist.
    static func read(_ path: String, limit: Int) throws(TokenizerError) -> [UInt8]? {
        let fd = open(path, O_RDONLY)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw .unreadableFile(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .unreadableFile(path: path, reason: String(cString: strerror(errno))) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw .unreadableFile(path: path, reason: "not a regular file") }
        guard Int(st.st_size) <= limit else {
            throw .unreadableFile(path: path, reason: "\(st.st_size) bytes is over the \(limit >> 20) MiB limit")
        }
        // Read to the end rather than trusting the size: the file may change underneath.
        var out: [UInt8] = []
        out.reserveCapacity(Int(st.st_size))
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .unreadableFile(path: path, reason: String(cString: strerror(errno)))
            }
            if n == 0 { break }
            out += buf[..<n]
            guard out.count <= limit else { throw .unreadableFile(path: path, reason: "grew over the \(limit >> 20) MiB limit") }
        }
        return out
    }

    /// A text file as a string, or nil when it does not exist; invalid UTF-8 is an error.
    static func readText(_ path: String, limit: Int) throws(TokenizerError) -> String? {
        guard let b = try read(path, limit: limit) else { return nil }
        guard let s = String(validating: b, as: UTF8.self) else { throw .unreadableFile(path: path, reason: "not valid UTF-8") }
        return s
    }

    /// Names of the regular entries of `dir` ending in `suffix`, sorted; empty when `dir` does
    /// not exist.
    static func list(_ dir: String, suffix: String) -> [String] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name.hasSuffix(suffix), name != suffix, !name.hasPrefix(".") { names.append(name) }
        }
        return names.sorted()
    }
}

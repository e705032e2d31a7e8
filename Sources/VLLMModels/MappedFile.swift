#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory map of a whole file. Weights are used in place, never copied.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let base: UnsafeRawPointer
    public let count: Int
    private let owned: Bool
    /// An anonymous mapping (`init(zeroedFrom:of:)`): unmapped, not freed, at the end.
    private let anonymous: Bool

    public init(path: String) throws(ModelLoadError) {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw .cannotOpen(path: path, reason: "not a regular file") }
        count = Int(st.st_size)
        guard count > 0 else { throw .corrupt(path: path, reason: "file is empty") }
        guard let p = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw .cannotOpen(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(p)
        owned = false
        anonymous = false
    }

    /// An in-memory copy of `bytes` that reads like a mapped file (tests, generated models).
    public init(copying bytes: [UInt8], path: String = "<memory>") {
        self.path = path
        count = bytes.count
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 64)
        let n = count
        bytes.withUnsafeBytes { if n > 0 { p.copyMemory(from: $0.baseAddress!, byteCount: n) } }
        base = UnsafeRawPointer(p)
        owned = true
        anonymous = false
    }

    /// A copy of `file` whose bytes from `offset` on are zero: an anonymous mapping (the zero
    /// pages cost nothing until written) with the first `offset` bytes copied in.
    public init(zeroedFrom offset: Int, of file: MappedFile) throws(ModelLoadError) {
        path = file.path
        count = file.count
        guard let p = mmap(nil, count, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED else {
            throw .cannotOpen(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        p.copyMemory(from: file.base, byteCount: min(offset, count))
        mprotect(p, count, PROT_READ)
        base = UnsafeRawPointer(p)
        owned = false
        anonymous = true
    }

    /// Drops this process's resident pages that lie wholly inside `byteCount` bytes at `start` (a
    /// later read maps them in from the file again): for data the process has copied elsewhere,
    /// such as weights repacked at load, so they do not count twice. Nothing for in-memory copies.
    public func releasePages(_ start: UnsafeRawPointer, byteCount: Int) {
        guard !owned, !anonymous, start >= base, start + byteCount <= base + count else { return }
        dropWholePages(start, byteCount: byteCount)
    }

    deinit {
        if owned { UnsafeMutableRawPointer(mutating: base).deallocate() }
        else { munmap(UnsafeMutableRawPointer(mutating: base), count) }
    }
}

/// `madvise(MADV_DONTNEED)` on the pages wholly inside `byteCount` bytes at `start`: a file
/// mapping reads them from the file again, anonymous memory as zeros.
func dropWholePages(_ start: UnsafeRawPointer, byteCount: Int) {
    let page = Int(sysconf(Int32(_SC_PAGESIZE)))
    let lo = (Int(bitPattern: start) + page - 1) / page * page
    let hi = (Int(bitPattern: start) + byteCount) / page * page
    if hi > lo { madvise(UnsafeMutableRawPointer(bitPattern: lo), hi - lo, Int32(MADV_DONTNEED)) }
}

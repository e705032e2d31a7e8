/// Checks for paths that come from outside (file names listed by the hub, shard names in an
/// index, branch names): each becomes a path under the cache, so anything that could climb out
/// of it or confuse a file system is refused rather than cleaned up.
enum RelativePath {
    /// Why `path` is not a safe relative path, or nil if it is.
    static func problem(_ path: String, maxBytes: Int = 1024) -> String? {
        guard !path.isEmpty, path.utf8.count <= maxBytes else { return "empty or longer than \(maxBytes) bytes" }
        if path.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F || $0 == UInt8(ascii: "\\") }) {
            return "control characters or '\\'"
        }
        if path.hasPrefix("/") { return "an absolute path" }
        for part in path.split(separator: "/", omittingEmptySubsequences: false) {
            if part.isEmpty || part == "." || part == ".." { return "an empty, '.' or '..' path component" }
        }
        return nil
    }
}

/// Revisions: a branch or tag name (looked up in refs/), or a full commit hash (a snapshot
/// folder's name).
enum Revision {
    static let defaultName = "main"

    static func validate(_ revision: String) throws(HubError) {
        if let reason = RelativePath.problem(revision, maxBytes: 255) {
            throw .invalidRevision(revision, reason: reason)
        }
    }

    /// A full commit hash, as huggingface_hub recognizes one: 40 lowercase hex digits.
    static func isCommitHash(_ s: some StringProtocol) -> Bool {
        s.utf8.count == 40 && s.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }
}

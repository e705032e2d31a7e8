/// A model repository id, `NAME` or `ORG/NAME`, checked with huggingface_hub's rules (ASCII
/// only: the id becomes a directory name and part of URLs, so nothing else is let through).
public struct RepoID: Hashable, Sendable, CustomStringConvertible {
    public let id: String

    public init(_ id: String) throws(HubError) {
        if let reason = Self.problem(id) { throw .invalidModel(id, reason: reason) }
        self.id = id
    }

    public var description: String { id }

    /// The repo's folder in the cache: `models--ORG--NAME`. Unambiguous because ids cannot
    /// contain "--".
    public var cacheFolderName: String {
        "models--" + id.split(separator: "/").joined(separator: "--")
    }

    /// Why `id` is not a valid repo id, or nil if it is.
    static func problem(_ id: String) -> String? {
        let parts = id.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { return "a repo id is NAME or ORG/NAME (one '/' at most)" }
        for part in parts {
            guard !part.isEmpty, part.utf8.count <= 96 else {
                return "ORG and NAME must each be 1 to 96 characters"
            }
            guard part.utf8.allSatisfy(isIDByte) else {
                return "only letters, digits, '-', '_' and '.' are allowed"
            }
            guard isWordByte(part.utf8.first!), isWordByte(part.utf8.last!) else {
                return "ORG and NAME cannot start or end with '-' or '.'"
            }
        }
        if id.contains("--") || id.contains("..") { return "'--' and '..' are not allowed" }
        if id.hasSuffix(".git") { return "a repo id cannot end with '.git'" }
        return nil
    }

    private static func isWordByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F
    }

    private static func isIDByte(_ b: UInt8) -> Bool { isWordByte(b) || b == 0x2D || b == 0x2E }
}

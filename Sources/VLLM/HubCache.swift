import Foundation

/// The Hugging Face hub cache as huggingface_hub lays it out, so models fetched by
/// `huggingface-cli download` (or any Python tool) serve as they are: repo `ORG/NAME` lives in
/// `models--ORG--NAME/`, with `snapshots/<commit>/` (files are links into `blobs/`) and
/// `refs/<branch or tag>` holding a commit hash.
public struct HubCache: Sendable {
    public let root: String

    /// The cache root as huggingface_hub finds it: `HF_HUB_CACHE`, else `HF_HOME`/hub, else
    /// `XDG_CACHE_HOME`/huggingface/hub, else ~/.cache/huggingface/hub.
    public init(environment env: [String: String] = ProcessInfo.processInfo.environment) {
        if let c = env["HF_HUB_CACHE"], !c.isEmpty { root = c }
        else if let h = env["HF_HOME"], !h.isEmpty { root = h + "/hub" }
        else if let x = env["XDG_CACHE_HOME"], !x.isEmpty { root = x + "/huggingface/hub" }
        else { root = NSHomeDirectory() + "/.cache/huggingface/hub" }
    }

    /// Whether `s` has the shape of a hub repo id: ORG/NAME of letters, digits, `-`, `_`, `.`
    /// (no `..`, no leading or trailing `-`/`.`, at most 96 characters per part).
    public static func isRepoID(_ s: String) -> Bool {
        let parts = s.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return false }
        return parts.allSatisfy { p in
            !p.isEmpty && p.count <= 96 && !p.contains("..") && !p.hasPrefix("-") && !p.hasPrefix(".")
                && !p.hasSuffix(".") && !p.hasSuffix("-")
                && p.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
        }
    }

    /// The snapshot directory of `repo` at `revision` (a branch or tag through `refs/`, or a
    /// commit hash), or nil when the cache does not hold it.
    public func snapshot(repo: String, revision: String = "main") -> String? {
        let dir = root + "/models--" + repo.replacingOccurrences(of: "/", with: "--")
        guard revision.count <= 256, !revision.contains("..") else { return nil }
        var commit = revision
        if let data = FileManager.default.contents(atPath: dir + "/refs/" + revision),
           let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty {
            commit = text
        }
        guard commit.count == 40, commit.allSatisfy(\.isHexDigit) else { return nil }
        let path = dir + "/snapshots/" + commit
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue ? path : nil
    }
}

/// A `--model` (or `--tokenizer`) argument that is neither a local path nor in the hub cache.
public struct ModelNotFound: Error, CustomStringConvertible {
    public let model: String
    public let revision: String
    public let cacheRoot: String
    public var description: String {
        HubCache.isRepoID(model)
            ? "model \(model) (revision \(revision)) is not in the Hugging Face cache at \(cacheRoot); this build does not download yet: fetch it with `huggingface-cli download \(model)` (or pass a local directory or GGUF file)"
            : "cannot open model \(model): no such file or directory, and it is not a hub repo id (ORG/NAME)"
    }
}

extension HubCache {
    /// The local path of a model argument: an existing file or directory as it is (vLLM checks
    /// the disk first), else a repo id's snapshot in the cache.
    public static func locate(_ model: String, revision: String? = nil,
                              environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        if FileManager.default.fileExists(atPath: model) { return model }
        let cache = HubCache(environment: environment)
        if isRepoID(model), let path = cache.snapshot(repo: model, revision: revision ?? "main") { return path }
        throw ModelNotFound(model: model, revision: revision ?? "main", cacheRoot: cache.root)
    }
}

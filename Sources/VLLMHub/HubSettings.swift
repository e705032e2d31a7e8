#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the cache is, which hub to ask and with what token, read from the environment with
/// huggingface_hub's names and precedence so both share one cache and one login.
public struct HubSettings: Sendable, Equatable {
    /// The public hub; `HF_ENDPOINT` replaces it (a mirror or a private hub).
    public static let defaultEndpoint = "https://huggingface.co"

    /// The folder holding `models--ORG--NAME/` folders.
    public var cacheRoot: String
    /// Without a trailing '/'.
    public var endpoint: String
    public var token: String?
    /// `HF_HUB_OFFLINE` (or `TRANSFORMERS_OFFLINE`) is 1/true/yes/on: use only the cache.
    public var offline: Bool

    public init(cacheRoot: String, endpoint: String = defaultEndpoint, token: String? = nil, offline: Bool = false) {
        self.cacheRoot = cacheRoot
        self.endpoint = Self.trimmingTrailingSlashes(endpoint)
        self.token = token
        self.offline = offline
    }

    /// Cache root: `HF_HUB_CACHE`, else the legacy `HUGGINGFACE_HUB_CACHE`, else `HF_HOME/hub`,
    /// where `HF_HOME` defaults to `XDG_CACHE_HOME/huggingface`, or `~/.cache/huggingface`.
    /// Token: `HF_TOKEN`, else the legacy `HUGGING_FACE_HUB_TOKEN`, else the file at
    /// `HF_TOKEN_PATH`, default `HF_HOME/token` (what `hf auth login` writes).
    public init(environment: [String: String]) {
        func value(_ name: String) -> String? {
            guard let v = environment[name], !v.isEmpty else { return nil }
            return v
        }
        let home = value("HOME") ?? Self.passwordHome() ?? "/"
        func expand(_ path: String) -> String {
            if path == "~" { return home }
            if path.hasPrefix("~/") { return home + path.dropFirst() }
            return path
        }
        let hfHome = expand(value("HF_HOME") ?? ((value("XDG_CACHE_HOME").map(expand) ?? home + "/.cache") + "/huggingface"))
        let cacheRoot = expand(value("HF_HUB_CACHE") ?? value("HUGGINGFACE_HUB_CACHE") ?? hfHome + "/hub")
        let tokenFile = expand(value("HF_TOKEN_PATH") ?? hfHome + "/token")
        let token = Self.cleanToken(value("HF_TOKEN") ?? value("HUGGING_FACE_HUB_TOKEN"))
            ?? Self.cleanToken(Self.readSmallFile(tokenFile))
        let offline = Self.isTrue(value("HF_HUB_OFFLINE") ?? value("TRANSFORMERS_OFFLINE"))
        self.init(cacheRoot: cacheRoot, endpoint: value("HF_ENDPOINT") ?? Self.defaultEndpoint, token: token, offline: offline)
    }

    static func isTrue(_ value: String?) -> Bool {
        guard let v = value?.uppercased() else { return false }
        return ["1", "ON", "YES", "TRUE"].contains(v)
    }

    /// Line breaks and surrounding blanks dropped (a token file often ends with a newline).
    private static func cleanToken(_ token: String?) -> String? {
        guard let token else { return nil }
        let cleaned = token.filter { $0 != "\r" && $0 != "\n" }.trimmingBlanks()
        return cleaned.isEmpty ? nil : cleaned
    }

    private static func trimmingTrailingSlashes(_ s: String) -> String {
        var s = Substring(s)
        while s.hasSuffix("/") { s = s.dropLast() }
        return String(s)
    }

    private static func passwordHome() -> String? {
        guard let entry = getpwuid(getuid()), let dir = entry.pointee.pw_dir else { return nil }
        return String(cString: dir)
    }

    /// A token file's text; nil if missing or unreasonably large (then it is not a token file).
    private static func readSmallFile(_ path: String) -> String? {
        guard let bytes = try? FileSystem.readFile(path, maxBytes: 64 * 1024) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension StringProtocol {
    func trimmingBlanks() -> String {
        let blanks: Set<Character> = [" ", "\t", "\n", "\r"]
        guard let first = firstIndex(where: { !blanks.contains($0) }) else { return "" }
        let last = lastIndex(where: { !blanks.contains($0) })!
        return String(self[first...last])
    }
}

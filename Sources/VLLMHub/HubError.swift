/// Why a model argument could not be turned into a local path. Every case prints as one line a
/// user can act on (`vllm serve` shows it as is).
public enum HubError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Neither an existing path nor a valid repo id.
    case invalidModel(String, reason: String)
    case invalidRevision(String, reason: String)
    /// Not in the cache and downloading is not allowed (`offline`: because HF_HUB_OFFLINE is set).
    case notCached(repo: String, revision: String, cache: String, offline: Bool)
    case repoNotFound(repo: String, endpoint: String)
    case revisionNotFound(repo: String, revision: String, endpoint: String)
    /// 401/403 from the hub (`hadToken`: one was sent and refused).
    case unauthorized(repo: String, endpoint: String, hadToken: Bool)
    case gated(repo: String, endpoint: String)
    /// vLLM's rule: a GGUF repo is served by passing the path of one downloaded .gguf file.
    case ggufOnly(repo: String, files: [String])
    case noConfig(repo: String)
    case noWeights(repo: String, files: [String])
    /// The server sent a name, hash or document that is unsafe or malformed; nothing was written.
    case untrustedResponse(repo: String, detail: String)
    /// Downloaded bytes do not match what the hub promised (sha256 or size).
    case integrity(repo: String, file: String, detail: String)
    case network(endpoint: String, detail: String)
    case httpStatus(Int, url: String)
    case filesystem(path: String, detail: String)

    public var description: String {
        switch self {
        case .invalidModel(let model, let reason):
            return "model '\(model)' is not an existing file or directory, and not a Hugging Face repo id: \(reason)"
        case .invalidRevision(let revision, let reason):
            return "invalid revision '\(revision)': \(reason)"
        case .notCached(let repo, let revision, let cache, let offline):
            let why = offline ? "HF_HUB_OFFLINE is set" : "downloading is disabled"
            return "\(repo) (revision \(revision)) is not in the cache at \(cache) and \(why)"
        case .repoNotFound(let repo, let endpoint):
            return "repository \(repo) not found on \(endpoint): check the name (a private repo needs HF_TOKEN)"
        case .revisionNotFound(let repo, let revision, let endpoint):
            return "revision '\(revision)' of \(repo) not found on \(endpoint)"
        case .unauthorized(let repo, let endpoint, let hadToken):
            return hadToken
                ? "\(endpoint) refused the token (HF_TOKEN or the token file) for \(repo): check that it can read this repository"
                : "repository \(repo) on \(endpoint) needs a token: set HF_TOKEN (it may be private, gated or missing)"
        case .gated(let repo, let endpoint):
            return "\(repo) is gated: accept its terms at \(endpoint)/\(repo), then set HF_TOKEN to a token of that account"
        case .ggufOnly(let repo, let files):
            return "\(repo) has no config.json but has GGUF files (\(files.joined(separator: ", "))): "
                + "download one and pass the path of that .gguf file as the model"
        case .noConfig(let repo):
            return "\(repo) has no config.json, so it is not a model vLLM can load"
        case .noWeights(let repo, let files):
            let seen = files.isEmpty ? "" : " (it has \(files.prefix(8).joined(separator: ", "))\(files.count > 8 ? ", …" : ""))"
            return "\(repo) has no .safetensors weights\(seen): vLLM loads safetensors or a .gguf file"
        case .untrustedResponse(let repo, let detail):
            return "refusing the hub's answer for \(repo): \(detail)"
        case .integrity(let repo, let file, let detail):
            return "download of \(file) from \(repo) is corrupt: \(detail)"
        case .network(let endpoint, let detail):
            return "cannot reach \(endpoint): \(detail) (set HF_HUB_OFFLINE=1 to use only the cache)"
        case .httpStatus(let status, let url):
            return "unexpected HTTP status \(status) from \(url)"
        case .filesystem(let path, let detail):
            return "cannot write the hub cache at \(path): \(detail)"
        }
    }
}

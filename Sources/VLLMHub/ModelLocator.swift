import Foundation

/// What a model argument turned out to be on disk.
public enum ModelSource: Equatable, Sendable {
    /// A single weights file, e.g. a .gguf.
    case file(String)
    /// A folder with config.json and weights: a local model folder or a cache snapshot.
    case directory(String)

    public var path: String {
        switch self {
        case .file(let path), .directory(let path): return path
        }
    }
}

/// Turns what a user types after `vllm serve` into a local path, as vLLM does: an existing file
/// or directory is used as it is; otherwise the argument is a hub repo id, found in the hub
/// cache or downloaded into it (unless offline).
public struct ModelLocator: Sendable {
    public var settings: HubSettings
    public var filter: ModelFileFilter

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.init(settings: HubSettings(environment: environment))
    }

    public init(settings: HubSettings, filter: ModelFileFilter = .modelDefault) {
        self.settings = settings
        self.filter = filter
    }

    public var cache: HubCache { HubCache(root: settings.cacheRoot) }

    /// Blocking form for a command line; do not call it from async code (it parks the calling
    /// thread while the download runs on the concurrency pool): use the async form there.
    public func locate(_ model: String, revision: String? = nil, allowDownload: Bool = true) throws(HubError) -> ModelSource {
        switch try lookUp(model, revision: revision, allowDownload: allowDownload) {
        case .found(let source): return source
        case .download(let repo, let revision):
            let downloader = HubDownloader(settings: settings, filter: filter)
            return .directory(try runBlocking { () async throws(HubError) in try await downloader.download(repo, revision: revision) })
        }
    }

    public func locate(_ model: String, revision: String? = nil, allowDownload: Bool = true) async throws(HubError) -> ModelSource {
        switch try lookUp(model, revision: revision, allowDownload: allowDownload) {
        case .found(let source): return source
        case .download(let repo, let revision):
            return .directory(try await HubDownloader(settings: settings, filter: filter).download(repo, revision: revision))
        }
    }

    private enum LookUp { case found(ModelSource), download(RepoID, String) }

    /// Everything that needs no network: a local path, then the cache.
    private func lookUp(_ model: String, revision: String?, allowDownload: Bool) throws(HubError) -> LookUp {
        switch FileSystem.kind(model) {
        case .file: return .found(.file(model))
        case .directory: return .found(.directory(model))
        case .missing, .other: break
        }
        let repo = try RepoID(model)
        let revision = revision ?? Revision.defaultName
        try Revision.validate(revision)
        if let snapshot = cache.completeSnapshot(of: repo, revision: revision, filter: filter) {
            return .found(.directory(snapshot))
        }
        guard allowDownload, !settings.offline else {
            throw .notCached(repo: repo.id, revision: revision, cache: settings.cacheRoot, offline: settings.offline)
        }
        return .download(repo, revision)
    }
}

/// Runs async work to completion from synchronous code.
private func runBlocking<T: Sendable>(_ operation: @escaping @Sendable () async throws(HubError) -> T) throws(HubError) -> T {
    let outcome = Outcome<T>()
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        do throws(HubError) { outcome.result = .success(try await operation()) } catch { outcome.result = .failure(error) }
        done.signal()
    }
    done.wait()
    return try outcome.result!.get()
}

/// Written by the task before it signals, read after the wait: never at the same time.
private final class Outcome<T: Sendable>: @unchecked Sendable { var result: Result<T, HubError>? }

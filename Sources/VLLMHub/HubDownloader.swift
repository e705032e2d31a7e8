#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import VLLMCompute

/// Downloads the files of a model repo at a revision into the hub cache, laid out exactly as
/// huggingface_hub lays it out (see `HubCache`), and returns the snapshot folder.
public struct HubDownloader: Sendable {
    public var settings: HubSettings
    public var filter: ModelFileFilter
    /// Tries per file when the connection breaks mid-transfer, each resuming where the last
    /// one stopped.
    public var attemptsPerFile = 5
    var retryDelay: Duration = .milliseconds(500)
    var maxListingBytes = 16 << 20

    public init(settings: HubSettings, filter: ModelFileFilter = .modelDefault) {
        self.settings = settings
        self.filter = filter
    }

    public var cache: HubCache { HubCache(root: settings.cacheRoot) }

    /// Asks the hub which commit `revision` is, fetches what `filter` selects of it that the
    /// cache lacks, and records refs/<revision>. A repo without config.json is refused (with
    /// the GGUF files it has, if any: those are served by passing one file's path).
    public func download(_ repo: RepoID, revision: String = "main") async throws(HubError) -> String {
        try Revision.validate(revision)
        let http = HubHTTP(settings: settings)
        do {
            let folder = try await download(repo, revision: revision, http: http)
            await http.shutdown()
            return folder
        } catch {
            await http.shutdown()
            throw Self.hubError(error, repo: repo, endpoint: settings.endpoint)
        }
    }

    private func download(_ repo: RepoID, revision: String, http: HubHTTP) async throws -> String {
        var api = HubAPI(http: http, repo: repo)
        api.maxListingBytes = maxListingBytes
        let listing = try await api.listing(revision: revision)
        try Self.checkIsModel(repo, files: listing.files)
        let folder = cache.snapshotFolder(repo, commit: listing.commit)
        if !HubCache.holdsModel(folder, repo: repo, filter: filter) {
            logInfo("Downloading \(repo) (revision \(revision), commit \(listing.commit.prefix(12))) into \(cache.repoFolder(repo))")
            let fetcher = FileFetcher(api: api, cache: cache, commit: listing.commit, attempts: attemptsPerFile, retryDelay: retryDelay)
            for file in filter.select(from: listing.files, shards: nil).metadata {
                try await fetcher.fetch(file)
            }
            let weights = filter.select(from: listing.files, shards: try shards(repo, listing, folder: folder)).weights
            guard !weights.isEmpty else {
                throw HubError.noWeights(repo: repo.id, files: listing.files.filter { !filter.isMetadata($0) && !$0.hasPrefix(".") })
            }
            try await fetchWeights(weights, fetcher: fetcher)
        }
        try cache.recordRef(repo, revision: revision, commit: listing.commit)
        return folder
    }

    /// Every weight file's metadata first (sizes for one progress bar, and a gated or refused
    /// repo fails before any large transfer), then the transfers.
    private func fetchWeights(_ weights: [String], fetcher: FileFetcher) async throws {
        var planned: [(file: String, metadata: HubAPI.FileMetadata)] = []
        for file in weights where !fetcher.isPresent(file) {
            planned.append((file, try await fetcher.api.metadata(commit: fetcher.commit, file: file)))
        }
        let progress = ByteProgress("Downloading \(fetcher.repo) (MiB)", totalBytes: planned.reduce(0) { $0 + ($1.metadata.size ?? 0) })
        for (file, metadata) in planned {
            try await fetcher.fetch(file, metadata: metadata, progress: progress.add)
        }
        if !planned.isEmpty { progress.finish() }
    }

    /// The shards the repo's weight index lists, once the index is in the snapshot; nil when the
    /// repo has no index. An index naming files the repo lacks is refused.
    private func shards(_ repo: RepoID, _ listing: HubAPI.Listing, folder: String) throws -> Set<String>? {
        guard let index = filter.weightIndex, listing.files.contains(index) else { return nil }
        let shards = try WeightIndex.shards(inIndexAt: folder + "/" + index, repo: repo)
        if let missing = shards.subtracting(listing.files).sorted().first {
            throw HubError.untrustedResponse(repo: repo.id, detail: "\(index) lists \(missing), which the repo does not have")
        }
        return shards
    }

    static func checkIsModel(_ repo: RepoID, files: [String]) throws(HubError) {
        guard !files.contains("config.json") else { return }
        let ggufs = files.filter { $0.hasSuffix(".gguf") }.sorted()
        throw ggufs.isEmpty ? .noConfig(repo: repo.id) : .ggufOnly(repo: repo.id, files: ggufs)
    }

    /// Transport and unexpected errors as one line; hub errors as they are.
    static func hubError(_ error: any Error, repo: RepoID, endpoint: String) -> HubError {
        switch error {
        case let error as HubError: return error
        case let error as HubHTTPError:
            if case .tooLarge = error { return .untrustedResponse(repo: repo.id, detail: error.description) }
            return .network(endpoint: endpoint, detail: error.description)
        case is CancellationError: return .network(endpoint: endpoint, detail: "cancelled")
        case let error as IOError: return .network(endpoint: endpoint, detail: String(cString: strerror(error.errnoCode)))
        default:
            let words = String(describing: error).split(whereSeparator: \.isWhitespace).joined(separator: " ")
            return .network(endpoint: endpoint, detail: String(words.prefix(300)))
        }
    }
}

/// One progress bar in MiB over all of a download's weight files (ProgressBar counts steps and
/// draws only on a terminal).
private final class ByteProgress {
    private var bar: ProgressBar
    private let totalMiB: Int
    private var bytes = 0
    private var shownMiB = 0

    init(_ label: String, totalBytes: Int) {
        totalMiB = max(1, (totalBytes + (1 << 20) - 1) >> 20)
        bar = ProgressBar(label, total: totalMiB)
    }

    /// Sizes round down to whole MiB: the last partial one is drawn here.
    func finish() { bar.advance(by: totalMiB - shownMiB); shownMiB = totalMiB }

    func add(_ delta: Int) {
        bytes += delta
        let mib = max(0, bytes >> 20)
        if mib > shownMiB { bar.advance(by: mib - shownMiB); shownMiB = mib }
    }
}

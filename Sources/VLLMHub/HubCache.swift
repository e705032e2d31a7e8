/// The hub cache's layout, as huggingface_hub writes and reads it, so Python tools and this
/// package share downloads:
///
///     <root>/models--ORG--NAME/
///         blobs/<etag>                      file contents, named by the hub's ETag
///         blobs/<etag>.incomplete           a download in progress (resumed from its length)
///         snapshots/<commit>/<path>         relative symlinks to ../../blobs/<etag>
///         refs/<branch or tag>              the commit hash the name pointed to
///     <root>/.locks/models--ORG--NAME/<etag>.lock   one writer per blob across processes
public struct HubCache: Sendable, Equatable {
    public let root: String

    public init(root: String) { self.root = root }

    public func repoFolder(_ repo: RepoID) -> String { root + "/" + repo.cacheFolderName }

    public func snapshotFolder(_ repo: RepoID, commit: String) -> String {
        repoFolder(repo) + "/snapshots/" + commit
    }

    /// The commit a revision names in the cache: a full hash names itself, a branch or tag is
    /// looked up in refs/. Nil when the ref is missing or does not hold a commit hash.
    public func commit(of repo: RepoID, revision: String) -> String? {
        if Revision.isCommitHash(revision) { return revision }
        guard RelativePath.problem(revision, maxBytes: 255) == nil,
              let text = try? FileSystem.readFile(repoFolder(repo) + "/refs/" + revision, maxBytes: 4096)
        else { return nil }
        let commit = String(decoding: text, as: UTF8.self).trimmingBlanks()
        return Revision.isCommitHash(commit) ? commit : nil
    }

    /// The snapshot folder for `revision` if the cache holds a usable model there, else nil.
    public func completeSnapshot(of repo: RepoID, revision: String, filter: ModelFileFilter = .modelDefault) -> String? {
        guard let commit = commit(of: repo, revision: revision) else { return nil }
        let folder = snapshotFolder(repo, commit: commit)
        return Self.holdsModel(folder, repo: repo, filter: filter) ? folder : nil
    }

    /// A snapshot is usable when config.json and every weight file resolve: all shards its index
    /// lists, or without an index at least one weight file. Downloads fetch weights last, so an
    /// interrupted one never passes this check.
    static func holdsModel(_ folder: String, repo: RepoID, filter: ModelFileFilter) -> Bool {
        guard FileSystem.kind(folder + "/config.json") == .file else { return false }
        if let index = filter.weightIndex, FileSystem.kind(folder + "/" + index) == .file {
            guard let shards = try? WeightIndex.shards(inIndexAt: folder + "/" + index, repo: repo) else { return false }
            return shards.allSatisfy { FileSystem.kind(folder + "/" + $0) == .file }
        }
        return FileSystem.listDirectory(folder).contains { filter.isWeight($0) && FileSystem.kind(folder + "/" + $0) == .file }
    }

    func blobPath(_ repo: RepoID, etag: String) -> String { repoFolder(repo) + "/blobs/" + etag }

    func lockPath(_ repo: RepoID, etag: String) -> String {
        root + "/.locks/" + repo.cacheFolderName + "/" + etag + ".lock"
    }

    /// Points snapshots/<commit>/<file> at blobs/<etag> with a relative link, as huggingface_hub
    /// does (the cache stays valid when moved). `file` must already be checked as a safe path.
    func link(_ repo: RepoID, commit: String, file: String, etag: String) throws(HubError) {
        let path = snapshotFolder(repo, commit: commit) + "/" + file
        try FileSystem.makeDirectories(FileSystem.parentDirectory(path))
        // From snapshots/<commit>/<dirs…>/ up to the repo folder: one level per component of
        // `file` plus two for snapshots/<commit>.
        let depth = file.split(separator: "/").count + 1
        let target = String(repeating: "../", count: depth) + "blobs/" + etag
        try FileSystem.replaceSymlink(at: path, pointingTo: target)
    }

    /// refs/<revision> holds `commit`; nothing is written for a revision that is a commit hash.
    func recordRef(_ repo: RepoID, revision: String, commit: String) throws(HubError) {
        guard revision != commit else { return }
        let path = repoFolder(repo) + "/refs/" + revision
        if self.commit(of: repo, revision: revision) == commit { return }
        try FileSystem.makeDirectories(FileSystem.parentDirectory(path))
        try FileSystem.writeFileAtomically(commit, to: path)
    }
}

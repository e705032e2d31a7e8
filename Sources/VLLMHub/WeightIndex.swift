import Foundation

/// The shard list of a `*.safetensors.index.json` (`weight_map`: tensor name to file name).
enum WeightIndex {
    /// Large models list tens of thousands of tensors; anything past this is not an index.
    static let maxBytes = 64 << 20

    private struct Document: Decodable { let weight_map: [String: String] }

    /// The distinct files the index names; throws if it is malformed or names an unsafe path.
    static func shards(inIndexAt path: String, repo: RepoID) throws(HubError) -> Set<String> {
        let bytes = try FileSystem.readFile(path, maxBytes: maxBytes)
        guard let document = try? JSONDecoder().decode(Document.self, from: Data(bytes)) else {
            throw .untrustedResponse(repo: repo.id, detail: "\(path) is not a weight index (no weight_map)")
        }
        let shards = Set(document.weight_map.values)
        for shard in shards {
            if let problem = RelativePath.problem(shard) {
                throw .untrustedResponse(repo: repo.id, detail: "weight index names '\(shard)': \(problem)")
            }
        }
        return shards
    }
}

/// A prompt given as input embeddings instead of tokens (vLLM's `prompt_embeds`): one row of
/// `hiddenSize` values per prompt position, used where the embedding table's row of a token would
/// be (after any scaling the architecture applies to looked-up rows, e.g. Gemma's √hidden).
public struct PromptEmbeddings: Sendable, Equatable, Codable {
    public let rows: Int
    public let hiddenSize: Int
    /// rows × hiddenSize, row-major.
    public let values: [Float]

    /// nil when `values` is not `rows` × `hiddenSize`, is empty, or holds a non-finite value.
    public init?(rows: Int, hiddenSize: Int, values: [Float]) {
        guard rows > 0, hiddenSize > 0, rows.multipliedReportingOverflow(by: hiddenSize) == (values.count, false),
              values.allSatisfy(\.isFinite) else { return nil }
        self.rows = rows
        self.hiddenSize = hiddenSize
        self.values = values
    }
}

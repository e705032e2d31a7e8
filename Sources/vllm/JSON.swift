import VLLMJinja

/// The CLI prints vLLM-shaped objects with keys in order, spaced as Python's `json.dumps`.
typealias JSON = OrderedJSON

extension OrderedJSON {
    var encoded: String { text(itemSeparator: ", ", keySeparator: ": ") }
}

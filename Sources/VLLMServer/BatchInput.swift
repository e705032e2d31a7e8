import VLLMJinja

/// One line of an OpenAI batch input file:
/// `{"custom_id": …, "method": "POST", "url": "/v1/completions", "body": {…}}`.
struct BatchInputLine: Sendable {
    var customID: String
    var endpoint: GenerationEndpoint
    /// The body as JSON text, its keys in their original order (chat templates print tool
    /// schemas in that order).
    var body: String

    /// Reads a line; one that cannot be run is a `BatchLineError`, carrying the custom_id
    /// when the line had one, so its output line can still be matched to it.
    init(parsing text: String) throws(BatchLineError) {
        let root: Dict
        do {
            guard case let .dict(d) = try Value(json: text) else { throw BatchLineError(nil, "A batch line must be a JSON object.") }
            root = d
        } catch let e as BatchLineError {
            throw e
        } catch {
            throw BatchLineError(nil, "Invalid JSON in batch line: \(error)")
        }
        guard case let .string(id)? = root["custom_id"] else {
            throw BatchLineError(nil, "Field required: 'custom_id' (a string).")
        }
        customID = id
        guard case let .string(method)? = root["method"], method == "POST" else {
            throw BatchLineError(id, "Field 'method' must be \"POST\".")
        }
        guard case let .string(url)? = root["url"] else { throw BatchLineError(id, "Field required: 'url' (a string).") }
        guard let endpoint = GenerationEndpoint(rawValue: url) else {
            let known = GenerationEndpoint.allCases.map(\.rawValue).joined(separator: ", ")
            throw BatchLineError(id, "URL \(url) was used. Supported endpoints: \(known).")
        }
        self.endpoint = endpoint
        guard let body = root["body"], case .dict = body else {
            throw BatchLineError(id, "Field 'body' must be a JSON object (the request body).")
        }
        do { self.body = try body.jsonText() } catch { throw BatchLineError(id, "\(error)") }
    }
}

/// Why a batch line could not be run at all (its output line carries `message` as the error).
struct BatchLineError: Error {
    var customID: String?
    var message: String
    init(_ customID: String?, _ message: String) {
        self.customID = customID
        self.message = message
    }
}

/// A JSON value together with where it sits (file and path such as `model.merges[3]`), so
/// that every complaint about an untrusted file names the exact place.
struct JSONNode {
    let value: JSON
    let file: String
    let path: String

    init(_ value: JSON, file: String, path: String = "") {
        self.value = value
        self.file = file
        self.path = path
    }

    var isNull: Bool { if case .null = value { true } else { false } }

    func fail(_ reason: String) -> TokenizerError {
        .invalidFile(file: file, at: path.isEmpty ? "top level" : path, reason: reason)
    }

    func unsupported(_ reason: String) -> TokenizerError {
        .unsupportedFeature(file: file, at: path.isEmpty ? "top level" : path, reason: reason)
    }

    private func childPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The members of an object.
    func members() throws(TokenizerError) -> [(key: String, node: JSONNode)] {
        guard case let .object(m) = value else { throw fail("expected an object, found \(value.typeName)") }
        return m.map { ($0.key, JSONNode($0.value, file: file, path: childPath($0.key))) }
    }

    func items() throws(TokenizerError) -> [JSONNode] {
        guard case let .array(a) = value else { throw fail("expected an array, found \(value.typeName)") }
        return a.enumerated().map { JSONNode($1, file: file, path: "\(path)[\($0)]") }
    }

    /// The member `key`; nil when absent or null (the files write null for "not set").
    func optional(_ key: String) throws(TokenizerError) -> JSONNode? {
        guard case let .object(m) = value else { throw fail("expected an object, found \(value.typeName)") }
        guard let v = m.first(where: { $0.key == key })?.value else { return nil }
        if case .null = v { return nil }
        return JSONNode(v, file: file, path: childPath(key))
    }

    func required(_ key: String) throws(TokenizerError) -> JSONNode {
        guard let n = try optional(key) else { throw fail("missing '\(key)'") }
        return n
    }

    func string() throws(TokenizerError) -> String {
        guard case let .string(s) = value else { throw fail("expected a string, found \(value.typeName)") }
        return s
    }

    func bool() throws(TokenizerError) -> Bool {
        guard case let .bool(b) = value else { throw fail("expected a bool, found \(value.typeName)") }
        return b
    }

    func int(in range: ClosedRange<Int>) throws(TokenizerError) -> Int {
        guard case let .int(v) = value else { throw fail("expected an integer, found \(value.typeName)") }
        guard range.contains(v) else { throw fail("\(v) is outside \(range.lowerBound)…\(range.upperBound)") }
        return v
    }

    /// A single character, as Rust's `char` fields (Metaspace `replacement`, Strip `content`).
    func scalar() throws(TokenizerError) -> Unicode.Scalar {
        let s = try string()
        guard s.unicodeScalars.count == 1 else { throw fail("expected a single character, found '\(s)'") }
        return s.unicodeScalars.first!
    }

    func optionalString(_ key: String) throws(TokenizerError) -> String? { try optional(key)?.string() }
    func optionalBool(_ key: String) throws(TokenizerError) -> Bool? { try optional(key)?.bool() }

    /// The `type` tag of a component object.
    func typeTag() throws(TokenizerError) -> String { try required("type").string() }
}

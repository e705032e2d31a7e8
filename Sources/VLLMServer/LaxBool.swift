/// Booleans as vLLM's request models (pydantic, lax mode) take them: JSON true/false, the
/// numbers 0 and 1, and the strings "true"/"false", "1"/"0", "yes"/"no", "on"/"off", "t"/"f",
/// "y"/"n" in any case.
extension KeyedDecodingContainer {
    func decodeLaxBoolIfPresent(forKey key: Key) throws -> Bool? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        if let b = try? decode(Bool.self, forKey: key) { return b }
        if let n = try? decode(Double.self, forKey: key), n == 0 || n == 1 { return n == 1 }
        if let s = try? decode(String.self, forKey: key) {
            switch s.lowercased() {
            case "true", "1", "yes", "on", "t", "y": return true
            case "false", "0", "no", "off", "f", "n": return false
            default: break
            }
        }
        throw DecodingError.typeMismatch(Bool.self, .init(codingPath: codingPath + [key], debugDescription: "Expected to decode Bool but found another value instead."))
    }
}

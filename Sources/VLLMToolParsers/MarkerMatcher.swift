/// Finds a marker such as `<tool_call>` in text that arrives a character at a time. Characters
/// that might be the start of the marker are held back, so a stream never sends `<tool_`
/// as content only to find out one token later that it opened a tool call.
struct MarkerMatcher {
    enum Step { case text(String), matched(released: String) }

    let marker: [Unicode.Scalar]
    /// A proper prefix of the marker seen at the end of the text so far.
    private(set) var held: [Unicode.Scalar] = []

    init(_ marker: String) { self.marker = Array(marker.unicodeScalars) }

    /// Feeds one character. Returns the text that can no longer be part of the marker, and
    /// whether the marker is now complete (then `held` is empty again).
    mutating func feed(_ c: Unicode.Scalar) -> Step {
        held.append(c)
        var released = String.UnicodeScalarView()
        while !held.isEmpty, !marker.starts(with: held) {
            released.append(held.removeFirst())
        }
        if held.count == marker.count {
            held = []
            return .matched(released: String(released))
        }
        return .text(String(released))
    }

    /// The held characters, at the end of the output: they were not a marker after all.
    mutating func flush() -> String {
        defer { held = [] }
        return String(String.UnicodeScalarView(held))
    }
}

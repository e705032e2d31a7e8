/// tokenizer.json's `decoder`: a chain of steps over the list of token strings, as Hugging
/// Face's `decode_chain` runs them (a `Sequence` is flattened). `decode` is the exact
/// semantics; `streamForm` derives the per-token bytes the incremental detokenizer emits.
struct HFDecoder: Sendable {
    enum Step: Sendable {
        case byteLevel
        case metaspace(replacement: Unicode.Scalar, prependScheme: PrependScheme)
        case byteFallback
        case fuse
        case strip(content: Unicode.Scalar, start: Int, stop: Int)
        case replace(TextPattern, String)
    }

    let steps: [Step]

    static let supportedTypes = ["ByteLevel", "Metaspace", "ByteFallback", "Fuse", "Strip", "Replace", "Sequence"]

    init(steps: [Step]) { self.steps = steps }

    init(json node: JSONNode) throws(TokenizerError) {
        steps = try Self.parse(node)
    }

    private static func parse(_ node: JSONNode) throws(TokenizerError) -> [Step] {
        switch try node.typeTag() {
        case "Sequence":
            var out: [Step] = []
            for n in try node.required("decoders").items() { out += try parse(n) }
            return out
        case "ByteLevel": return [.byteLevel]
        case "ByteFallback": return [.byteFallback]
        case "Fuse": return [.fuse]
        case "Metaspace":
            let (replacement, scheme) = try HFPreTokenizer.metaspaceFields(node)
            return [.metaspace(replacement: replacement, prependScheme: scheme)]
        case "Strip":
            // Counts beyond any token's length behave like the length; the cap keeps loops short.
            return [.strip(content: try node.required("content").scalar(),
                           start: try node.required("start").int(in: 0...1 << 20),
                           stop: try node.required("stop").int(in: 0...1 << 20))]
        case "Replace":
            return [.replace(try TextPattern(json: node.required("pattern")), try node.required("content").string())]
        case let other:
            throw node.unsupported("decoder type '\(other)' (supported: \(supportedTypes.joined(separator: ", ")))")
        }
    }

    // MARK: - Exact decoding

    /// The decoded text of `tokens` (token strings, special tokens already filtered).
    func decode(_ tokens: [String]) -> String {
        var list = tokens
        for step in steps { list = Self.apply(step, list) }
        return list.joined()
    }

    private static func apply(_ step: Step, _ tokens: [String]) -> [String] {
        switch step {
        case .byteLevel:
            var bytes: [UInt8] = []
            for t in tokens { bytes += ByteLevel.bytes(of: t) ?? Array(t.utf8) }
            return [String(decoding: bytes, as: UTF8.self)]
        case .fuse:
            return [tokens.joined()]
        case let .metaspace(replacement, scheme):
            return tokens.enumerated().map { i, t in metaspace(t, replacement, first: i == 0 && scheme != .never) }
        case let .strip(content, start, stop):
            return tokens.map { strip($0, content, start, stop) }
        case let .replace(pattern, content):
            return tokens.map { replace($0, pattern, content) }
        case .byteFallback:
            var out: [String] = []
            var run: [UInt8] = []
            func flush() {
                guard !run.isEmpty else { return }
                if let s = String(validating: run, as: UTF8.self) {
                    out.append(s)
                } else {
                    // Invalid UTF-8: one replacement character per byte, not per sequence.
                    out += Array(repeating: "\u{FFFD}", count: run.count)
                }
                run.removeAll()
            }
            for t in tokens {
                if let b = byteFallbackValue(t) {
                    run.append(b)
                } else {
                    flush()
                    out.append(t)
                }
            }
            flush()
            return out
        }
    }

    /// The byte of a `<0xXX>` token, parsed as Rust's `u8::from_str_radix(&token[3..5], 16)`
    /// (which also takes a `+` sign before a single digit).
    static func byteFallbackValue(_ t: String) -> UInt8? {
        let u = Array(t.utf8)
        guard u.count == 6, u[0] == UInt8(ascii: "<"), u[1] == UInt8(ascii: "0"), u[2] == UInt8(ascii: "x"),
              u[5] == UInt8(ascii: ">") else { return nil }
        func hex(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        if u[3] == UInt8(ascii: "+") { return hex(u[4]) }
        guard let hi = hex(u[3]), let lo = hex(u[4]) else { return nil }
        return hi << 4 | lo
    }

    /// The Metaspace decoder: the replacement becomes a space, except in the list's first token
    /// where every replacement character is dropped.
    private static func metaspace(_ t: String, _ replacement: Unicode.Scalar, first: Bool) -> String {
        var v = String.UnicodeScalarView()
        for c in t.unicodeScalars {
            if c == replacement {
                if !first { v.append(" ") }
            } else {
                v.append(c)
            }
        }
        return String(v)
    }

    /// Strip: up to `start` leading and `stop` trailing `content` characters. (Hugging Face
    /// panics where the two cuts cross; that gives the empty string here.)
    static func strip(_ t: String, _ content: Unicode.Scalar, _ start: Int, _ stop: Int) -> String {
        let c = Array(t.unicodeScalars)
        var lo = 0
        while lo < min(start, c.count), c[lo] == content { lo += 1 }
        var hi = c.count
        var k = 0
        while k < stop, hi > 0, c[hi - 1] == content {
            hi -= 1
            k += 1
        }
        guard lo < hi else { return "" }
        var v = String.UnicodeScalarView()
        v.append(contentsOf: c[lo..<hi])
        return String(v)
    }

    static func replace(_ t: String, _ pattern: TextPattern, _ content: String) -> String {
        let s = Array(t.unicodeScalars)
        var m: [(Range<Int>, Bool)] = []
        pattern.findMatches(s, pattern.needsClasses ? CharClass.classify(s) : [], 0..<s.count, into: &m)
        var v = String.UnicodeScalarView()
        for (r, isMatch) in m {
            if isMatch { v.append(contentsOf: content.unicodeScalars) } else { v.append(contentsOf: s[r]) }
        }
        return String(v)
    }

    // MARK: - Streaming

    /// How the chain decodes token by token: each token's bytes at the start of the text and
    /// elsewhere, plus leading characters stripped from the whole text.
    struct StreamForm {
        /// Per token, bytes when it is not the first token decoded.
        var middle: (String) -> [UInt8]
        /// Per token, bytes when it is the first token decoded.
        var first: (String) -> [UInt8]
        /// A `Strip` after the list was joined: up to `count` leading `byte`s of the whole text.
        var leadingStrip: (byte: UInt8, count: Int)?
    }

    /// The streaming form, or why the chain has none. Steps before the list is joined (by
    /// `Fuse` or `ByteLevel`) act token by token; after it, only a start-only `Strip` of an ASCII
    /// character may follow, which becomes `leadingStrip`. Byte-fallback bytes are kept raw, so
    /// string steps may not follow them while tokens are still separate.
    func streamForm() -> Result<StreamForm, StreamError> {
        var perToken: [Step] = []
        var joined = false
        var sawByteFallback = false
        var leading: (UInt8, Int)?
        for step in steps {
            if joined {
                switch step {
                case .fuse:
                    continue
                case let .strip(content, start, stop) where stop == 0 && content.isASCII && leading == nil:
                    if start > 0 { leading = (UInt8(content.value), start) }
                    continue
                default:
                    return .failure(StreamError(step: step, reason: "only Fuse and a start-only Strip of an ASCII character can follow the joined text"))
                }
            }
            switch step {
            case .fuse:
                joined = true
            case .byteLevel:
                if sawByteFallback {
                    return .failure(StreamError(step: step, reason: "ByteLevel after ByteFallback"))
                }
                perToken.append(step)
                joined = true
            case .byteFallback:
                sawByteFallback = true
                perToken.append(step)
            case .metaspace, .strip, .replace:
                if sawByteFallback {
                    return .failure(StreamError(step: step, reason: "a string step after ByteFallback on separate tokens"))
                }
                perToken.append(step)
            }
        }
        let chain = perToken
        return .success(StreamForm(
            middle: { Self.tokenBytes($0, chain, first: false) },
            first: { Self.tokenBytes($0, chain, first: true) },
            leadingStrip: leading))
    }

    struct StreamError: Error {
        var step: Step
        var reason: String
    }

    /// One token through the per-token steps; byte steps turn it into raw bytes.
    private static func tokenBytes(_ token: String, _ chain: [Step], first: Bool) -> [UInt8] {
        var t = token
        for step in chain {
            switch step {
            case .byteLevel:
                return ByteLevel.bytes(of: t) ?? Array(t.utf8)
            case .byteFallback:
                if let b = byteFallbackValue(t) { return [b] }
            case let .metaspace(replacement, scheme):
                t = metaspace(t, replacement, first: first && scheme != .never)
            case let .strip(content, start, stop):
                t = strip(t, content, start, stop)
            case let .replace(pattern, content):
                t = replace(t, pattern, content)
            case .fuse:
                break
            }
        }
        return Array(t.utf8)
    }
}

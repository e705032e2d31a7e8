import Foundation

/// Text on its way through a `tokenizer.json` pipeline. Besides the characters it remembers
/// which of them stand for the original text's first character: Hugging Face tracks an
/// alignment per character, and the one place it matters for ids is `Metaspace` with
/// `prepend_scheme: first`, which prepends `▁` only to a piece that starts at original offset 0.
/// Those characters are always one contiguous run (they all derive from one original
/// character), so a range stands for the whole alignment table.
struct PipelineText {
    var scalars: [Unicode.Scalar]
    var origin: Range<Int>

    /// Whether any character of `r` derives from the original first character.
    func atOrigin(_ r: Range<Int>) -> Bool { r.overlaps(origin) }
}

/// Builds a `PipelineText` while copying characters over, keeping the origin run.
struct PipelineTextBuilder {
    var scalars: [Unicode.Scalar] = []
    private var lo = -1, hi = -1

    init(capacity: Int) { scalars.reserveCapacity(capacity) }

    mutating func append(_ c: Unicode.Scalar, origin: Bool) {
        if origin {
            if lo < 0 { lo = scalars.count }
            hi = scalars.count + 1
        }
        scalars.append(c)
    }

    func build() -> PipelineText { PipelineText(scalars: scalars, origin: lo < 0 ? 0..<0 : lo..<hi) }
}

/// A `normalizer` of tokenizer.json. It runs on each stretch of text between added tokens
/// (and on the content of added tokens marked `normalized`), never across them.
indirect enum HFNormalizer: Sendable {
    case nfc, nfd, nfkc, nfkd
    case prepend([Unicode.Scalar])
    case replace(TextPattern, [Unicode.Scalar])
    case sequence([HFNormalizer])

    static let supportedTypes = ["NFC", "NFD", "NFKC", "NFKD", "Prepend", "Replace", "Sequence"]

    init(json node: JSONNode) throws(TokenizerError) {
        switch try node.typeTag() {
        case "NFC": self = .nfc
        case "NFD": self = .nfd
        case "NFKC": self = .nfkc
        case "NFKD": self = .nfkd
        case "Prepend":
            self = .prepend(Array(try node.required("prepend").string().unicodeScalars))
        case "Replace":
            self = .replace(try TextPattern(json: node.required("pattern")),
                            Array(try node.required("content").string().unicodeScalars))
        case "Sequence":
            var list: [HFNormalizer] = []
            for n in try node.required("normalizers").items() { list.append(try HFNormalizer(json: n)) }
            self = .sequence(list)
        case let other:
            throw node.unsupported("normalizer type '\(other)' (supported: \(Self.supportedTypes.joined(separator: ", ")))")
        }
    }

    func apply(_ t: inout PipelineText) {
        switch self {
        case .nfc: Self.unicodeForm(&t, stableBelow: 0x300) { $0.precomposedStringWithCanonicalMapping }
        case .nfd: Self.unicodeForm(&t, stableBelow: 0xC0) { $0.decomposedStringWithCanonicalMapping }
        case .nfkc: Self.unicodeForm(&t, stableBelow: 0xA0) { $0.precomposedStringWithCompatibilityMapping }
        case .nfkd: Self.unicodeForm(&t, stableBelow: 0xA0) { $0.decomposedStringWithCompatibilityMapping }
        case let .prepend(p):
            // The prepended characters align with the first character (HF `prepend`).
            guard !t.scalars.isEmpty, !p.isEmpty else { return }
            let first = t.atOrigin(0..<1)
            var b = PipelineTextBuilder(capacity: t.scalars.count + p.count)
            for c in p { b.append(c, origin: first) }
            for (k, c) in t.scalars.enumerated() { b.append(c, origin: t.atOrigin(k..<(k + 1))) }
            t = b.build()
        case let .replace(pattern, content):
            Self.replace(&t, pattern, content)
        case let .sequence(list):
            for n in list { n.apply(&t) }
        }
    }

    /// Normalization form through Foundation, skipping text that is certainly stable (every
    /// character below the first one any form changes). The origin run becomes the first
    /// character: what Hugging Face's alignments give except after reordering of leading marks.
    private static func unicodeForm(_ t: inout PipelineText, stableBelow: UInt32, _ f: (String) -> String) {
        guard t.scalars.contains(where: { $0.value >= stableBelow }) else { return }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: t.scalars)
        let out = Array(f(String(view)).unicodeScalars)
        let origin = !t.origin.isEmpty && t.origin.lowerBound == 0 && !out.isEmpty ? 0..<1 : 0..<0
        t = PipelineText(scalars: out, origin: origin)
    }

    /// HF `NormalizedString::replace`: every replacement character aligns with the last
    /// character of its match.
    static func replace(_ t: inout PipelineText, _ pattern: TextPattern, _ content: [Unicode.Scalar]) {
        guard !t.scalars.isEmpty else { return }
        var matches: [(Range<Int>, Bool)] = []
        pattern.findMatches(t.scalars, pattern.needsClasses ? CharClass.classify(t.scalars) : [],
                            0..<t.scalars.count, into: &matches)
        guard matches.contains(where: { $0.1 }) else { return }
        var b = PipelineTextBuilder(capacity: t.scalars.count)
        for (r, isMatch) in matches {
            if isMatch {
                let o = t.atOrigin((r.upperBound - 1)..<r.upperBound)
                for c in content { b.append(c, origin: o) }
            } else {
                for k in r { b.append(t.scalars[k], origin: t.atOrigin(k..<(k + 1))) }
            }
        }
        t = b.build()
    }
}

/// What happens to the delimiter when a `Split` (or `Digits`) cuts text, as in Hugging Face's
/// `SplitDelimiterBehavior`.
enum SplitBehavior: String, Sendable {
    case removed = "Removed"
    case isolated = "Isolated"
    case mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext"
    case contiguous = "Contiguous"

    /// The pieces of `find_matches` output (match flags already inverted where asked), appended
    /// to `out`; mirrors `NormalizedString::split`, including its folds' first-piece cases.
    func apply(_ m: [(Range<Int>, Bool)], into out: inout [Range<Int>]) {
        let start = out.count
        switch self {
        case .isolated:
            for (r, _) in m { out.append(r) }
        case .removed:
            for (r, isMatch) in m where !isMatch { out.append(r) }
        case .contiguous:
            var previous = false
            for (r, isMatch) in m {
                if isMatch == previous, out.count > start {
                    out[out.count - 1] = out[out.count - 1].lowerBound..<r.upperBound
                } else {
                    out.append(r)
                }
                previous = isMatch
            }
        case .mergedWithPrevious:
            var previous = false
            for (r, isMatch) in m {
                if isMatch, !previous, out.count > start {
                    out[out.count - 1] = out[out.count - 1].lowerBound..<r.upperBound
                } else {
                    out.append(r)
                }
                previous = isMatch
            }
        case .mergedWithNext:
            // HF folds from the end: a match joins the piece after it.
            var rev: [Range<Int>] = []
            var previous = false
            for (r, isMatch) in m.reversed() {
                if isMatch, !previous, !rev.isEmpty {
                    rev[rev.count - 1] = r.lowerBound..<rev[rev.count - 1].upperBound
                } else {
                    rev.append(r)
                }
                previous = isMatch
            }
            out.append(contentsOf: rev.reversed())
        }
    }
}

/// Metaspace's `prepend_scheme`.
enum PrependScheme: String, Sendable {
    case first, always, never
}

/// The stretches a `tokenizer.json` pre-tokenizer cuts one text into: ranges of one buffer.
struct PieceList {
    var text: PipelineText
    var ranges: [Range<Int>]
    /// A `ByteLevel` step has run but its byte→character mapping is left to the model, which
    /// reads the UTF-8 bytes directly (the common case: it is the last step).
    var byteLevel = false
    private var classes: [CharClass]?

    /// - Parameter classes: `text`'s character classes when already computed.
    init(_ text: PipelineText, _ range: Range<Int>, classes: [CharClass]? = nil) {
        self.text = text
        ranges = range.isEmpty ? [] : [range]
        self.classes = classes
    }

    mutating func cls() -> [CharClass] {
        if let c = classes { return c }
        let c = CharClass.classify(text.scalars)
        classes = c
        return c
    }

    /// Replaces the buffer (after a step rewrote characters).
    mutating func replace(_ b: PipelineTextBuilder, ranges: [Range<Int>]) {
        text = b.build()
        self.ranges = ranges
        classes = nil
    }

    /// Spells each piece in byte-level characters, for steps that follow `ByteLevel`.
    mutating func materializeByteLevel() {
        guard byteLevel else { return }
        byteLevel = false
        var b = PipelineTextBuilder(capacity: text.scalars.count * 2)
        var newRanges: [Range<Int>] = []
        for r in ranges {
            let lo = b.scalars.count
            for k in r {
                let o = text.atOrigin(k..<(k + 1))
                UTF8.encode(text.scalars[k]) { b.append(ByteLevel.byteToScalar[Int($0)], origin: o) }
            }
            newRanges.append(lo..<b.scalars.count)
        }
        replace(b, ranges: newRanges)
    }
}

/// One step of a `tokenizer.json` pre-tokenizer (a `Sequence` is flattened into its steps).
enum HFPreTokenizer: Sendable {
    case split(TextPattern, SplitBehavior, invert: Bool)
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    case metaspace(replacement: Unicode.Scalar, prepend: PrependScheme, split: Bool)

    static let supportedTypes = ["Split", "ByteLevel", "Digits", "Metaspace", "Sequence"]

    /// The steps of a pre-tokenizer object, in order.
    static func steps(json node: JSONNode) throws(TokenizerError) -> [HFPreTokenizer] {
        switch try node.typeTag() {
        case "Sequence":
            var out: [HFPreTokenizer] = []
            for n in try node.required("pretokenizers").items() { out += try steps(json: n) }
            return out
        case "Split":
            let behaviorName = try node.required("behavior").string()
            guard let behavior = SplitBehavior(rawValue: behaviorName) else {
                throw node.fail("unknown split behavior '\(behaviorName)'")
            }
            return [.split(try TextPattern(json: node.required("pattern")), behavior,
                           invert: try node.required("invert").bool())]
        case "Digits":
            // Rust's `char::is_numeric` is \p{N}. Contiguous on one-character matches gives
            // the same pieces as isolating maximal runs.
            let individual = try node.optionalBool("individual_digits") ?? false
            return [.split(.stage(individual ? .eachNumber : .numberRuns), .isolated, invert: false)]
        case "ByteLevel":
            return [.byteLevel(addPrefixSpace: try node.optionalBool("add_prefix_space") ?? true,
                               useRegex: try node.optionalBool("use_regex") ?? true)]
        case "Metaspace":
            let (replacement, scheme) = try metaspaceFields(node)
            return [.metaspace(replacement: replacement, prepend: scheme, split: try node.optionalBool("split") ?? true)]
        case let other:
            throw node.unsupported("pre-tokenizer type '\(other)' (supported: \(supportedTypes.joined(separator: ", ")))")
        }
    }

    /// `replacement` and `prepend_scheme` of a Metaspace pre-tokenizer or decoder, with the
    /// legacy `add_prefix_space` resolved as Hugging Face's deserializer does.
    static func metaspaceFields(_ node: JSONNode) throws(TokenizerError) -> (Unicode.Scalar, PrependScheme) {
        let replacement = try node.required("replacement").scalar()
        var scheme = PrependScheme.always
        if let s = try node.optional("prepend_scheme") {
            guard let v = PrependScheme(rawValue: try s.string()) else { throw s.fail("unknown prepend_scheme") }
            scheme = v
        }
        if try node.optionalBool("add_prefix_space") == false {
            guard scheme == .never else { throw node.fail("add_prefix_space does not match declared prepend_scheme") }
        }
        return (replacement, scheme)
    }

    /// Runs the steps over `pieces`.
    static func run(_ steps: [HFPreTokenizer], _ pieces: inout PieceList) {
        for step in steps {
            pieces.materializeByteLevel()
            step.apply(&pieces)
        }
    }

    private func apply(_ p: inout PieceList) {
        switch self {
        case let .split(.stage(stage), .isolated, _):
            // Isolated keeps matches and gaps alike, so inverting changes nothing: the stage's
            // own splitter does it without flags.
            let matcher = Matcher(s: p.text.scalars, cls: p.cls())
            var out: [Range<Int>] = []
            out.reserveCapacity(p.ranges.count * 2)
            for r in p.ranges { matcher.split(r, stage, into: &out) }
            p.ranges = out
        case let .split(pattern, behavior, invert):
            let cls = pattern.needsClasses ? p.cls() : []
            var out: [Range<Int>] = []
            out.reserveCapacity(p.ranges.count * 2)
            var m: [(Range<Int>, Bool)] = []
            for r in p.ranges {
                m.removeAll(keepingCapacity: true)
                pattern.findMatches(p.text.scalars, cls, r, into: &m)
                if invert { for k in m.indices { m[k].1.toggle() } }
                behavior.apply(m, into: &out)
            }
            p.ranges = out
        case let .byteLevel(addPrefixSpace, useRegex):
            if addPrefixSpace, p.ranges.contains(where: { p.text.scalars[$0.lowerBound] != " " }) {
                Self.prefixEach(&p, with: " ", when: { _ in true })
            }
            if useRegex {
                let cls = p.cls()
                let matcher = Matcher(s: p.text.scalars, cls: cls)
                var out: [Range<Int>] = []
                out.reserveCapacity(p.ranges.count * 4)
                for r in p.ranges { matcher.split(r, .gpt2, into: &out) }
                p.ranges = out
            }
            p.byteLevel = true
        case let .metaspace(replacement, scheme, split):
            Self.metaspace(&p, replacement, scheme, split)
        }
    }

    /// Prepends `c` to every piece that does not already start with it and for which `when`
    /// holds (HF `prepend`: the new character aligns with the piece's first one).
    private static func prefixEach(_ p: inout PieceList, with c: Unicode.Scalar, when: (Range<Int>) -> Bool) {
        var b = PipelineTextBuilder(capacity: p.text.scalars.count + p.ranges.count)
        var ranges: [Range<Int>] = []
        ranges.reserveCapacity(p.ranges.count)
        for r in p.ranges {
            let lo = b.scalars.count
            if p.text.scalars[r.lowerBound] != c, when(r) {
                b.append(c, origin: p.text.atOrigin(r.lowerBound..<(r.lowerBound + 1)))
            }
            for k in r { b.append(p.text.scalars[k], origin: p.text.atOrigin(k..<(k + 1))) }
            ranges.append(lo..<b.scalars.count)
        }
        p.replace(b, ranges: ranges)
    }

    private static func metaspace(_ p: inout PieceList, _ replacement: Unicode.Scalar,
                                  _ scheme: PrependScheme, _ split: Bool) {
        var b = PipelineTextBuilder(capacity: p.text.scalars.count + p.ranges.count)
        var ranges: [Range<Int>] = []
        for r in p.ranges {
            let lo = b.scalars.count
            let first = p.text.scalars[r.lowerBound] == " " ? replacement : p.text.scalars[r.lowerBound]
            let prepend: Bool
            switch scheme {
            case .always: prepend = first != replacement
            case .first: prepend = first != replacement && p.text.atOrigin(r)
            case .never: prepend = false
            }
            if prepend { b.append(replacement, origin: p.text.atOrigin(r.lowerBound..<(r.lowerBound + 1))) }
            for k in r {
                let c = p.text.scalars[k]
                b.append(c == " " ? replacement : c, origin: p.text.atOrigin(k..<(k + 1)))
            }
            ranges.append(lo..<b.scalars.count)
        }
        p.replace(b, ranges: ranges)
        guard split else { return }
        var out: [Range<Int>] = []
        var m: [(Range<Int>, Bool)] = []
        for r in p.ranges {
            m.removeAll(keepingCapacity: true)
            TextPattern.scalar(replacement).findMatches(p.text.scalars, [], r, into: &m)
            SplitBehavior.mergedWithNext.apply(m, into: &out)
        }
        p.ranges = out
    }
}

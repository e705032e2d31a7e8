/// Splits text into the pieces ("words") that byte-level BPE encodes independently, following the
/// regex list llama.cpp's llama-vocab selects for each `tokenizer.ggml.pre` value.
///
/// The regexes are matched by hand rather than with a regex engine: it is several times faster,
/// avoids Foundation, and makes the backtracking behaviour of `\s+(?!\S)` explicit. Each stage
/// is one regex applied to every piece the previous stage produced; as in llama.cpp and Hugging
/// Face's `Split(..., behavior: isolated)`, both the matches and the unmatched gaps between them
/// become pieces, so no text is ever dropped.
struct PreTokenizer: Sendable {
    enum Stage: Sendable {
        /// `\p{N}` — every number character on its own (SmolLM, StarCoder).
        case eachNumber
        /// GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
        case gpt2
        /// Llama 3 (maxDigits 3) and Qwen 2 (maxDigits 1):
        /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,maxDigits}|
        ///  ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
        case llama3(maxDigits: Int)
        /// `[\p{P}\$\+<=>\^~\|]+` (llama.cpp's default BPE pre-tokenizer).
        case punctuationRuns
        /// `\p{N}+`
        case numberRuns
        /// `[0-9][0-9][0-9]`
        case asciiDigitTriples
    }

    let stages: [Stage]
    /// Llama 3 looks a whole piece up in the vocabulary before merging (HF `ignore_merges`).
    let ignoreMerges: Bool

    static let supportedNames = [
        "default", "gpt2", "mpt", "olmo", "jais",
        "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva",
        "llama-bpe", "llama3", "llama-v3", "dbrx", "smaug-bpe",
        "qwen2", "stablelm2",
    ]

    /// The pre-tokenizer for a `tokenizer.ggml.pre` value; nil when it is not supported.
    /// A model without the key gets llama.cpp's default.
    init?(name: String?) {
        switch name ?? "default" {
        case "default":
            self.init(stages: [.punctuationRuns, .gpt2, .numberRuns, .asciiDigitTriples])
        case "gpt2", "mpt", "olmo", "jais":
            self.init(stages: [.gpt2])
        case "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva":
            self.init(stages: [.eachNumber, .gpt2])
        case "llama-bpe", "llama3", "llama-v3", "dbrx", "smaug-bpe":
            self.init(stages: [.llama3(maxDigits: 3)], ignoreMerges: true)
        case "qwen2", "stablelm2":
            self.init(stages: [.llama3(maxDigits: 1)])
        default:
            return nil
        }
    }

    init(stages: [Stage], ignoreMerges: Bool = false) {
        self.stages = stages
        self.ignoreMerges = ignoreMerges
    }

    /// The pieces of `range` within `s` (whose classes are `cls`), in order, covering it exactly.
    func split(_ s: [Unicode.Scalar], _ cls: [CharClass], _ range: Range<Int>) -> [Range<Int>] {
        var pieces = range.isEmpty ? [] : [range]
        for stage in stages {
            var next: [Range<Int>] = []
            next.reserveCapacity(pieces.count * 2)
            let m = Matcher(s: s, cls: cls)
            for piece in pieces { m.split(piece, stage, into: &next) }
            pieces = next
        }
        return pieces
    }
}

/// Leftmost-first matching of one stage's regex inside a piece; `match` returns the end of the
/// match at `i`, or `i` when the regex does not match there.
struct Matcher {
    let s: [Unicode.Scalar]
    let cls: [CharClass]

    func split(_ r: Range<Int>, _ stage: PreTokenizer.Stage, into out: inout [Range<Int>]) {
        var gapStart = r.lowerBound
        var i = r.lowerBound
        while i < r.upperBound {
            let e = match(stage, i, r.upperBound)
            if e > i {
                if gapStart < i { out.append(gapStart..<i) }
                out.append(i..<e)
                i = e
                gapStart = e
            } else {
                i += 1
            }
        }
        if gapStart < r.upperBound { out.append(gapStart..<r.upperBound) }
    }

    /// Hugging Face's `find_matches`: the stage's matches in `r` and the gaps between them, in
    /// order and covering `r`, each flagged whether it is a match.
    func findMatches(_ r: Range<Int>, _ stage: PreTokenizer.Stage, into out: inout [(Range<Int>, Bool)]) {
        var gapStart = r.lowerBound
        var i = r.lowerBound
        while i < r.upperBound {
            let e = match(stage, i, r.upperBound)
            if e > i {
                if gapStart < i { out.append((gapStart..<i, false)) }
                out.append((i..<e, true))
                i = e
                gapStart = e
            } else {
                i += 1
            }
        }
        if gapStart < r.upperBound { out.append((gapStart..<r.upperBound, false)) }
    }

    private func match(_ stage: PreTokenizer.Stage, _ i: Int, _ end: Int) -> Int {
        switch stage {
        case .eachNumber: return cls[i].contains(.number) ? i + 1 : i
        case .numberRuns: return run(from: i, end) { $0.contains(.number) }
        case .gpt2: return gpt2(i, end)
        case let .llama3(maxDigits): return llama3(i, end, maxDigits)
        case .punctuationRuns:
            return runScalars(from: i, end) { u, c in
                c.contains(.punctuation) || "$+<=>^~|".unicodeScalars.contains(u)
            }
        case .asciiDigitTriples:
            guard i + 3 <= end else { return i }
            for k in i..<(i + 3) where !("0"..."9").contains(s[k]) { return i }
            return i + 3
        }
    }

    private func run(from i: Int, _ end: Int, _ pred: (CharClass) -> Bool) -> Int {
        var j = i
        while j < end, pred(cls[j]) { j += 1 }
        return j
    }

    private func runScalars(from i: Int, _ end: Int, _ pred: (Unicode.Scalar, CharClass) -> Bool) -> Int {
        var j = i
        while j < end, pred(s[j], cls[j]) { j += 1 }
        return j
    }

    private func isNewline(_ k: Int) -> Bool { s[k] == "\r" || s[k] == "\n" }

    /// `'s|'t|'re|'ve|'m|'ll|'d` — case-sensitive (GPT-2) or not (Llama 3); end index or nil.
    private func contraction(_ i: Int, _ end: Int, caseInsensitive: Bool) -> Int? {
        guard s[i] == "'", i + 1 < end else { return nil }
        func lower(_ u: Unicode.Scalar) -> Unicode.Scalar {
            caseInsensitive && ("A"..."Z").contains(u) ? Unicode.Scalar(u.value + 32)! : u
        }
        let a = lower(s[i + 1])
        if a == "s" || a == "t" || a == "m" || a == "d" { return i + 2 }
        guard i + 2 < end else { return nil }
        let b = lower(s[i + 2])
        if (a == "r" && b == "e") || (a == "v" && b == "e") || (a == "l" && b == "l") { return i + 3 }
        return nil
    }

    /// `\s+(?!\S)|\s+` at a whitespace character: the whole run when it ends the piece or is a
    /// single character; otherwise all but its last character, which the backtracking lookahead
    /// leaves to prefix the next word (" word").
    private func whitespace(_ i: Int, _ end: Int) -> Int {
        let e = run(from: i, end) { $0.contains(.whitespace) }
        if e == end || e - i == 1 { return e }
        return e - 1
    }

    private func gpt2(_ i: Int, _ end: Int) -> Int {
        if let e = contraction(i, end, caseInsensitive: false) { return e }
        // ` ?X+`: a literal space joins the run of letters, numbers or other symbols after it.
        var j = i
        if s[i] == " ", i + 1 < end, !cls[i + 1].contains(.whitespace) { j = i + 1 }
        let c = cls[j]
        if c.contains(.letter) { return run(from: j, end) { $0.contains(.letter) } }
        if c.contains(.number) { return run(from: j, end) { $0.contains(.number) } }
        if c.isOther { return run(from: j, end) { $0.isOther } }
        return whitespace(i, end)
    }

    private func llama3(_ i: Int, _ end: Int, _ maxDigits: Int) -> Int {
        if let e = contraction(i, end, caseInsensitive: true) { return e }
        let c = cls[i]
        // `[^\r\n\p{L}\p{N}]?\p{L}+`
        if c.contains(.letter) { return run(from: i, end) { $0.contains(.letter) } }
        if !c.contains(.number), !isNewline(i), i + 1 < end, cls[i + 1].contains(.letter) {
            return run(from: i + 1, end) { $0.contains(.letter) }
        }
        // `\p{N}{1,maxDigits}`
        if c.contains(.number) {
            var j = i
            while j < end, j - i < maxDigits, cls[j].contains(.number) { j += 1 }
            return j
        }
        // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
        var j = i
        if s[i] == " ", i + 1 < end, cls[i + 1].isOther { j = i + 1 }
        if cls[j].isOther {
            var e = run(from: j, end) { $0.isOther }
            while e < end, isNewline(e) { e += 1 }
            return e
        }
        // `\s*[\r\n]+`: backtracking ends the match just after the run's last newline.
        let e = run(from: i, end) { $0.contains(.whitespace) }
        var k = e - 1
        while k >= i, !isNewline(k) { k -= 1 }
        if k >= i { return k + 1 }
        return whitespace(i, end)
    }
}

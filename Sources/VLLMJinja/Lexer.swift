/// Splits template source into text and tag tokens, applying whitespace control the way jinja2
/// does with Hugging Face's settings (`trim_blocks=True`, `lstrip_blocks=True`,
/// `keep_trailing_newline=False`).
struct Lexer {
    private let src: Scalars
    private var pos = 0
    private var tokens: [Token] = []
    /// Whether the last consumed tag ended with a newline: lstrip_blocks then strips indentation
    /// before the next tag even though the text between them holds no newline.
    private var lineStarting = true
    private var lineStarts: [Int] = [0]

    static func tokenize(_ source: String) throws(TemplateError) -> [Token] {
        var lexer = Lexer(source)
        try lexer.run()
        return lexer.tokens
    }

    private init(_ source: String) {
        // jinja2 splits the source with str.splitlines() and joins with "\n": every line break
        // becomes "\n" and a single trailing one disappears.
        src = Array(source.scalars.splitLines().joined(separator: ["\n"]))
        for (i, c) in src.enumerated() where c == "\n" { lineStarts.append(i + 1) }
    }

    private func line(at p: Int) -> Int {
        var lo = 0, hi = lineStarts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if lineStarts[mid] <= p { lo = mid } else { hi = mid - 1 }
        }
        return lo + 1
    }

    private func at(_ p: Int, _ s: String) -> Bool {
        var i = p
        for u in s.unicodeScalars {
            guard i < src.count, src[i] == u else { return false }
            i += 1
        }
        return true
    }

    private mutating func skipWhitespace() { while pos < src.count && src[pos].isPyWhitespace { pos += 1 } }

    private mutating func emit(_ kind: Token.Kind, at p: Int) { tokens.append(Token(kind: kind, line: line(at: p))) }

    private mutating func run() throws(TemplateError) {
        while pos < src.count {
            guard let tagStart = nextTag(from: pos) else {
                emit(.text(String(src[pos...])), at: pos)
                break
            }
            var text = Array(src[pos..<tagStart])
            let kind = src[tagStart + 1]
            var p = tagStart + 2
            var sign: Unicode.Scalar?
            if p < src.count, src[p] == "-" || src[p] == "+" { sign = src[p]; p += 1 }
            if sign == "-" {
                text = text.stripped(nil, leading: false)
            } else if sign != "+" && kind != "{" {
                text = lstripped(text)
            }
            if !text.isEmpty { emit(.text(String(text)), at: pos) }
            pos = p
            switch kind {
            case "#": try comment(start: tagStart)
            case "%":
                if try !rawBlock(start: tagStart) {
                    emit(.blockBegin, at: tagStart)
                    try tag(block: true, start: tagStart)
                }
            default:
                emit(.variableBegin, at: tagStart)
                try tag(block: false, start: tagStart)
            }
        }
        emit(.end, at: src.count)
    }

    private func nextTag(from start: Int) -> Int? {
        var i = start
        while i + 1 < src.count {
            if src[i] == "{" { let c = src[i + 1]; if c == "{" || c == "%" || c == "#" { return i } }
            i += 1
        }
        return nil
    }

    /// lstrip_blocks: indentation alone on its line before a block or comment tag goes away.
    private func lstripped(_ text: Scalars) -> Scalars {
        let lineStart = (text.lastIndex(of: "\n") ?? -1) + 1
        guard lineStart > 0 || lineStarting, lineStart < text.count,
              text[lineStart...].allSatisfy(\.isPyWhitespace) else { return text }
        return Array(text[..<lineStart])
    }

    /// After `%}` or `#}`: `-` eats all following whitespace, `+` nothing, otherwise
    /// trim_blocks eats one newline.
    private mutating func closeTag(modifier: Unicode.Scalar?, trimNewline: Bool) {
        if modifier == "-" { skipWhitespace() } else if modifier != "+" && trimNewline && pos < src.count && src[pos] == "\n" { pos += 1 }
        lineStarting = pos > 0 && src[pos - 1] == "\n"
    }

    private mutating func comment(start: Int) throws(TemplateError) {
        let bodyStart = pos
        var j = pos
        while j + 1 < src.count && !(src[j] == "#" && src[j + 1] == "}") { j += 1 }
        guard j + 1 < src.count else { throw .syntax("Missing end of comment tag", line(at: start)) }
        let modifier: Unicode.Scalar? = j - 1 >= bodyStart && (src[j - 1] == "-" || src[j - 1] == "+") ? src[j - 1] : nil
        pos = j + 2
        closeTag(modifier: modifier, trimNewline: true)
    }

    /// `{% raw %}…{% endraw %}`: the body is text, tags inside it are not interpreted.
    private mutating func rawBlock(start: Int) throws(TemplateError) -> Bool {
        var p = pos
        while p < src.count && src[p].isPyWhitespace { p += 1 }
        guard at(p, "raw") else { return false }
        p += 3
        while p < src.count && src[p].isPyWhitespace { p += 1 }
        var openModifier: Unicode.Scalar?
        if at(p, "-%}") { openModifier = "-"; p += 1 }
        guard at(p, "%}") else { return false }
        pos = p + 2
        if openModifier == "-" { skipWhitespace() }
        var i = pos
        while i < src.count {
            if at(i, "{%") {
                var q = i + 2
                var sign: Unicode.Scalar?
                if q < src.count && (src[q] == "-" || src[q] == "+") { sign = src[q]; q += 1 }
                while q < src.count && src[q].isPyWhitespace { q += 1 }
                if at(q, "endraw") {
                    q += 6
                    while q < src.count && src[q].isPyWhitespace { q += 1 }
                    var closeModifier: Unicode.Scalar?
                    if at(q, "-%}") || at(q, "+%}") { closeModifier = src[q]; q += 1 }
                    if at(q, "%}") {
                        var body = Array(src[pos..<i])
                        if sign == "-" { body = body.stripped(nil, leading: false) }
                        else if sign != "+" { lineStarting = false; body = lstripped(body) }
                        if !body.isEmpty { emit(.text(String(body)), at: pos) }
                        pos = q + 2
                        closeTag(modifier: closeModifier, trimNewline: true)
                        return true
                    }
                }
            }
            i += 1
        }
        throw .syntax("Missing end of raw directive", line(at: start))
    }

    /// The tokens inside `{% … %}` or `{{ … }}`, up to and including the closing delimiter.
    private mutating func tag(block: Bool, start: Int) throws(TemplateError) {
        var depth = 0
        while true {
            skipWhitespace()
            guard pos < src.count else {
                throw .syntax("unexpected end of template, expected '\(block ? "end of statement block" : "end of print statement")'.", line(at: start))
            }
            // Closing delimiters only count outside brackets, so `{{ {'a': {}} }}` works.
            if depth == 0 {
                let close = block ? "%}" : "}}"
                if at(pos, "-" + close) {
                    pos += 3
                    emit(block ? .blockEnd : .variableEnd, at: pos - 3)
                    closeTag(modifier: "-", trimNewline: block)
                    return
                }
                if block && at(pos, "+%}") {
                    pos += 3
                    emit(.blockEnd, at: pos - 3)
                    closeTag(modifier: "+", trimNewline: true)
                    return
                }
                if at(pos, close) {
                    pos += 2
                    emit(block ? .blockEnd : .variableEnd, at: pos - 2)
                    closeTag(modifier: nil, trimNewline: block)
                    return
                }
            }
            let tokenStart = pos
            let kind = try ExpressionScanner.scan(src, &pos, line: line(at: pos))
            if case let .op(o) = kind {
                if o == "(" || o == "[" || o == "{" { depth += 1 }
                if (o == ")" || o == "]" || o == "}") && depth > 0 { depth -= 1 }
            }
            emit(kind, at: tokenStart)
        }
    }
}

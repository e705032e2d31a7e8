/// Python string semantics on code points. Swift's `String` works on grapheme clusters and
/// compares up to canonical equivalence; Python indexes, searches and compares code points, so
/// every string operation a template can observe goes through these.
typealias Scalars = [Unicode.Scalar]

extension String {
    var scalars: Scalars { Array(unicodeScalars) }
    init(_ scalars: some Sequence<Unicode.Scalar>) {
        var v = String.UnicodeScalarView()
        v.append(contentsOf: scalars)
        self = String(v)
    }
    /// Python `==` on strings.
    func pyEquals(_ other: String) -> Bool { unicodeScalars.elementsEqual(other.unicodeScalars) }
    /// Python `<` on strings: code point order.
    func pyLess(_ other: String) -> Bool {
        unicodeScalars.lexicographicallyPrecedes(other.unicodeScalars) { $0.value < $1.value }
    }
    /// `len(s)`.
    var pyCount: Int { unicodeScalars.count }
}

extension Unicode.Scalar {
    /// The value of an ASCII digit (format specs take no other digits).
    var decimalDigit: Int? { ("0"..."9").contains(self) ? Int(value) - 48 : nil }

    /// `str.isspace()` for one character.
    var isPyWhitespace: Bool {
        switch value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0: return true
        default: return value > 0x7F && properties.isWhitespace
        }
    }
}

extension Array where Element == Unicode.Scalar {
    /// First index of `needle` at or after `start` (`str.find`).
    func find(_ needle: Scalars, from start: Int = 0, to end: Int? = nil) -> Int? {
        let end = Swift.min(end ?? count, count)
        guard needle.count <= end - start else { return nil }
        if needle.isEmpty { return start }
        var i = Swift.max(start, 0)
        while i + needle.count <= end {
            if self[i] == needle[0] && self[i..<i + needle.count].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }

    /// Last index of `needle` (`str.rfind`).
    func rfind(_ needle: Scalars, from start: Int = 0, to end: Int? = nil) -> Int? {
        let end = Swift.min(end ?? count, count)
        guard needle.count <= end - start else { return nil }
        var i = end - needle.count
        while i >= start {
            if self[i..<i + needle.count].elementsEqual(needle) { return i }
            i -= 1
        }
        return nil
    }

    func hasPrefix(_ p: Scalars) -> Bool { p.count <= count && self[0..<p.count].elementsEqual(p) }
    func hasSuffix(_ p: Scalars) -> Bool { p.count <= count && self[(count - p.count)...].elementsEqual(p) }

    /// `str.strip(chars)`: with nil, Python whitespace.
    func stripped(_ chars: Scalars?, leading: Bool = true, trailing: Bool = true) -> Scalars {
        let drop: (Unicode.Scalar) -> Bool = chars.map { set in { set.contains($0) } } ?? { $0.isPyWhitespace }
        var lo = 0, hi = count
        if leading { while lo < hi && drop(self[lo]) { lo += 1 } }
        if trailing { while hi > lo && drop(self[hi - 1]) { hi -= 1 } }
        return Array(self[lo..<hi])
    }

    /// `str.replace(old, new, count)`; an empty `old` inserts `new` around every character.
    /// The result is checked as it grows: one replacement can multiply the text's size.
    func replacing(_ old: Scalars, with new: Scalars, count limit: Int = -1, budget: Budget) throws(TemplateError) -> Scalars {
        var out: Scalars = [], i = 0, done = 0
        func add(_ piece: some Collection<Unicode.Scalar>) throws(TemplateError) {
            // Code points never outnumber UTF-8 bytes, so this never refuses a result that fits.
            try budget.checkString(out.count, plus: piece.count)
            try budget.chargeCopy(piece.count &* 4)
            out += piece
        }
        if old.isEmpty {
            for c in self {
                if limit < 0 || done < limit { try add(new); done += 1 }
                out.append(c)
            }
            if limit < 0 || done < limit { try add(new) }
            return out
        }
        while let j = find(old, from: i), limit < 0 || done < limit {
            try add(self[i..<j])
            try add(new)
            i = j + old.count
            done += 1
        }
        try add(self[i...])
        return out
    }

    /// `str.split(sep, maxsplit)`; a nil separator splits on runs of whitespace and drops empties.
    func pySplit(_ sep: Scalars?, maxsplit: Int = -1) throws(TemplateError) -> [Scalars] {
        var parts: [Scalars] = []
        guard let sep else {
            var i = 0
            while true {
                while i < count && self[i].isPyWhitespace { i += 1 }
                if i == count { break }
                if maxsplit >= 0 && parts.count == maxsplit {
                    parts.append(Array(self[i...]).stripped(nil, leading: false))
                    break
                }
                var j = i
                while j < count && !self[j].isPyWhitespace { j += 1 }
                parts.append(Array(self[i..<j]))
                i = j
            }
            return parts
        }
        guard !sep.isEmpty else { throw .value("empty separator") }
        var i = 0
        while maxsplit < 0 || parts.count < maxsplit, let j = find(sep, from: i) {
            parts.append(Array(self[i..<j]))
            i = j + sep.count
        }
        parts.append(Array(self[i...]))
        return parts
    }

    /// `str.rsplit(sep, maxsplit)`.
    func pyRSplit(_ sep: Scalars?, maxsplit: Int = -1) throws(TemplateError) -> [Scalars] {
        if maxsplit < 0 { return try pySplit(sep) }
        let reversedParts = try Array(reversed()).pySplit(sep.map { Array($0.reversed()) }, maxsplit: maxsplit)
        return reversedParts.reversed().map { Array($0.reversed()) }
    }

    /// `str.splitlines(keepends)`.
    func splitLines(keepEnds: Bool = false) -> [Scalars] {
        var lines: [Scalars] = [], start = 0, i = 0
        while i < count {
            let c = self[i]
            if isLineBreak(c) {
                var end = i + 1
                if c == "\r" && end < count && self[end] == "\n" { end += 1 }
                lines.append(Array(self[start..<(keepEnds ? end : i)]))
                start = end
                i = end
            } else {
                i += 1
            }
        }
        if start < count { lines.append(Array(self[start...])) }
        return lines
    }
}

/// The characters `str.splitlines` breaks at.
func isLineBreak(_ c: Unicode.Scalar) -> Bool {
    switch c.value {
    case 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029: return true
    default: return false
    }
}

enum Case {
    static func upper(_ s: String) -> String { s.uppercased() }
    static func lower(_ s: String) -> String { s.lowercased() }

    /// `str.capitalize()`: first character title-cased, the rest lower-cased.
    static func capitalize(_ s: String) -> String {
        guard let first = s.unicodeScalars.first else { return s }
        return first.properties.titlecaseMapping + String(s.unicodeScalars.dropFirst()).lowercased()
    }

    /// `str.title()`: a cased character after an uncased one starts a word.
    static func pyTitle(_ s: String) -> String {
        var out = "", previousCased = false
        for u in s.unicodeScalars {
            out += previousCased ? u.properties.lowercaseMapping : u.properties.titlecaseMapping
            let p = u.properties
            previousCased = p.isLowercase || p.isUppercase || p.generalCategory == .titlecaseLetter
        }
        return out
    }

    /// jinja2's `title` filter: words start after whitespace or one of `-([{<`.
    static func jinjaTitle(_ s: String) -> String {
        var out = "", atStart = true
        for u in s.unicodeScalars {
            if u.isPyWhitespace || "-([{<".unicodeScalars.contains(u) {
                out.unicodeScalars.append(u)
                atStart = true
            } else {
                out += atStart ? u.properties.uppercaseMapping : u.properties.lowercaseMapping
                atStart = false
            }
        }
        return out
    }

    static func swapcase(_ s: String) -> String {
        s.unicodeScalars.map { u in
            u.properties.isUppercase ? u.properties.lowercaseMapping
                : u.properties.isLowercase ? u.properties.uppercaseMapping : String(u)
        }.joined()
    }
}

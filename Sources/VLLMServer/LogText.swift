/// Client-supplied text as it may appear in a log line.
enum LogText {
    /// At most `limit` characters (`--max-log-len`; nil: all), with control and
    /// direction-changing characters escaped, so a prompt, id or name can neither forge log
    /// lines nor reorder what a terminal shows.
    static func escaped(_ text: String, limit: Int?) -> String {
        var shown = Substring(text)
        var cut = false
        if let n = limit, shown.count > n {
            shown = shown.prefix(n)
            cut = true
        }
        var out = ""
        for scalar in shown.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            default:
                let v = scalar.value
                let control = v < 0x20 || (0x7f..<0xa0).contains(v) || (0x202a...0x202e).contains(v)
                    || (0x2066...0x2069).contains(v) || v == 0x2028 || v == 0x2029
                if control { out += "\\u{\(String(v, radix: 16))}" } else { out.unicodeScalars.append(scalar) }
            }
        }
        return cut ? out + "…" : out
    }

    /// `escaped` in double quotes.
    static func quoted(_ text: String, limit: Int?) -> String { "\"" + escaped(text, limit: limit) + "\"" }
}

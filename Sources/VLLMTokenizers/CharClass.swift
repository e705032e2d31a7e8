/// The Unicode classes the pre-tokenizer regexes test (`\p{L}`, `\p{N}`, `\s`, `\p{P}`), one
/// byte per scalar so the splitting loops never query Unicode properties twice.
struct CharClass: OptionSet, Sendable {
    let rawValue: UInt8
    static let letter = CharClass(rawValue: 1)       // \p{L}
    static let number = CharClass(rawValue: 2)       // \p{N}
    static let whitespace = CharClass(rawValue: 4)   // \s (Unicode White_Space)
    static let punctuation = CharClass(rawValue: 8)  // \p{P}

    /// Neither letter, number nor whitespace: `[^\s\p{L}\p{N}]`.
    var isOther: Bool { intersection([.letter, .number, .whitespace]).isEmpty }

    /// ASCII is by far the common case; a table avoids the property lookups.
    private static let ascii: [CharClass] = (0..<128).map { classifySlow(Unicode.Scalar(UInt8($0))) }

    static func of(_ s: Unicode.Scalar) -> CharClass {
        s.value < 128 ? ascii[Int(s.value)] : classifySlow(s)
    }

    static func classify(_ scalars: [Unicode.Scalar]) -> [CharClass] {
        scalars.map(of)
    }

    private static func classifySlow(_ s: Unicode.Scalar) -> CharClass {
        let p = s.properties
        var c: CharClass = []
        if p.isWhitespace { c.insert(.whitespace) }
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            c.insert(.letter)
        case .decimalNumber, .letterNumber, .otherNumber:
            c.insert(.number)
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            c.insert(.punctuation)
        default:
            break
        }
        return c
    }
}

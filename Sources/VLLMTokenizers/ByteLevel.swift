/// GPT-2's reversible byte↔character table. Byte-level BPE vocabularies spell every byte as a
/// printable character so that merges never see control characters or spaces: printable Latin-1
/// bytes stand for themselves, the other 68 bytes map in order onto U+0100…U+0143
/// (space becomes `Ġ`, newline `Ċ`).
enum ByteLevel {
    /// The character that spells each byte.
    static let byteToScalar: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var extra: UInt32 = 256
        for b in 0..<256 {
            let printable = (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b)
            if printable {
                table[b] = Unicode.Scalar(UInt32(b))!
            } else {
                table[b] = Unicode.Scalar(extra)!
                extra += 1
            }
        }
        return table
    }()

    /// Inverse of `byteToScalar`, indexed by scalar value; -1 for characters that spell no byte.
    static let scalarToByte: [Int16] = {
        var table = [Int16](repeating: -1, count: 512)
        for (b, s) in byteToScalar.enumerated() { table[Int(s.value)] = Int16(b) }
        return table
    }()

    /// The bytes a byte-level token string stands for; `nil` if some character spells no byte
    /// (then the string is not a byte-level token, e.g. an added token stored literally).
    static func bytes(of tokenText: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(tokenText.utf8.count)
        for s in tokenText.unicodeScalars {
            guard s.value < 512, case let b = scalarToByte[Int(s.value)], b >= 0 else { return nil }
            out.append(UInt8(b))
        }
        return out
    }

    /// The byte-level spelling of some bytes (the form vocab and merges use).
    static func spell(_ bytes: some Sequence<UInt8>) -> String {
        var view = String.UnicodeScalarView()
        for b in bytes { view.append(byteToScalar[Int(b)]) }
        return String(view)
    }
}

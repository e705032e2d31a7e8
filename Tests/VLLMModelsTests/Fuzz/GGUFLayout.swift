/// The integer fields of a valid GGUF file's header, found by walking it independently of the
/// parser under test, so structured mutations can aim at counts, lengths, types, dimensions and
/// offsets. Layout per ggml's docs/gguf.md (v2/v3, little-endian): magic u32, version u32,
/// tensor_count u64, metadata_kv_count u64; each KV: key (u64 length + bytes), value type u32,
/// value (strings: u64 length + bytes; arrays: element type u32, count u64, elements); each
/// tensor info: name, n_dims u32, n_dims × u64 dims, ggml type u32, offset u64; then padding to
/// `general.alignment` and the tensor data.
struct GGUFLayout {
    enum Kind: CaseIterable {
        case header, keyLength, valueType, scalarValue, arrayElement, stringLength, arrayType, arrayCount
        case tensorNameLength, dimCount, dim, tensorType, tensorOffset
    }

    struct Field {
        let offset: Int
        let width: Int
        let kind: Kind
    }

    private(set) var fields: [Kind: [Field]] = [:]
    /// Where the tensor data begins: the end of the part the structured fuzzer rewrites.
    private(set) var dataStart = 0
    /// Where the tensor-info table begins.
    private(set) var tensorInfoStart = 0

    /// Walks `bytes`, which must be a well-formed GGUF (the corpus, not a mutant).
    init(_ bytes: [UInt8]) {
        var at = 0
        func field(_ width: Int, _ kind: Kind) -> UInt64 {
            fields[kind, default: []].append(Field(offset: at, width: width, kind: kind))
            defer { at += width }
            return ByteMutations.read(width: width, at: at, in: bytes)
        }
        func string(_ kind: Kind) -> String {
            let n = Int(field(8, kind))
            defer { at += n }
            return String(decoding: bytes[at..<at + n], as: UTF8.self)
        }
        // Scalar widths by GGUF value type id; 8 = string and 9 = array are handled apart.
        let widths: [UInt64: Int] = [0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8]
        func value(_ type: UInt64, key: String, inArray: Bool = false, alignment: inout Int) {
            switch type {
            case 8: _ = string(.stringLength)
            case 9:
                let element = field(4, .arrayType), count = field(8, .arrayCount)
                for _ in 0..<count { value(element, key: "", inArray: true, alignment: &alignment) }
            default:
                let w = widths[type]!
                if key == "general.alignment" { alignment = Int(ByteMutations.read(width: w, at: at, in: bytes)) }
                _ = field(w, inArray ? .arrayElement : .scalarValue)
            }
        }
        _ = field(4, .header); _ = field(4, .header)
        let tensors = field(8, .header), kvs = field(8, .header)
        var alignment = 32
        for _ in 0..<kvs {
            let key = string(.keyLength)
            value(field(4, .valueType), key: key, alignment: &alignment)
        }
        tensorInfoStart = at
        for _ in 0..<tensors {
            _ = string(.tensorNameLength)
            let n = field(4, .dimCount)
            for _ in 0..<n { _ = field(8, .dim) }
            _ = field(4, .tensorType); _ = field(8, .tensorOffset)
        }
        dataStart = (at + alignment - 1) / alignment * alignment
    }

    /// Sets one field, chosen kind first so that the 100k string lengths of a vocabulary do not
    /// drown the few dozen fields that size and place tensors, to a hostile value.
    func mutateField(_ bytes: inout [UInt8], rng: inout FuzzRandom) -> String {
        // Top-level values (the hyperparameters) weigh triple: they size everything downstream.
        let kinds = Kind.allCases.filter { fields[$0] != nil }.flatMap { $0 == .scalarValue ? [$0, $0, $0] : [$0] }
        let kind = rng.pick(kinds), f = rng.pick(fields[kind]!)
        let original = ByteMutations.read(width: f.width, at: f.offset, in: bytes)
        let v = ByteMutations.hostile(width: f.width, original: original, rng: &rng)
        ByteMutations.write(v, width: f.width, at: f.offset, in: &bytes)
        return "set \(kind) at \(f.offset) from \(original) to \(v)"
    }
}

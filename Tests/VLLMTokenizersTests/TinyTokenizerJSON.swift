@testable import VLLMTokenizers

/// Small hand-made tokenizer.json documents for component tests: a character vocabulary plus
/// the merges' results, with the pipeline parts given as JSON snippets.
struct TinyTokenizerJSON {
    var vocab: [String]
    var merges: [(String, String)] = []
    var added: [String] = []
    var normalizer = "null"
    var preTokenizer = "null"
    var postProcessor = "null"
    var decoder = "null"
    var unk: String?
    /// Extra members of the model object, e.g. `"byte_fallback": true`.
    var model = ""

    /// `chars` one token each, then every merge result in order.
    init(chars: String, merges: [(String, String)] = []) {
        var v: [String] = []
        for c in chars.unicodeScalars where !v.contains(String(c)) { v.append(String(c)) }
        for (a, b) in merges where !v.contains(a + b) { v.append(a + b) }
        vocab = v
        self.merges = merges
    }

    init(vocab: [String]) { self.vocab = vocab }

    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let h = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }

    /// An added-token object; the id follows the vocabulary.
    func addedToken(_ content: String, id: Int, special: Bool = true, normalized: Bool = false,
                    lstrip: Bool = false, rstrip: Bool = false, singleWord: Bool = false) -> String {
        """
        {"id":\(id),"content":\(Self.quote(content)),"single_word":\(singleWord),"lstrip":\(lstrip),\
        "rstrip":\(rstrip),"normalized":\(normalized),"special":\(special)}
        """
    }

    /// Merges as "a b" strings (overrides `merges`).
    var legacyMerges: [String]?

    /// Added tokens as raw JSON objects (overrides `added`).
    var addedJSON: [String]?

    var json: String {
        let vocabJSON = vocab.enumerated().map { "\(Self.quote($1)):\($0)" }.joined(separator: ",")
        let mergesJSON = legacyMerges.map { $0.map(Self.quote).joined(separator: ",") }
            ?? merges.map { "[\(Self.quote($0.0)),\(Self.quote($0.1))]" }.joined(separator: ",")
        let addedList = addedJSON ?? added.enumerated().map { addedToken($1, id: vocab.count + $0) }
        return """
        {"version":"1.0","truncation":null,"padding":null,"added_tokens":[\(addedList.joined(separator: ","))],\
        "normalizer":\(normalizer),"pre_tokenizer":\(preTokenizer),"post_processor":\(postProcessor),\
        "decoder":\(decoder),"model":{"type":"BPE","dropout":null,"unk_token":\(unk.map(Self.quote) ?? "null")\(model.isEmpty ? "" : "," + model),\
        "vocab":{\(vocabJSON)},"merges":[\(mergesJSON)]}}
        """
    }

    func tokenizer(config: String? = nil) throws -> Tokenizer {
        try Tokenizer(tokenizerJSON: json, tokenizerConfigJSON: config)
    }

    /// The error loading this document gives, or nil.
    func error(config: String? = nil) -> TokenizerError? {
        do {
            _ = try Tokenizer(tokenizerJSON: json, tokenizerConfigJSON: config)
            return nil
        } catch {
            return error
        }
    }
}

extension Tokenizer {
    /// Token strings of `ids`, for readable expectations.
    func strings(_ ids: [Int]) -> [String] { ids.map { tokenString($0) ?? "?" } }
}

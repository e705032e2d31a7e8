import Foundation
import VLLMModels

/// A Hugging Face `tokenizer.json` (+ `tokenizer_config.json`) read into the GGUF-style
/// vocabulary metadata the `Tokenizer` implements — the same conversion llama.cpp's
/// convert_hf_to_gguf.py makes. Covered: BPE models that are byte-level (GPT-2, Llama 3,
/// Qwen2, SmolLM/StarCoder pre-tokenizers, recognised by their exact Split regexes) or
/// SentencePiece-style (Metaspace / Prepend+Replace "▁", `byte_fallback`); other pipelines are
/// refused by name.
struct HFTokenizerJSON {
    var metadata: [String: GGUFValue] = [:]

    /// tokenizer.json files of real models are at most tens of MB.
    static let maxBytes = 256 << 20

    /// The Split regexes of the pre-tokenizers the hand-written `PreTokenizer` implements, by
    /// the `tokenizer.ggml.pre` name that selects it.
    static let splitPatterns: [String: String] = [
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#: "llama3",
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#: "qwen2",
        #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#: "gpt2",
    ]

    init(directory: String) throws(TokenizerError) {
        let root = try Self.readObject(directory + "/tokenizer.json", required: true)!
        let config = try Self.readObject(directory + "/tokenizer_config.json", required: false) ?? [:]
        guard let model = root["model"] as? [String: Any], (model["type"] as? String ?? "BPE") == "BPE" else {
            throw .unsupportedModel("tokenizer.json model \((root["model"] as? [String: Any])?["type"] as? String ?? "?") (supported: BPE)")
        }
        guard let vocab = model["vocab"] as? [String: Any] else { throw .missingMetadata(key: "tokenizer.json model.vocab") }
        var byID: [Int: String] = [:]
        for (token, v) in vocab {
            guard let id = (v as? NSNumber)?.intValue, id >= 0, id < 1 << 24 else {
                throw .invalidMetadata(key: "tokenizer.json model.vocab", reason: "id of \(token.prefix(40)) is not in 0..<16777216")
            }
            guard byID[id] == nil else { throw .invalidMetadata(key: "tokenizer.json model.vocab", reason: "id \(id) is given twice") }
            byID[id] = token
        }
        var special: Set<Int> = [], userDefined: Set<Int> = []
        for entry in root["added_tokens"] as? [[String: Any]] ?? [] {
            guard let id = (entry["id"] as? NSNumber)?.intValue, id >= 0, id < 1 << 24, let content = entry["content"] as? String else {
                throw .invalidMetadata(key: "tokenizer.json added_tokens", reason: "an entry lacks an id in range or a content string")
            }
            if let existing = byID[id], existing != content {
                throw .invalidMetadata(key: "tokenizer.json added_tokens", reason: "id \(id) is \(existing.prefix(40)) in the vocabulary but \(content.prefix(40)) here")
            }
            byID[id] = content
            if entry["special"] as? Bool ?? false { special.insert(id) } else { userDefined.insert(id) }
        }
        let count = (byID.keys.max() ?? -1) + 1
        guard count > 0 else { throw .invalidMetadata(key: "tokenizer.json model.vocab", reason: "empty vocabulary") }
        // Ids nobody names (padding in some vocabularies) become unreachable placeholders.
        let tokens = (0..<count).map { byID[$0] ?? "[UNUSED_\($0)]" }

        let merges = try Self.merges(model["merges"])
        let byteFallback = model["byte_fallback"] as? Bool ?? false
        let isSentencePiece = byteFallback || Self.mentionsMetaspace(root)
        var types = [Int](repeating: 1, count: count)
        for id in special { types[id] = 3 }
        for id in userDefined { types[id] = 4 }
        for id in 0..<count where byID[id] == nil { types[id] = 5 }

        if isSentencePiece {
            metadata["tokenizer.ggml.model"] = .string("llama")
            // SentencePiece BPE merges the pair whose result scores highest: the merge rank
            // order, as HF's converter derived the merges from those scores.
            var scores = [Float](repeating: -1e9, count: count)
            var ids: [String: Int] = [:]
            for (i, t) in tokens.enumerated() where ids[t] == nil { ids[t] = i }
            for (rank, m) in merges.enumerated() {
                let parts = m.split(separator: " ", maxSplits: 1)
                guard parts.count == 2, let id = ids[String(parts[0]) + String(parts[1])] else { continue }
                if scores[id] == -1e9 { scores[id] = -Float(rank) }
            }
            for (i, t) in tokens.enumerated() {
                if t.count == 6, t.hasPrefix("<0x"), t.hasSuffix(">"), types[i] == 1 { types[i] = 6 }
                if scores[i] == -1e9, types[i] == 1 { scores[i] = 0 }
            }
            metadata["tokenizer.ggml.scores"] = .array(scores.map { .float32($0) })
            metadata["tokenizer.ggml.add_space_prefix"] = .bool(Self.prependsSpace(root))
        } else {
            metadata["tokenizer.ggml.model"] = .string("gpt2")
            metadata["tokenizer.ggml.pre"] = .string(try Self.preTokenizerName(root["pre_tokenizer"]))
            metadata["tokenizer.ggml.merges"] = .array(merges.map { .string($0) })
        }
        metadata["tokenizer.ggml.tokens"] = .array(tokens.map { .string($0) })
        metadata["tokenizer.ggml.token_type"] = .array(types.map { .int32(Int32($0)) })
        if let unk = model["unk_token"] as? String, let id = tokens.firstIndex(of: unk) {
            metadata["tokenizer.ggml.unknown_token_id"] = .uint32(UInt32(id))
        }
        func tokenContent(_ key: String) -> String? {
            if let s = config[key] as? String { return s }
            return (config[key] as? [String: Any])?["content"] as? String
        }
        for (key, gguf) in [("bos_token", "bos"), ("eos_token", "eos"), ("pad_token", "padding")] {
            if let t = tokenContent(key), let id = tokens.firstIndex(of: t) {
                metadata["tokenizer.ggml.\(gguf)_token_id"] = .uint32(UInt32(id))
            }
        }
        let addBOS = config["add_bos_token"] as? Bool ?? Self.postProcessorAddsFirstToken(root, bos: tokenContent("bos_token"))
        metadata["tokenizer.ggml.add_bos_token"] = .bool(addBOS)
        metadata["tokenizer.ggml.add_eos_token"] = .bool(config["add_eos_token"] as? Bool ?? false)
        if let template = try Self.chatTemplate(config: config, directory: directory) {
            metadata["tokenizer.chat_template"] = .string(template)
        }
    }

    private static func readObject(_ path: String, required: Bool) throws(TokenizerError) -> [String: Any]? {
        guard FileManager.default.fileExists(atPath: path) else {
            if required { throw .missingMetadata(key: "\(path) (no such file)") }
            return nil
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .invalidMetadata(key: path, reason: "cannot be read")
        }
        guard data.count <= maxBytes else { throw .invalidMetadata(key: path, reason: "\(data.count) bytes is too large") }
        guard let any = try? JSONSerialization.jsonObject(with: data), let object = any as? [String: Any] else {
            throw .invalidMetadata(key: path, reason: "not a JSON object")
        }
        return object
    }

    /// Merges as "a b" strings, from either form tokenizers writes (strings, or [a, b] pairs).
    private static func merges(_ value: Any?) throws(TokenizerError) -> [String] {
        guard let list = value as? [Any] else { return [] }
        var out: [String] = []
        out.reserveCapacity(list.count)
        for m in list {
            if let s = m as? String { out.append(s) } else if let p = m as? [String], p.count == 2 { out.append(p[0] + " " + p[1]) } else {
                throw .invalidMetadata(key: "tokenizer.json model.merges", reason: "an entry is neither \"a b\" nor [a, b]")
            }
        }
        return out
    }

    private static func mentionsMetaspace(_ root: [String: Any]) -> Bool {
        func walk(_ v: Any?) -> Bool {
            if let d = v as? [String: Any] {
                if d["type"] as? String == "Metaspace" { return true }
                if d["type"] as? String == "Replace", d["content"] as? String == "▁" { return true }
                return d.values.contains { walk($0) }
            }
            if let a = v as? [Any] { return a.contains { walk($0) } }
            return false
        }
        return walk(root["pre_tokenizer"]) || walk(root["normalizer"])
    }

    /// SentencePiece's dummy prefix: a Prepend("▁") normalizer or a Metaspace that prepends.
    private static func prependsSpace(_ root: [String: Any]) -> Bool {
        func walk(_ v: Any?) -> Bool {
            if let d = v as? [String: Any] {
                if d["type"] as? String == "Prepend", d["prepend"] as? String == "▁" { return true }
                if d["type"] as? String == "Metaspace" {
                    if let scheme = d["prepend_scheme"] as? String { return scheme != "never" }
                    return d["add_prefix_space"] as? Bool ?? true
                }
                return d.values.contains { walk($0) }
            }
            if let a = v as? [Any] { return a.contains { walk($0) } }
            return false
        }
        return walk(root["normalizer"]) || walk(root["pre_tokenizer"])
    }

    /// The `tokenizer.ggml.pre` name whose hand-written splitter equals this pre-tokenizer.
    private static func preTokenizerName(_ value: Any?) throws(TokenizerError) -> String {
        guard let pre = value as? [String: Any] else { throw .unsupportedPreTokenizer("tokenizer.json pre_tokenizer null") }
        let steps = pre["type"] as? String == "Sequence" ? (pre["pretokenizers"] as? [[String: Any]] ?? []) : [pre]
        let kinds = steps.map { $0["type"] as? String ?? "?" }
        if kinds == ["ByteLevel"], steps[0]["use_regex"] as? Bool ?? true { return "gpt2" }
        if kinds == ["Digits", "ByteLevel"], steps[0]["individual_digits"] as? Bool == true,
           steps[1]["use_regex"] as? Bool ?? true { return "smollm" }
        if kinds == ["Split", "ByteLevel"], steps[1]["use_regex"] as? Bool == false,
           let pattern = (steps[0]["pattern"] as? [String: Any])?["Regex"] as? String,
           steps[0]["behavior"] as? String == "Isolated", let name = splitPatterns[pattern] {
            return name
        }
        throw .unsupportedPreTokenizer("tokenizer.json pre_tokenizer \(kinds.joined(separator: "+"))")
    }

    /// Whether the post-processor's single-sequence template starts with the BOS token.
    private static func postProcessorAddsFirstToken(_ root: [String: Any], bos: String?) -> Bool {
        guard let bos else { return false }
        func walk(_ v: Any?) -> Bool {
            guard let d = v as? [String: Any] else { return false }
            if d["type"] as? String == "Sequence" { return (d["processors"] as? [Any] ?? []).contains { walk($0) } }
            guard d["type"] as? String == "TemplateProcessing", let single = d["single"] as? [[String: Any]],
                  let first = single.first?["SpecialToken"] as? [String: Any] else { return false }
            return first["id"] as? String == bos
        }
        return walk(root["post_processor"])
    }

    /// `chat_template` from tokenizer_config.json (a string, or named templates — "default"),
    /// else the chat_template.jinja file newer transformers write beside it.
    private static func chatTemplate(config: [String: Any], directory: String) throws(TokenizerError) -> String? {
        if let s = config["chat_template"] as? String { return s }
        if let list = config["chat_template"] as? [[String: Any]] {
            return (list.first { $0["name"] as? String == "default" } ?? list.first)?["template"] as? String
        }
        let file = directory + "/chat_template.jinja"
        guard let data = FileManager.default.contents(atPath: file) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}

extension Tokenizer {
    /// The tokenizer of a Hugging Face model directory (tokenizer.json + tokenizer_config.json).
    public convenience init(directory: String) throws(TokenizerError) {
        try self.init(metadata: HFTokenizerJSON(directory: directory).metadata)
    }
}

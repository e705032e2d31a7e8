/// The kind of a vocabulary entry, as stored in `tokenizer.ggml.token_type` (llama.cpp's
/// `llama_token_type` numbering).
public enum TokenType: Int, Sendable {
    case undefined = 0
    case normal = 1
    case unknown = 2
    /// Special tokens such as `<|im_start|>`: matched in text only when special parsing is on,
    /// skipped when decoding with `skipSpecialTokens`.
    case control = 3
    /// Added tokens: always matched in text as a whole, decoded as their literal text.
    case userDefined = 4
    case unused = 5
    /// SentencePiece byte-fallback tokens `<0xXX>`.
    case byte = 6
}

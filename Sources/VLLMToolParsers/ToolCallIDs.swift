/// Tool call ids in the shapes vLLM generates.
enum ToolCallIDStyle: Sendable {
    /// `chatcmpl-tool-` and a random UUID's 32 hex digits (vLLM's `make_tool_call_id`).
    case random
    /// 9 random ASCII letters and digits: Mistral's templates and `mistral_common` validate
    /// ids of exactly this shape when the call comes back in the conversation.
    case mistral

    func make() -> String {
        var rng = SystemRandomNumberGenerator()
        switch self {
        case .random:
            let hex = Array("0123456789abcdef")
            return "chatcmpl-tool-" + String((0..<32).map { _ in hex[Int(rng.next() % 16)] })
        case .mistral:
            let alphanumeric = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
            return String((0..<9).map { _ in alphanumeric[Int(rng.next() % UInt64(alphanumeric.count))] })
        }
    }
}

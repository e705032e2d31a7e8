import NIOCore
import VLLMJinja

/// Response bodies: ordered keys, explicit nulls, compact text.
typealias JSONOut = OrderedJSON

extension OrderedJSON {
    /// The compact JSON text in a buffer, for a response body.
    var buffer: ByteBuffer { ByteBuffer(string: text()) }
}

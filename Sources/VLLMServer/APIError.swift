import Foundation
import Hummingbird
import VLLM
import VLLMJinja

/// An error answered with vLLM 0.11's body, `{"error": {"message", "type", "param", "code"}}`,
/// where `code` repeats the HTTP status. Every failure a request can cause becomes one of
/// these: nothing a client sends reaches a crash or a bare 500.
struct APIError: Error, CustomStringConvertible {
    var status: HTTPResponse.Status
    var message: String
    /// The OpenAI error type: BadRequestError, NotFoundError, …
    var type: String
    /// The request field at fault, when known.
    var param: String?
    /// Sent as `Retry-After` (a 503 when the server is saturated).
    var retryAfterSeconds: Int?

    var description: String { message }

    static func badRequest(_ message: String, param: String? = nil) -> APIError {
        APIError(status: .badRequest, message: message, type: "BadRequestError", param: param)
    }

    static func notFound(_ message: String, param: String? = nil) -> APIError {
        APIError(status: .notFound, message: message, type: "NotFoundError", param: param)
    }

    /// vLLM's 400 for a LoRA load or unload request that is incomplete or names a taken name.
    static func invalidUserInput(_ message: String) -> APIError {
        APIError(status: .badRequest, message: message, type: "InvalidUserInput")
    }

    /// The resource's current state forbids the change (an adapter in use, one already being
    /// loaded); the same request may succeed later.
    static func conflict(_ message: String) -> APIError {
        APIError(status: .conflict, message: message, type: "ConflictError")
    }

    static let unauthorized = APIError(status: .unauthorized, message: "Unauthorized", type: "AuthenticationError")

    static func internalError(_ message: String) -> APIError {
        APIError(status: .internalServerError, message: message, type: "InternalServerError")
    }

    static func unavailable(_ message: String) -> APIError {
        APIError(status: .serviceUnavailable, message: message, type: "ServiceUnavailableError")
    }

    var body: JSONOut {
        .object([("error", .object([
            ("message", .string(message)),
            ("type", .string(type)),
            ("param", .string(param)),
            ("code", .int(status.code)),
        ]))])
    }

    var response: Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let s = retryAfterSeconds { headers[.retryAfter] = String(s) }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: body.buffer))
    }

    /// Maps anything thrown while serving a request to the answer a client should see.
    static func from(_ error: any Error) -> APIError {
        switch error {
        case let e as APIError: return e
        case let e as InvalidRequest: return .badRequest(e.description)
        case let e as SamplingParamsError: return .badRequest(e.description)
        case let e as DecodingError: return .badRequest(describe(e))
        case let e as TemplateError: return .badRequest(e.description)
        case let e as AsyncLLMError:
            if case .shutDown = e { return .unavailable(e.description) }
            if case .asleep = e { return .unavailable(e.description) }
            if case .saturated = e {
                var busy = APIError.unavailable(e.description)
                busy.retryAfterSeconds = 1
                return busy
            }
            return .badRequest(e.description)
        case let e as LoRALoadError: return lora(e)
        default: return .internalError("\(error)")
        }
    }

    /// Statuses as vLLM's adapter routes give them: 404 for a path with nothing at it (vLLM's
    /// "No adapter found") and for an unknown adapter, 400 for the rest. vLLM never refuses to
    /// unload an adapter in use (it only forgets the name); here that is a 409.
    private static func lora(_ error: LoRALoadError) -> APIError {
        switch error {
        case .adapterMissing, .notLoaded: .notFound(error.description)
        case .duplicateName: .invalidUserInput(error.description)
        case .inUse: .conflict(error.description)
        case .notEnabled, .badRequest, .adapter, .noMemory, .full: .badRequest(error.description)
        }
    }

    /// A one-line account of a JSON body that did not fit the request's shape, naming the field.
    static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().drop { $0 == "." }.description
        }
        switch error {
        case let .typeMismatch(type, c):
            return "Invalid type for '\(path(c.codingPath))': expected \(typeName(type)). \(c.debugDescription)"
        case let .valueNotFound(type, c):
            return "Field '\(path(c.codingPath))' must not be null (expected \(typeName(type)))."
        case let .keyNotFound(key, c):
            return "Field required: '\(path(c.codingPath + [key]))'."
        case let .dataCorrupted(c):
            let at = path(c.codingPath)
            return at.isEmpty ? "Invalid JSON body: \(c.debugDescription)" : "Invalid value for '\(at)': \(c.debugDescription)"
        @unknown default:
            return "Invalid request body."
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is UInt64.Type: "an integer"
        case is Double.Type, is Float.Type: "a number"
        case is Bool.Type: "a boolean"
        default: "\(type)"
        }
    }
}

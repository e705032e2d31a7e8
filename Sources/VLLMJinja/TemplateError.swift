/// An error from parsing or rendering a template. Rendering never traps: every failure a
/// template can cause (bad syntax, undefined values used wrongly, type errors, `raise_exception`)
/// arrives as one of these.
public struct TemplateError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Mirrors the jinja2 exception classes so messages read like Python's.
    public enum Kind: String, Sendable {
        /// `TemplateSyntaxError`: the template does not parse.
        case syntax = "TemplateSyntaxError"
        /// `UndefinedError`: an undefined value was used in a way that needs a real one.
        case undefined = "UndefinedError"
        /// `TypeError`/`ValueError`/`ZeroDivisionError`… raised while rendering.
        case runtime = "TemplateRuntimeError"
        /// `TemplateError` raised by the template itself through `raise_exception(message)`.
        case raised = "TemplateError"
        /// `SecurityError`: something the immutable sandbox forbids (e.g. `list.append`).
        case security = "SecurityError"
        /// A `RenderLimits` bound was reached: output or value size, steps, recursion, value
        /// nesting, time, or cancellation.
        case limit = "TemplateLimitError"
    }

    public var kind: Kind
    public var message: String
    /// 1-based template line; nil when unknown.
    public var line: Int?

    public init(_ kind: Kind, _ message: String, line: Int? = nil) {
        self.kind = kind
        self.message = message
        self.line = line
    }

    /// One line: `TemplateSyntaxError: unexpected '}' (line 3)`. A `raise_exception` message is
    /// kept as the template wrote it, since templates use it to tell users what they did wrong.
    public var description: String {
        let text = String(String.UnicodeScalarView(message.unicodeScalars.map { $0 == "\n" ? " " : $0 }))
        guard let line else { return "\(kind.rawValue): \(text)" }
        return "\(kind.rawValue): \(text) (line \(line))"
    }

    static func syntax(_ message: String, _ line: Int) -> TemplateError { TemplateError(.syntax, message, line: line) }
    static func runtime(_ message: String) -> TemplateError { TemplateError(.runtime, message) }
    static func type(_ message: String) -> TemplateError { TemplateError(.runtime, "TypeError: " + message) }
    static func value(_ message: String) -> TemplateError { TemplateError(.runtime, "ValueError: " + message) }

    /// Fills in the line of the node being evaluated if the thrower did not know it.
    func at(_ line: Int) -> TemplateError {
        var e = self
        if e.line == nil { e.line = line }
        return e
    }
}

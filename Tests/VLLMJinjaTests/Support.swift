import Testing
@testable import VLLMJinja

/// Renders `source` with `context`.
func render(_ source: String, _ context: [String: Value] = [:]) throws -> String {
    try Template(source).render(context)
}

/// The error rendering `source` throws (nil when it renders).
func renderError(_ source: String, _ context: [String: Value] = [:]) -> TemplateError? {
    do {
        _ = try Template(source).render(context)
        return nil
    } catch {
        return error
    }
}

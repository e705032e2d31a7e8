/// Bounds on what one render may cost. Chat templates can come from untrusted sources (a model
/// repository, a request's `chat_template`), so every resource a template can make the engine
/// spend has a ceiling; going past one stops the render with a `.limit` `TemplateError` instead
/// of exhausting memory, the stack or the CPU.
///
/// The defaults sit far above what any real chat template needs.
public struct RenderLimits: Sendable {
    /// Total bytes (UTF-8) of rendered text, also applied to every nested buffer (a macro's
    /// output, a `{% set %}` block).
    public var maxOutputBytes: Int
    /// The largest string (UTF-8 bytes) a single operation may produce: `*`, `+`, `~`, `%`,
    /// `format`, `join`, `replace`, padding, `tojson`, printing a container …
    public var maxValueBytes: Int
    /// The most items a list built by the template may hold (`*`, `+`, `split`, filters …).
    public var maxListLength: Int
    /// Total work: one step per statement, expression node and loop iteration, plus one step per
    /// 64 bytes that string and list operations copy.
    public var maxSteps: Int
    /// How deeply macro calls, `caller()`, recursive loops and statement blocks may nest
    /// (expression evaluation may nest five times deeper).
    public var maxRecursionDepth: Int
    /// Wall-clock point after which the render stops; checked every `pollInterval` steps.
    public var deadline: ContinuousClock.Instant?
    /// Polled with the deadline; rendering stops once it returns true.
    public var isCancelled: (@Sendable () -> Bool)?

    public init(maxOutputBytes: Int = 32 << 20, maxValueBytes: Int = 16 << 20, maxListLength: Int = 1_000_000,
                maxSteps: Int = 50_000_000, maxRecursionDepth: Int = 200,
                deadline: ContinuousClock.Instant? = nil, isCancelled: (@Sendable () -> Bool)? = nil) {
        self.maxOutputBytes = maxOutputBytes
        self.maxValueBytes = maxValueBytes
        self.maxListLength = maxListLength
        self.maxSteps = maxSteps
        self.maxRecursionDepth = maxRecursionDepth
        self.deadline = deadline
        self.isCancelled = isCancelled
    }

    public static let `default` = RenderLimits()

    /// Steps between two looks at the clock and the cancellation flag: reading the clock on
    /// every step would cost more than the step itself.
    public static let pollInterval = 1024
}

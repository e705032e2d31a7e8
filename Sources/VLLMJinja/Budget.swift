/// The running account of one render against its `RenderLimits`. The hot path (`step`) is an
/// increment and a compare; the clock, the cancellation flag and the step ceiling are only
/// looked at when the count reaches `checkpoint`.
final class Budget {
    let limits: RenderLimits
    private(set) var steps = 0
    private var checkpoint = 0
    private let timeLimit: Duration?
    /// Statement blocks and calls currently open (`maxRecursionDepth`).
    var depth = 0
    /// Expression nodes currently being evaluated: a stack guard, since each level costs frames.
    var evalDepth = 0
    let maxEvalDepth: Int

    init(_ limits: RenderLimits) {
        self.limits = limits
        timeLimit = limits.deadline.map { $0 - ContinuousClock.now }
        maxEvalDepth = max(limits.maxRecursionDepth, 0).multipliedReportingOverflow(by: 5).partialValue
    }

    /// One unit of work.
    @inline(__always)
    func step() throws(TemplateError) {
        steps &+= 1
        if steps >= checkpoint { try poll() }
    }

    /// `units` units of work at once (big copies are charged by size).
    func charge(_ units: Int) throws(TemplateError) {
        guard units > 0 else { return }
        let (sum, overflow) = steps.addingReportingOverflow(units)
        steps = overflow ? .max : sum
        if steps >= checkpoint { try poll() }
    }

    /// Charges for copying `bytes` bytes (or list slots).
    @inline(__always)
    func chargeCopy(_ bytes: Int) throws(TemplateError) {
        if bytes >= 64 { try charge(bytes >> 6) }
    }

    /// Runs the checks that are too costly for every step, and sets the next checkpoint.
    func poll() throws(TemplateError) {
        if steps > limits.maxSteps {
            throw TemplateError(.limit, "rendering exceeded the step limit of \(limits.maxSteps)")
        }
        if let cancelled = limits.isCancelled, cancelled() {
            throw TemplateError(.limit, "rendering was cancelled")
        }
        if let deadline = limits.deadline, ContinuousClock.now >= deadline {
            let seconds = Double((timeLimit ?? .zero).components.attoseconds) / 1e18 + Double((timeLimit ?? .zero).components.seconds)
            throw TemplateError(.limit, "rendering exceeded its time limit of \(max(seconds, 0)) s")
        }
        let next = steps.addingReportingOverflow(RenderLimits.pollInterval)
        let ceiling = limits.maxSteps.addingReportingOverflow(1)
        checkpoint = min(next.overflow ? .max : next.partialValue, ceiling.overflow ? .max : ceiling.partialValue)
    }

    /// Refuses a string of `bytes` UTF-8 bytes before it is built.
    func checkString(_ bytes: Int) throws(TemplateError) {
        if bytes > limits.maxValueBytes {
            throw TemplateError(.limit, "rendering exceeded the value size limit of \(limits.maxValueBytes) bytes")
        }
    }

    /// Refuses a list of `count` items before it is built.
    func checkList(_ count: Int) throws(TemplateError) {
        if count > limits.maxListLength {
            throw TemplateError(.limit, "rendering exceeded the list length limit of \(limits.maxListLength) items")
        }
    }

    /// `a * b` as a size, refused when it overflows or passes the string limit.
    func checkString(_ a: Int, times b: Int) throws(TemplateError) {
        let (product, overflow) = a.multipliedReportingOverflow(by: b)
        try checkString(overflow ? .max : product)
    }

    /// `a + b` as a size, refused when it passes the string limit.
    func checkString(_ a: Int, plus b: Int) throws(TemplateError) {
        let (sum, overflow) = a.addingReportingOverflow(b)
        try checkString(overflow ? .max : sum)
    }

    /// Checks and charges a value an operation has just produced (its size is known in O(1)).
    func produced(_ v: Value) throws(TemplateError) -> Value {
        switch v {
        case let .string(s):
            let n = s.utf8.count
            try checkString(n)
            try chargeCopy(n)
        case let .list(a):
            try checkList(a.count)
            try chargeCopy(a.count &* 16)
        default: break
        }
        return v
    }

    /// Appends rendered text, refusing to grow any output buffer past `maxOutputBytes`.
    func emit(_ s: String, into out: inout String) throws(TemplateError) {
        let n = s.utf8.count
        let (total, overflow) = out.utf8.count.addingReportingOverflow(n)
        if overflow || total > limits.maxOutputBytes {
            throw TemplateError(.limit, "rendering exceeded the output limit of \(limits.maxOutputBytes) bytes")
        }
        try chargeCopy(n)
        out += s
    }

    /// Enters a statement block or call; `leave()` must follow.
    func enter() throws(TemplateError) {
        depth += 1
        if depth > limits.maxRecursionDepth {
            depth -= 1
            throw TemplateError(.limit, "RecursionError: maximum recursion depth exceeded (the limit is \(limits.maxRecursionDepth))")
        }
    }

    func leave() { depth -= 1 }

    /// `str(value)` under the value size limit.
    func str(_ v: Value) throws(TemplateError) -> String {
        if case let .string(s) = v { return s }
        if case .undefined = v { return "" }
        return try repr(v)
    }

    /// `repr(value)` under the value size limit.
    func repr(_ v: Value) throws(TemplateError) -> String {
        var w = ReprWriter(maxBytes: limits.maxValueBytes)
        do throws(ReprFailure) {
            try w.write(v, depth: 0)
        } catch {
            switch error {
            case .tooLong: throw TemplateError(.limit, "rendering exceeded the value size limit of \(limits.maxValueBytes) bytes")
            case .tooDeep: throw Nesting.tooDeep
            }
        }
        try chargeCopy(w.out.utf8.count)
        return w.out
    }
}

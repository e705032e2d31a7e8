/// Hands out the ids of engine-core requests (a parent's candidates, beam-search steps).
///
/// They come from a counter and never from a caller's id: a caller's id is a key of the
/// output processor and the beam-search driver only, so no caller-chosen id can name, collide
/// with or abort another request's engine-core work.
final class CoreRequestIDs {
    private var next: UInt64 = 0

    func make() -> String {
        defer { next += 1 }
        return String(next)
    }
}

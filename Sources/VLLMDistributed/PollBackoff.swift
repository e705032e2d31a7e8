import Glibc

/// How a rank waits on MPI by polling: spinning at first (the next message usually comes within
/// microseconds while the ranks are busy), then sleeping longer the longer nothing comes, up to
/// `longestSleep` microseconds (a millisecond: an idle rank leaves the cores alone; less where
/// the wait is always short and its end matters, as rank 0 waiting for the next stage).
struct PollBackoff {
    private var idle = 0
    private let longestSleep: Int

    init(longestSleep: Int = 1000) { self.longestSleep = longestSleep }

    /// After a poll that found nothing.
    mutating func wait() {
        idle += 1
        if idle > 2000 { usleep(UInt32(min(longestSleep, (idle - 2000) * 10))) }
    }

    /// After a poll that found something.
    mutating func reset() { idle = 0 }
}

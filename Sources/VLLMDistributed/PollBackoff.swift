import Glibc

/// How a rank waits on MPI by polling: spinning at first (the next message usually comes within
/// microseconds while the ranks are busy), then sleeping longer the longer nothing comes, up to
/// `longestSleep` microseconds (a millisecond: an idle rank leaves the cores alone; less where
/// the wait is always short and its end matters, as rank 0 waiting for the next stage).
struct PollBackoff {
    private var idle = 0
    private let spins: Int
    private let longestSleep: Int

    /// `spins`: polls before the first sleep (none where a wait of a few microseconds more costs
    /// nothing and the cores have better work, as on a data-parallel replica's link).
    init(spins: Int = 2000, longestSleep: Int = 1000) {
        self.spins = spins
        self.longestSleep = longestSleep
    }

    /// After a poll that found nothing.
    mutating func wait() {
        idle += 1
        if idle > spins { usleep(UInt32(min(longestSleep, (idle - spins) * 10))) }
    }

    /// After a poll that found something.
    mutating func reset() { idle = 0 }
}

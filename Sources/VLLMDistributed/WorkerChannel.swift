import Glibc

/// Rank 0's ordered messages to the other ranks of its group. Workers wait for the next one by
/// polling, sleeping longer the longer nothing comes (up to a millisecond), so an idle server's
/// workers leave the cores alone while a busy one's see each step within microseconds.
final class WorkerChannel: @unchecked Sendable {
    private static let tag = 7
    let comm: MPICommunicator
    /// Bytes rank 0 has sent each worker (for measurements).
    private(set) var bytesSent = 0

    init(comm: MPICommunicator) { self.comm = comm }

    func send(_ message: WorkerMessage) {
        let bytes = message.encoded
        bytesSent += bytes.count
        bytes.withUnsafeBytes { raw in for r in 1..<comm.size { comm.send(raw, to: r, tag: Self.tag) } }
    }

    /// The next message from rank 0 (on a worker rank).
    func receive() -> WorkerMessage {
        var idle = 0
        while true {
            if let size = comm.probe(from: 0, tag: Self.tag) {
                var bytes = [UInt8](repeating: 0, count: size)
                bytes.withUnsafeMutableBytes { comm.receive($0, from: 0, tag: Self.tag) }
                return WorkerMessage(decoding: bytes)
            }
            idle += 1
            if idle > 2000 { usleep(UInt32(min(1000, (idle - 2000) * 10))) }
        }
    }
}

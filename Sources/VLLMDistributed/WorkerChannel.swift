import CMPI

/// Rank 0's ordered messages to the other ranks of its group. Workers wait for the next one by
/// polling (`PollBackoff`), so an idle server's workers leave the cores alone while a busy one's
/// see each step within microseconds.
final class WorkerChannel: @unchecked Sendable {
    private static let tag = 7
    let comm: MPICommunicator
    /// Bytes rank 0 has sent each worker (for measurements).
    private(set) var bytesSent = 0

    init(comm: MPICommunicator) { self.comm = comm }

    /// Messages still on their way, with the bytes they are sent from.
    private var inFlight: [(bytes: UnsafeMutableRawBufferPointer, requests: [cmpi_request?])] = []

    /// Sends without waiting for the workers to take it (a pipeline's later stages are busy
    /// with earlier steps while rank 0 starts the next one).
    func send(_ message: WorkerMessage) {
        let encoded = message.encoded
        bytesSent += encoded.count
        let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, encoded.count), alignment: 8)
        encoded.withUnsafeBytes { bytes.copyMemory(from: $0) }
        let raw = UnsafeRawBufferPointer(rebasing: bytes[..<encoded.count])
        inFlight.append((bytes, (1..<comm.size).map { comm.startSend(raw, to: $0, tag: Self.tag) }))
        releaseDelivered()
    }

    /// Frees the messages every worker has taken.
    private func releaseDelivered() {
        var kept: [(bytes: UnsafeMutableRawBufferPointer, requests: [cmpi_request?])] = []
        for var message in inFlight {
            for i in message.requests.indices where message.requests[i] != nil {
                if comm.test(&message.requests[i]) { message.requests[i] = nil }
            }
            if message.requests.allSatisfy({ $0 == nil }) { message.bytes.deallocate() } else { kept.append(message) }
        }
        inFlight = kept
    }

    /// Waits until every message sent has been taken (before MPI ends).
    func flush() {
        var backoff = PollBackoff()
        while !inFlight.isEmpty {
            releaseDelivered()
            backoff.wait()
        }
    }

    /// The next message from rank 0 (on a worker rank).
    func receive() -> WorkerMessage {
        var backoff = PollBackoff()
        while true {
            if let size = comm.probe(from: 0, tag: Self.tag) {
                var bytes = [UInt8](repeating: 0, count: size)
                bytes.withUnsafeMutableBytes { comm.receive($0, from: 0, tag: Self.tag) }
                return WorkerMessage(decoding: bytes)
            }
            backoff.wait()
        }
    }
}

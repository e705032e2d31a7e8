import CMPI
import Synchronization

/// The ordered two-way message link between the API server's process and a data-parallel
/// replica's engine process. One thread on each side uses it; neither call waits.
public protocol ReplicaLink: AnyObject, Sendable {
    func send(_ message: [UInt8])
    /// The next message that has arrived, if any.
    func receive() -> [UInt8]?
    /// Waits until everything sent has left (before the process ends).
    func flush()
}

/// A link over MPI point-to-point messages with one peer rank (MPI keeps messages between two
/// ranks with one tag in order).
final class MPIReplicaLink: ReplicaLink, @unchecked Sendable {
    private let comm: MPICommunicator
    private let peer: Int
    private let sendTag: Int, receiveTag: Int
    private var inFlight: [(bytes: UnsafeMutableRawBufferPointer, request: cmpi_request?)] = []

    /// Tags of the world communicator, which no other message of the parallel modes uses
    /// (their own traffic is on each replica's communicator).
    static let toReplicaTag = 20, toServerTag = 21

    init(comm: MPICommunicator, peer: Int, sendTag: Int, receiveTag: Int) {
        self.comm = comm
        self.peer = peer
        self.sendTag = sendTag
        self.receiveTag = receiveTag
    }

    func send(_ message: [UInt8]) {
        let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, message.count), alignment: 8)
        message.withUnsafeBytes { bytes.copyMemory(from: $0) }
        inFlight.append((bytes, comm.startSend(UnsafeRawBufferPointer(rebasing: bytes[..<message.count]), to: peer, tag: sendTag)))
        releaseSent()
    }

    func receive() -> [UInt8]? {
        releaseSent()
        guard let size = comm.probe(from: peer, tag: receiveTag) else { return nil }
        var bytes = [UInt8](repeating: 0, count: size)
        bytes.withUnsafeMutableBytes { comm.receive($0, from: peer, tag: receiveTag) }
        return bytes
    }

    func flush() {
        var backoff = PollBackoff()
        while !inFlight.isEmpty {
            releaseSent()
            backoff.wait()
        }
    }

    private func releaseSent() {
        inFlight.removeAll { message in
            var request = message.request
            guard comm.test(&request) else { return false }
            message.bytes.deallocate()
            return true
        }
    }
}

/// Both ends of a link within one process (tests drive the remote replica path with it).
public final class InProcessReplicaLink: ReplicaLink, @unchecked Sendable {
    private let inbox: Mutex<[[UInt8]]>
    private weak var peer: InProcessReplicaLink?

    private init() { inbox = Mutex([]) }

    /// Two connected ends.
    public static func pair() -> (InProcessReplicaLink, InProcessReplicaLink) {
        let a = InProcessReplicaLink(), b = InProcessReplicaLink()
        a.peer = b
        b.peer = a
        return (a, b)
    }

    public func send(_ message: [UInt8]) { peer?.inbox.withLock { $0.append(message) } }
    public func receive() -> [UInt8]? { inbox.withLock { $0.isEmpty ? nil : $0.removeFirst() } }
    public func flush() {}
}

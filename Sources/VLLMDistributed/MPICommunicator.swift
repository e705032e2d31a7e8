import CMPI
import Glibc

/// An MPI call that failed, or MPI that cannot be used here.
public struct MPIError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }

    init(_ message: String) { self.message = message }

    init(call: String, code: Int32) {
        let text = [CChar](unsafeUninitializedCapacity: 512) { buf, n in
            cmpi_error_string(code, buf.baseAddress, buf.count)
            n = strlen(buf.baseAddress!)
        }
        self.init("\(call) failed: \(String(decoding: text.map { UInt8(bitPattern: $0) }, as: UTF8.self))")
    }
}

/// One MPI communicator (Open MPI, through `CMPI`): point-to-point messages of bytes and the
/// few collectives the parallel modes use. Calls on one communicator are serialized by their
/// callers: rank 0's engine loop, or a worker's loop. MPI is initialized at
/// `MPI_THREAD_SERIALIZED`, or at `MPI_THREAD_MULTIPLE` when data-parallel replicas span processes
/// (a replica leader's engine loop and its link to the API server then use MPI at once).
public final class MPICommunicator: @unchecked Sendable {
    let handle: cmpi_comm?
    public let rank: Int
    public let size: Int

    init(handle: cmpi_comm?) {
        self.handle = handle
        rank = Int(cmpi_rank(handle))
        size = Int(cmpi_size(handle))
    }

    /// Loads Open MPI and initializes it; the world communicator.
    static func initializeWorld(multipleThreads: Bool) throws(MPIError) -> MPICommunicator {
        var reason = [CChar](repeating: 0, count: 512)
        let loaded = reason.withUnsafeMutableBufferPointer { cmpi_load($0.baseAddress, $0.count) }
        guard loaded == 0 else {
            let text = String(decoding: reason.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw MPIError("\(text); the parallel modes need Open MPI (Debian: apt-get install openmpi-bin)")
        }
        try check("MPI_Init_thread", cmpi_init(multipleThreads ? 1 : 0))
        return MPICommunicator(handle: cmpi_world())
    }

    static func check(_ call: String, _ code: Int32) throws(MPIError) {
        guard code == 0 else { throw MPIError(call: call, code: code) }
    }

    /// A failed call inside a step leaves the ranks out of step: nothing can continue.
    static func must(_ call: String, _ code: Int32) {
        guard code == 0 else { fatalError("\(MPIError(call: call, code: code))") }
    }

    func send(_ bytes: UnsafeRawBufferPointer, to rank: Int, tag: Int) {
        Self.must("MPI_Send", cmpi_send(handle, bytes.baseAddress, Int64(bytes.count), Int32(rank), Int32(tag)))
    }

    /// Starts sending `bytes` (which must stay valid until `test` says so).
    func startSend(_ bytes: UnsafeRawBufferPointer, to rank: Int, tag: Int) -> cmpi_request? {
        var request: cmpi_request?
        Self.must("MPI_Isend", cmpi_isend(handle, bytes.baseAddress, Int64(bytes.count), Int32(rank), Int32(tag), &request))
        return request
    }

    /// Whether a started send is done (its request is then released).
    func test(_ request: inout cmpi_request?) -> Bool {
        var done: Int32 = 0
        Self.must("MPI_Test", cmpi_test(&request, &done))
        return done != 0
    }

    /// The ranks of this communicator with the same `color`, ordered by `key` (collective).
    func split(color: Int, key: Int) -> MPICommunicator {
        var out: cmpi_comm?
        Self.must("MPI_Comm_split", cmpi_comm_split(handle, Int32(color), Int32(key), &out))
        return MPICommunicator(handle: out)
    }

    /// The size of the message waiting from `rank` with `tag`, if one is.
    func probe(from rank: Int, tag: Int) -> Int? {
        var flag: Int32 = 0, bytes: Int64 = 0
        Self.must("MPI_Iprobe", cmpi_iprobe(handle, Int32(rank), Int32(tag), &flag, &bytes))
        return flag != 0 ? Int(bytes) : nil
    }

    func receive(_ buffer: UnsafeMutableRawBufferPointer, from rank: Int, tag: Int) {
        Self.must("MPI_Recv", cmpi_recv(handle, buffer.baseAddress, Int64(buffer.count), Int32(rank), Int32(tag)))
    }

    /// Each rank's `bytes` bytes, in rank order, on every rank.
    func allGather(_ local: UnsafeRawPointer, bytes: Int, into out: UnsafeMutableRawPointer) {
        Self.must("MPI_Allgather", cmpi_allgather(handle, local, out, Int64(bytes)))
    }

    func gather(_ local: UnsafeRawPointer, bytes: [Int], into out: UnsafeMutableRawPointer?, root: Int = 0) {
        let counts = bytes.map(Int32.init)
        var displacements = [Int32](repeating: 0, count: bytes.count)
        for r in 1..<max(1, bytes.count) { displacements[r] = displacements[r - 1] + counts[r - 1] }
        Self.must("MPI_Gatherv", cmpi_gatherv(handle, local, Int64(bytes[rank]), out, counts, displacements, Int32(root)))
    }
}

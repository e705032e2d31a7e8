import VLLMModels

/// A tensor-parallel group over MPI. The all-reduce gathers every rank's values and adds them
/// in rank order on each rank, so that every rank holds the same bits (MPI's own reductions may
/// add in a different order on each rank); at the sizes a step sends (hidden size × tokens) the
/// extra bytes cost less than a second round of messages would.
final class MPITensorParallelGroup: TensorParallelCommunicator, @unchecked Sendable {
    let comm: MPICommunicator
    var rank: Int { comm.rank }
    var size: Int { comm.size }
    private var gathered = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private var gatheredCapacity = 1
    /// Bytes this rank sent the others in collectives (an all-gather delivers its part to
    /// every other rank), for the statistics logged at exit.
    private(set) var bytesSent = 0

    init(comm: MPICommunicator) { self.comm = comm }

    deinit { gathered.deallocate() }

    func allReduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) {
        let n = size
        if gatheredCapacity < n * count {
            gathered.deallocate()
            gatheredCapacity = n * count
            gathered = .allocate(capacity: gatheredCapacity)
        }
        comm.allGather(buffer, bytes: count * 4, into: gathered)
        bytesSent += (n - 1) * count * 4
        buffer.update(from: gathered, count: count)
        for r in 1..<n {
            let part = gathered + r * count
            for i in 0..<count { buffer[i] += part[i] }
        }
    }

    func gather(_ local: UnsafeRawPointer, bytes: [Int], into out: UnsafeMutableRawPointer?) {
        comm.gather(local, bytes: bytes, into: out)
        if rank != 0 { bytesSent += bytes[rank] }
    }
}

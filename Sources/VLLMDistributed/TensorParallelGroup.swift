import CMPI
import Foundation
import Synchronization
import VLLMCompute
import VLLMEngine
import VLLMModels

/// This process's place in the parallel groups: the MPI world started by `mpirun` (one process
/// per rank; `relaunchUnderMPI` starts them when the user typed a plain command), tensor-parallel
/// ranks innermost, then pipeline stages, then data-parallel replicas, as vLLM orders them. Each
/// replica's first rank hosts its engine; world rank 0 hosts replica 0's and the API server; the
/// other ranks of a replica run `TensorParallelWorker`.
public final class TensorParallelGroup: @unchecked Sendable {
    let world: MPICommunicator
    /// This rank's replica: the ranks one model spans (the world without data parallelism).
    let replica: MPICommunicator
    /// This rank's tensor-parallel group (its pipeline stage's ranks).
    let group: MPITensorParallelGroup
    let channel: WorkerChannel
    /// With more than one pipeline stage: this rank's place in the pipeline.
    let pipeline: MPIPipelineGroup?
    /// This rank's place in its replica, and the replica's ranks.
    public var rank: Int { replica.rank }
    public var size: Int { replica.size }
    public var worldRank: Int { world.rank }
    /// Which data-parallel replica this rank serves, of how many.
    public let dataParallelRank: Int
    public let dataParallelSize: Int
    /// This rank's part of each layer (`TensorParallelShard`).
    public var shard: TensorParallelShard { TensorParallelShard(rank: group.rank, size: group.size) }
    /// What the model's layers exchange through; nil when each stage is one rank.
    public var communicator: (any TensorParallelCommunicator)? { group.size > 1 ? group : nil }
    public var pipelineCommunicator: (any PipelineCommunicator)? { pipeline }
    /// Ranks on this host (compute threads are shared among them).
    public let localRanks: Int
    /// Forward steps this rank ran and the tokens in them, for the statistics logged at exit.
    var steps = 0, tokens = 0

    private static let current = Mutex<TensorParallelGroup?>(nil)

    private init(world: MPICommunicator, tensorParallelSize: Int, pipelineParallelSize: Int, partition: [Int]?) {
        self.world = world
        // Every rank splits the world (collectives): into replicas, a replica into its stages.
        let perReplica = tensorParallelSize * pipelineParallelSize
        dataParallelSize = world.size / perReplica
        dataParallelRank = world.rank / perReplica
        replica = dataParallelSize > 1 ? world.split(color: dataParallelRank, key: world.rank) : world
        group = MPITensorParallelGroup(comm: pipelineParallelSize > 1 ? replica.split(color: replica.rank / tensorParallelSize, key: replica.rank) : replica)
        pipeline = pipelineParallelSize > 1 ? MPIPipelineGroup(world: replica, tensorParallelSize: tensorParallelSize, partition: partition) : nil
        channel = WorkerChannel(comm: replica)
        localRanks = Int(ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_LOCAL_SIZE"] ?? "") ?? world.size
    }

    /// Whether Open MPI's launcher started this process (it sets these in every rank's environment).
    public static var launchedByMPI: Bool {
        let env = ProcessInfo.processInfo.environment
        return env["OMPI_COMM_WORLD_SIZE"] != nil || env["PMIX_RANK"] != nil
    }

    /// Whether `args`' data-parallel replicas are processes of an MPI job (each replica
    /// `tensorParallelSize` × `pipelineParallelSize` ranks), rather than engines in one process
    /// over one copy of the weights: when the replicas are parallel themselves, or when `mpirun`
    /// started this process (`mpirun -n 2 --host a,b vllm serve … -dp 2` puts a replica on each host).
    public static func replicasAreProcesses(_ args: EngineArgs) -> Bool {
        args.dataParallelSize > 1 && (args.tensorParallelSize * args.pipelineParallelSize > 1 || launchedByMPI)
    }

    /// The ranks `args` need: every replica's when they are processes, else one replica's.
    public static func worldSize(_ args: EngineArgs) -> Int {
        args.tensorParallelSize * args.pipelineParallelSize * (replicasAreProcesses(args) ? args.dataParallelSize : 1)
    }

    /// The groups this process belongs to: MPI's world, which must have `tensorParallelSize` ×
    /// `pipelineParallelSize` × `dataParallelSize` ranks, all running this build with the same
    /// arguments. Starts MPI once.
    public static func join(tensorParallelSize: Int, pipelineParallelSize: Int = 1, dataParallelSize: Int = 1,
                            arguments: [String] = CommandLine.arguments) throws -> TensorParallelGroup {
        let size = tensorParallelSize * pipelineParallelSize * dataParallelSize
        return try current.withLock { current in
            if let g = current {
                guard g.world.size == size else { throw MPIError("this process already belongs to a group of \(g.world.size) ranks") }
                return g
            }
            guard launchedByMPI else {
                throw MPIError("\(size) parallel ranks run one process each under Open MPI's mpirun; start it with `mpirun -n \(size) vllm …` (the vllm command does so itself)")
            }
            let partition = try PipelineStage.partition(from: ProcessInfo.processInfo.environment)
            let world = try MPICommunicator.initializeWorld(multipleThreads: dataParallelSize > 1)
            guard world.size == size else {
                _ = cmpi_finalize()
                let product = dataParallelSize > 1 ? "--data-parallel-size × --tensor-parallel-size × --pipeline-parallel-size" : "--tensor-parallel-size × --pipeline-parallel-size"
                throw MPIError("mpirun started \(world.size) ranks but \(product) is \(size); give mpirun -n \(size)")
            }
            let g = TensorParallelGroup(world: world, tensorParallelSize: tensorParallelSize, pipelineParallelSize: pipelineParallelSize,
                                        partition: partition)
            if world.rank == 0, let file = ProcessInfo.processInfo.environment[rank0PIDFileVariable] {
                try? String(getpid()).write(toFile: file, atomically: true, encoding: .utf8)
            }
            atexit { TensorParallelGroup.finish() }
            current = g
            let mine = fingerprint(arguments: arguments)
            let all = g.gatherAll(mine)
            if let other = all.firstIndex(where: { $0 != all[0] }) {
                throw MPIError("rank \(other) runs another build of swift-vllm or other arguments than rank 0; every rank needs the same binary version and flags")
            }
            return g
        }
    }

    /// After each rank has loaded its part of the model: every rank learns whether all did,
    /// and a failure on any rank fails all of them with each failed rank's reason.
    public func agreeLoaded(_ error: (any Error)?) throws {
        var mine = [UInt8](repeating: 0, count: 512)
        if let error {
            mine[0] = 1
            let text = Array("\(error)".utf8.prefix(mine.count - 1))
            mine.replaceSubrange(1 ..< 1 + text.count, with: text)
        }
        let all = gatherAll(mine)
        let failed = all.enumerated().filter { $0.element[0] == 1 }
        guard failed.isEmpty else {
            // Rank 0 says it for all; the others leave quietly (mpirun reports their status).
            guard worldRank == 0 else { exit(1) }
            let reasons = failed.map { String(decoding: $0.element[1...].prefix { $0 != 0 }, as: UTF8.self) }
            if failed.count == world.size && Set(reasons).count == 1 { throw MPIError("every rank: \(reasons[0])") }
            throw MPIError(zip(failed, reasons).map { "rank \($0.offset) could not load its part of the model: \($1)" }.joined(separator: "; "))
        }
    }

    /// Rank 0's executor: `driver` runs `part` wrapped so that each step reaches the other ranks.
    public func executor(part: DecoderModel) -> any Executor {
        let model = TensorParallelModel(part: part, group: self)
        return MultiProcExecutor(driver: CPUWorker(modelRunner: CPUModelRunner(model: model)), model: model)
    }

    /// A worker rank's life: follows rank 0's steps until it stops, then ends the process.
    public func runWorker(part: DecoderModel) -> Never {
        // Signals end rank 0's run (it drains, then tells the workers); a worker killed first
        // would make mpirun end the job mid-drain.
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        TensorParallelWorker(part: part, group: self).run()
        exit(0)
    }

    /// World rank 0: the other data-parallel replicas, each reached through its first rank.
    /// `validator` is this process's engine (replica 0's), which checks their requests.
    public func remoteReplicas(validator: LLMEngine) -> [RemoteAsyncLLM] {
        (1..<dataParallelSize).map { replica in
            let link = MPIReplicaLink(comm: world, peer: replica * size, sendTag: MPIReplicaLink.toReplicaTag, receiveTag: MPIReplicaLink.toServerTag)
            return RemoteAsyncLLM(link: link, validator: validator)
        }
    }

    /// A data-parallel replica's first rank (not world rank 0): serves `llm` to world rank 0
    /// until it stops the replica, then ends the process (its workers with it).
    public func serveReplica(_ llm: AsyncLLM) -> Never {
        // As on the workers: rank 0 drains on a signal, then stops the replicas.
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let link = MPIReplicaLink(comm: world, peer: 0, sendTag: MPIReplicaLink.toServerTag, receiveTag: MPIReplicaLink.toReplicaTag)
        ReplicaServer(llm: llm, link: link, index: dataParallelRank).run()
        exit(0)
    }

    /// Every rank's `bytes` (the same length on each), in world rank order.
    private func gatherAll(_ bytes: [UInt8]) -> [[UInt8]] {
        var out = [UInt8](repeating: 0, count: bytes.count * world.size)
        bytes.withUnsafeBytes { mine in out.withUnsafeMutableBytes { world.allGather(mine.baseAddress!, bytes: bytes.count, into: $0.baseAddress!) } }
        return (0..<world.size).map { Array(out[$0 * bytes.count ..< ($0 + 1) * bytes.count]) }
    }

    /// The build and arguments, hashed (FNV-1a) into 8 bytes.
    private static func fingerprint(arguments: [String]) -> [UInt8] {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        let text = ([swiftVLLMVersion] + arguments.dropFirst()).joined(separator: "\u{0}")
        for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return withUnsafeBytes(of: h.littleEndian, Array.init)
    }

    /// At exit: rank 0 tells the workers to stop; every rank leaves MPI.
    private static func finish() {
        guard let g = current.withLock({ $0 }) else { return }
        if g.rank == 0 && g.size > 1 {
            g.channel.send(.shutdown)
            g.channel.flush()
        }
        if g.steps > 0 {
            let pipelineBytes = g.pipeline?.bytesSent ?? 0
            let sent = g.group.bytesSent + g.channel.bytesSent + pipelineBytes
            logInfo("parallel rank \(g.worldRank)/\(g.world.size): \(g.steps) steps, \(g.tokens) tokens; sent \(sent) bytes "
                    + "(\(g.channel.bytesSent) of them step messages, \(pipelineBytes) to other pipeline stages), \(sent / g.tokens) per token\n")
        }
        _ = cmpi_finalize()
    }

    /// Runs this command under `mpirun -n size` and exits with its status, so that a user who
    /// typed `vllm serve … --tensor-parallel-size 2` gets its ranks; returns at once when MPI
    /// started this process already or `size` is 1. This process stays as mpirun's parent and
    /// passes SIGTERM and SIGINT to rank 0 alone, which drains and then stops the workers
    /// (mpirun itself would signal every rank and kill them all seconds later, mid-drain).
    public static func relaunchUnderMPI(size: Int) throws {
        guard size > 1, !launchedByMPI else { return }
        let env = ProcessInfo.processInfo.environment
        let path = (env["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map { "\($0)/mpirun" }
        guard let mpirun = path.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw MPIError("\(size) parallel ranks run one process each under Open MPI's mpirun, which is not installed here (Debian: apt-get install openmpi-bin)")
        }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        // Each rank's threads are its own (no binding to one core); more ranks than cores is allowed.
        var args = [mpirun, "-n", String(size), "--oversubscribe", "--bind-to", "none"]
        if getuid() == 0 { args.append("--allow-run-as-root") }
        args += [exe] + CommandLine.arguments.dropFirst()
        let pidFile = FileManager.default.temporaryDirectory.appendingPathComponent("swift-vllm-rank0-\(getpid()).pid").path
        setenv(rank0PIDFileVariable, pidFile, 1)
        defer { unlink(pidFile) }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Its own process group (a terminal's Ctrl-C reaches this process only), no signal
        // blocked, and the usual actions for the signals this process ignores or handles.
        var none = sigset_t(), reset = sigset_t()
        sigemptyset(&none)
        sigemptyset(&reset)
        for s in [SIGTERM, SIGINT, SIGPIPE] { sigaddset(&reset, s) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &reset)
        var child: pid_t = 0
        let cArgs = args.map { strdup($0) } + [nil]
        let rc = posix_spawn(&child, mpirun, nil, &attributes, cArgs, environ)
        guard rc == 0 else { throw MPIError("cannot start \(mpirun): \(String(cString: strerror(rc)))") }
        // Signals come to any thread of this process: ignored as such, seen by dispatch sources.
        let forward = DispatchQueue(label: "vllm.mpirun-signals")
        let sources = [SIGTERM, SIGINT].map { sig in
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: forward)
            source.setEventHandler {
                if let text = try? String(contentsOfFile: pidFile, encoding: .utf8), let rank0 = pid_t(text) {
                    kill(rank0, sig)
                } else {
                    kill(child, sig)  // rank 0 has not started: mpirun ends the job
                }
            }
            source.resume()
            return source
        }
        var status: Int32 = 0
        while waitpid(child, &status, 0) < 0 && errno == EINTR {}
        sources.forEach { $0.cancel() }
        unlink(pidFile)
        // WIFEXITED / WEXITSTATUS / WTERMSIG, spelled out (the C macros are not imported).
        exit(status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f))
    }

    /// Where `relaunchUnderMPI` asks rank 0 to write its process id.
    static let rank0PIDFileVariable = "SWIFT_VLLM_RANK0_PIDFILE"
}

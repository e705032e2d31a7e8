#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization
import CKernels

/// A persistent pool of worker threads for data-parallel kernels.
///
/// `run` hands the same job to every thread (the caller is thread 0) and returns when all have
/// finished. Workers spin after a job because the next one usually follows within microseconds
/// (one per matmul in a forward pass); then they sleep on a condition variable so an idle engine
/// uses no CPU.
public final class ThreadPool: @unchecked Sendable {
    public let threadCount: Int

    private typealias Job = (Int) -> Void
    private var job: Job?
    private let generation = Atomic<Int>(0)
    private let pending = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private let nextPiece = Atomic<Int>(0)
    private var mutex = pthread_mutex_t()
    private var wake = pthread_cond_t()
    private var threads: [pthread_t] = []
    /// Busy-wait rounds before yielding, and yielding rounds before sleeping. Yielding keeps a
    /// worker ready for the next job (between matmuls the caller often runs short single-threaded
    /// steps) while letting other runnable threads have the core when cores are oversubscribed.
    private static let spinIterations = 4_000
    private static let yieldIterations = 20_000

    /// Creates a pool with `threadCount` threads in all (the caller counts as one).
    public init(threadCount: Int = ThreadPool.availableCores) {
        self.threadCount = max(1, threadCount)
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&wake, nil)
        for index in 1..<self.threadCount {
            let box = Unmanaged.passRetained(WorkerStart(pool: self, index: index))
            var tid = pthread_t()
            let rc = pthread_create(&tid, nil, { raw in
                let start = Unmanaged<WorkerStart>.fromOpaque(raw!).takeRetainedValue()
                start.pool.workerLoop(index: start.index)
                return nil
            }, box.toOpaque())
            precondition(rc == 0, "pthread_create failed: \(rc)")
            threads.append(tid)
        }
    }

    deinit {
        stopping.store(true, ordering: .releasing)
        generation.add(1, ordering: .releasing)
        pthread_mutex_lock(&mutex)
        pthread_cond_broadcast(&wake)
        pthread_mutex_unlock(&mutex)
        for t in threads { pthread_join(t, nil) }
        pthread_cond_destroy(&wake)
        pthread_mutex_destroy(&mutex)
    }

    /// Number of online CPU cores.
    public static var availableCores: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// Runs `body(threadIndex)` once on each of the `threadCount` threads and waits for all.
    /// Calls must not overlap (one owner drives the pool).
    public func run(_ body: (Int) -> Void) {
        if threadCount == 1 { body(0); return }
        withoutActuallyEscaping(body) { escaping in
            job = escaping
            pending.store(threadCount - 1, ordering: .relaxed)
            generation.add(1, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                pthread_mutex_lock(&mutex)
                pthread_cond_broadcast(&wake)
                pthread_mutex_unlock(&mutex)
            }
            escaping(0)
            while pending.load(ordering: .acquiring) > 0 { spinPause() }
            job = nil
        }
    }

    /// Splits `0..<count` into one contiguous range per thread and runs `body(thread, range)` on
    /// each non-empty range. Range edges are multiples of `grain` (e.g. a SIMD width).
    public func parallelFor(_ count: Int, grain: Int = 1, _ body: (Int, Range<Int>) -> Void) {
        let n = threadCount
        if n == 1 || count <= grain { body(0, 0..<count); return }
        run { t in
            let r = Self.share(of: count, thread: t, of: n, grain: grain)
            if !r.isEmpty { body(t, r) }
        }
    }

    /// Cuts `0..<count` into `pieces` ranges (edges at multiples of `grain`) that threads claim
    /// in order from a shared counter, running `body(thread, range)` on each: uneven pieces, or a
    /// thread that starts late, then cost little idle time at the end.
    public func parallelForDynamic(_ count: Int, pieces: Int, grain: Int = 1, _ body: (Int, Range<Int>) -> Void) {
        let pieces = max(1, pieces)
        if threadCount == 1 || pieces == 1 { body(0, 0..<count); return }
        nextPiece.store(0, ordering: .relaxed)
        run { t in
            while true {
                let i = nextPiece.wrappingAdd(1, ordering: .relaxed).oldValue
                guard i < pieces else { return }
                let r = Self.share(of: count, thread: i, of: pieces, grain: grain)
                if !r.isEmpty { body(t, r) }
            }
        }
    }

    /// The part of `0..<count` that thread `t` of `n` takes, in multiples of `grain`.
    public static func share(of count: Int, thread t: Int, of n: Int, grain: Int = 1) -> Range<Int> {
        let units = (count + grain - 1) / grain
        let lo = min(count, units * t / n * grain)
        let hi = min(count, units * (t + 1) / n * grain)
        return lo..<max(lo, hi)
    }

    private func workerLoop(index: Int) {
        var seen = 0
        while true {
            var spins = 0
            while generation.load(ordering: .acquiring) == seen {
                spins += 1
                if spins < Self.spinIterations { spinPause(); continue }
                if spins < Self.spinIterations + Self.yieldIterations { sched_yield(); continue }
                pthread_mutex_lock(&mutex)
                sleepers.add(1, ordering: .sequentiallyConsistent)
                while generation.load(ordering: .sequentiallyConsistent) == seen {
                    pthread_cond_wait(&wake, &mutex)
                }
                sleepers.subtract(1, ordering: .relaxed)
                pthread_mutex_unlock(&mutex)
            }
            seen = generation.load(ordering: .acquiring)
            if stopping.load(ordering: .acquiring) { return }
            job!(index)
            pending.subtract(1, ordering: .releasing)
        }
    }
}

private final class WorkerStart {
    let pool: ThreadPool
    let index: Int
    init(pool: ThreadPool, index: Int) { self.pool = pool; self.index = index }
}

@inline(__always) private func spinPause() { vk_cpu_relax() }

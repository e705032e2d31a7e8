import CKernels

/// What this machine can do at most, measured now: the two limits every benchmark figure is
/// compared against (a decode step cannot beat model bytes ÷ bandwidth, a prefill cannot beat
/// its FLOPs ÷ peak).
public struct Roofline: Sendable, Equatable {
    /// Best STREAM-style triad bandwidth over the repeats, bytes/s, all threads.
    public var memoryBandwidth: Double
    /// Best fp32 FMA throughput over the repeats, FLOP/s, all threads.
    public var peakFlops: Double
    public var threads: Int

    /// Measures both limits with `pool`'s threads: the triad over three arrays of `arrayBytes`
    /// each (far larger than the caches), the FMA chains for `fmaIterations` rounds per thread;
    /// each `repeats` times, keeping the best (as STREAM reports).
    public static func measure(pool: ThreadPool, arrayBytes: Int = 128 << 20, fmaIterations: Int = 20_000_000,
                               repeats: Int = 5) -> Roofline {
        let n = arrayBytes / MemoryLayout<Float>.stride
        let a = UnsafeMutablePointer<Float>.allocate(capacity: n)
        let b = UnsafeMutablePointer<Float>.allocate(capacity: n)
        let c = UnsafeMutablePointer<Float>.allocate(capacity: n)
        defer { a.deallocate(); b.deallocate(); c.deallocate() }
        // First touch by the threads that will stream them (pages land near those cores).
        pool.parallelFor(n, grain: 1024) { _, r in
            for i in r { a[i] = 0; b[i] = 1; c[i] = 2 }
        }
        let clock = ContinuousClock()
        var bandwidth = 0.0, flops = 0.0
        for _ in 0..<repeats {
            let t0 = clock.now
            pool.parallelFor(n, grain: 1024) { _, r in
                vk_triad_f32(a + r.lowerBound, b + r.lowerBound, c + r.lowerBound, 3, Int64(r.count))
            }
            bandwidth = max(bandwidth, Double(3 * arrayBytes) / (clock.now - t0).seconds)

            let t1 = clock.now
            pool.run { _ in _ = vk_fma_peak(Int64(fmaIterations)) }
            let work = Double(pool.threadCount * fmaIterations) * Double(vk_fma_peak_flops_per_iteration())
            flops = max(flops, work / (clock.now - t1).seconds)
        }
        return Roofline(memoryBandwidth: bandwidth, peakFlops: flops, threads: pool.threadCount)
    }

}

extension Duration {
    /// The duration in seconds, as a Double (for rates).
    public var seconds: Double {
        let (s, a) = components
        return Double(s) + Double(a) * 1e-18
    }
}

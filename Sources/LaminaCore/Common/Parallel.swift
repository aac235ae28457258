import Dispatch
import CBLAS
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One level of parallelism at a time (DESIGN.md): kernels split work into a fixed number of tasks that
/// depends only on the problem size, never on the thread count, and combine task results in task
/// order, so that results are bit-identical for any number of threads.
package enum Parallel {
    private static let configuredThreads = Atomic<Int>(0)

    /// Worker threads used by Lamina's own kernels (0 = one per online core).
    package static var threadCount: Int {
        let configured = configuredThreads.load(ordering: .relaxed)
        if configured > 0 { return configured }
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    package static func setThreadCount(_ count: Int) {
        configuredThreads.store(max(0, count), ordering: .relaxed)
    }

    /// Runs `body(task)` for every task in 0..<taskCount on up to `threadCount` workers. While it runs,
    /// OpenBLAS is single-threaded: each worker's gemm must not oversubscribe the cores, and a gemm
    /// must give the same bits whether one worker or several run (OpenBLAS's threaded kernels split
    /// the work differently and round differently).
    package static func forEachTask(_ taskCount: Int, _ body: (Int) -> Void) {
        if taskCount <= 0 { return }
        let workers = min(threadCount, taskCount)
        SingleThreadedBLAS.enter()
        defer { SingleThreadedBLAS.leave() }
        if workers == 1 {
            for task in 0..<taskCount { body(task) }
            return
        }
        let next = Atomic<Int>(0)
        withoutActuallyEscaping(body) { body in
            DispatchQueue.concurrentPerform(iterations: workers) { _ in
                while true {
                    let task = next.wrappingAdd(1, ordering: .relaxed).oldValue
                    if task >= taskCount { break }
                    body(task)
                }
            }
        }
    }

    /// Runs `body` over fixed-size chunks of 0..<count and returns the per-chunk results in chunk order.
    package static func mapChunks<R>(count: Int, chunk: Int, _ body: (Range<Int>) -> R) -> [R] {
        let chunkCount = (count + chunk - 1) / chunk
        if chunkCount == 0 { return [] }
        let results = UnsafeMutablePointer<R>.allocate(capacity: chunkCount)
        forEachTask(chunkCount) { task in
            let start = task * chunk
            (results + task).initialize(to: body(start..<min(count, start + chunk)))
        }
        let array = Array(UnsafeBufferPointer(start: results, count: chunkCount))
        results.deinitialize(count: chunkCount)
        results.deallocate()
        return array
    }
}

/// OpenBLAS's thread count is process-wide. Lamina's kernels (possibly running on several caller
/// threads at once) need it at 1 while they run; the first kernel to enter saves the caller's setting
/// and the last to leave restores it, so concurrent calls cannot leave it changed.
enum SingleThreadedBLAS {
    private static let state = Mutex<(depth: Int, saved: Int32)>((0, 1))

    static func enter() {
        state.withLock { s in
            if s.depth == 0 {
                s.saved = openblas_get_num_threads()
                openblas_set_num_threads(1)
            }
            s.depth += 1
        }
    }

    static func leave() {
        state.withLock { s in
            s.depth -= 1
            if s.depth == 0 { openblas_set_num_threads(s.saved) }
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// Seconds on the monotonic clock (CLOCK_MONOTONIC): for progress reports' elapsed times and rates,
/// never for anything that affects results.
func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

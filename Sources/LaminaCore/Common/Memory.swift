#if canImport(Glibc)
import Glibc
#endif

/// Fallible allocation for buffers whose size comes from user input, and the memory the process may
/// still take. Swift's own allocations (Array, UnsafeMutablePointer.allocate, class instances) abort
/// the process when malloc fails, which inside a ctypes call kills the user's Python; under a
/// `ulimit -v` (RLIMIT_AS) or a container's cgroup limit malloc fails long before physical RAM runs
/// out. So large buffers come from `Memory.allocate` (posix_memalign; nil -> LaminaError(.outOfMemory)),
/// and up-front size checks use `Memory.availableBytes`, not the machine's RAM.
package enum Memory {
    /// `count` uninitialised values from posix_memalign (64-byte aligned); release with `Memory.free`.
    /// Throws LaminaError(.outOfMemory) naming `what` when the size overflows or the allocation fails.
    package static func allocate<T>(_ count: Int, _ what: @autoclosure () -> String) throws -> UnsafeMutablePointer<T> {
        let (bytes, overflow) = Swift.max(count, 1).multipliedReportingOverflow(by: MemoryLayout<T>.stride)
        if count < 0 || overflow {
            throw LaminaError(.outOfMemory, "\(what()) would hold \(count) values, which overflows")
        }
        var raw: UnsafeMutableRawPointer?
        if posix_memalign(&raw, Swift.max(64, MemoryLayout<T>.alignment), bytes) != 0 || raw == nil {
            throw outOfMemory(bytes, what())
        }
        return raw!.bindMemory(to: T.self, capacity: Swift.max(count, 1))
    }

    package static func free<T>(_ p: UnsafeMutablePointer<T>) { Glibc.free(UnsafeMutableRawPointer(p)) }

    /// Throws LaminaError(.outOfMemory) unless `bytes` more can be allocated now: within the limits of
    /// `availableBytes`, and confirmed by a malloc of that size (freed at once), so that a Swift
    /// allocation of the same size that follows does not abort. For storage that must be a Swift Array.
    package static func reserve(_ bytes: Int, _ what: @autoclosure () -> String) throws {
        if bytes < 0 { throw LaminaError(.outOfMemory, "\(what()) overflows") }
        let available = availableBytes
        if bytes > available {
            throw LaminaError(.outOfMemory, "\(what()) needs \(bytes >> 20) MiB; \(limitDescription(available))")
        }
        guard let probe = malloc(Swift.max(bytes, 1)) else { throw outOfMemory(bytes, what()) }
        Glibc.free(probe)
    }

    static func outOfMemory(_ bytes: Int, _ what: String) -> LaminaError {
        LaminaError(.outOfMemory, "cannot allocate \(bytes >> 20) MiB for \(what); \(limitDescription(availableBytes))")
    }

    static func limitDescription(_ available: Int) -> String {
        "about \(available >> 20) MiB are available (the least of physical RAM, the address-space limit RLIMIT_AS (ulimit -v) and the cgroup memory limit, minus what is in use)"
    }

    /// Bytes this process can still allocate, as far as the limits say: the least of physical RAM,
    /// RLIMIT_AS minus the address space already mapped, and the cgroup (v2 memory.max, v1
    /// memory.limit_in_bytes) limit minus the cgroup's current usage. Int.max when nothing is known.
    package static var availableBytes: Int {
        var best = physicalBytes
        var limit = rlimit()
        if getrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &limit) == 0 && limit.rlim_cur != rlim_t.max {
            let cap = Int(clamping: limit.rlim_cur)
            best = Swift.min(best, Swift.max(0, cap - mappedBytes))
        }
        if let (max, used) = cgroupLimit() {
            best = Swift.min(best, Swift.max(0, max - used))
        }
        return best
    }

    package static var physicalBytes: Int {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), size = sysconf(Int32(_SC_PAGESIZE))
        if pages <= 0 || size <= 0 { return Int.max }
        return pages.multipliedReportingOverflow(by: size).overflow ? Int.max : pages * size
    }

    /// The process's mapped address space (VmSize), which is what RLIMIT_AS limits.
    static var mappedBytes: Int {
        guard let text = readSmallFile("/proc/self/statm"),
              let pages = text.split(separator: " ").first.flatMap({ Int($0) }) else { return 0 }
        return pages * Swift.max(1, sysconf(Int32(_SC_PAGESIZE)))
    }

    /// (limit, usage) of this process's memory cgroup, when it has a limit.
    static func cgroupLimit() -> (Int, Int)? {
        var candidates: [(String, String)] = []
        if let cgroups = readSmallFile("/proc/self/cgroup") {
            for line in cgroups.split(separator: "\n") {
                let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
                guard parts.count == 3 else { continue }
                let path = parts[2] == "/" ? "" : String(parts[2])
                if parts[0] == "0" && parts[1].isEmpty {
                    candidates.append(("/sys/fs/cgroup\(path)/memory.max", "/sys/fs/cgroup\(path)/memory.current"))
                } else if parts[1].split(separator: ",").contains("memory") {
                    candidates.append(("/sys/fs/cgroup/memory\(path)/memory.limit_in_bytes", "/sys/fs/cgroup/memory\(path)/memory.usage_in_bytes"))
                }
            }
        }
        // Inside a container the cgroup namespace puts the process's own cgroup at the root.
        candidates.append(("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"))
        candidates.append(("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"))
        for (limitFile, usageFile) in candidates {
            guard let text = readSmallFile(limitFile) else { continue }
            let value = text.trimmingSuffix()
            if value == "max" { return nil }
            guard let limit = Int(value), limit > 0, limit < 1 << 62 else { return nil }  // v1 "no limit" is ~2^63
            let used = readSmallFile(usageFile).flatMap { Int($0.trimmingSuffix()) } ?? 0
            return (limit, used)
        }
        return nil
    }

    static func readSmallFile(_ path: String) -> String? {
        guard let f = fopen(path, "r") else { return nil }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 1 << 16 {
            let n = fread(&buf, 1, buf.count, f)
            if n <= 0 { break }
            bytes.append(contentsOf: buf[0..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension String {
    fileprivate func trimmingSuffix() -> String {
        var s = Substring(self)
        while let last = s.last, last == "\n" || last == " " || last == "\r" { s = s.dropLast() }
        return String(s)
    }
}

extension Buffer {
    /// A zero-initialised buffer from a fallible allocation: LaminaError(.outOfMemory) naming `what`
    /// instead of an abort when `count` values do not fit.
    package convenience init(checked count: Int, zero: T, _ what: @autoclosure () -> String) throws {
        let p: UnsafeMutablePointer<T> = try Memory.allocate(count, what())
        p.initialize(repeating: zero, count: Swift.max(count, 1))
        self.init(adopting: p, count: count)
    }
}

extension Matrix {
    /// `init(uninitializedRows:cols:)` after `Memory.reserve`: LaminaError(.outOfMemory) naming `what`
    /// instead of an abort when the matrix does not fit.
    package init(checkedRows rows: Int, cols: Int, _ what: @autoclosure () -> String) throws {
        let (count, o1) = rows.multipliedReportingOverflow(by: cols)
        let (bytes, o2) = count.multipliedReportingOverflow(by: MemoryLayout<Float>.stride)
        if rows < 0 || cols < 0 || o1 || o2 { throw LaminaError(.outOfMemory, "\(what()) of \(rows) x \(cols) floats overflows") }
        try Memory.reserve(bytes, "\(what()) (\(rows) x \(cols) float32)")
        self.init(uninitializedRows: rows, cols: cols)
    }
}

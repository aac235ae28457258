import LaminaCore
#if canImport(Glibc)
import Glibc
#endif

// The C boundary: status codes, the thread-local last error, version and thread settings.
// Every exported function runs its body through `boundary`, which turns a thrown LaminaError into a
// status code and a message; nothing here computes.

let laminaVersionMajor: Int32 = 0
let laminaVersionMinor: Int32 = 1
let laminaVersionPatch: Int32 = 0

/// Thread-local last-error message, stored as a strdup'ed C string under a pthread key (freed when
/// replaced or when the thread exits).
enum LastError {
    static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { free($0) }
        return key
    }()
    nonisolated(unsafe) static let empty: UnsafeMutablePointer<CChar> = strdup("")

    static func set(_ message: String) {
        let old = pthread_getspecific(key)
        pthread_setspecific(key, strdup(message))
        free(old)
    }

    static var current: UnsafePointer<CChar> {
        if let p = pthread_getspecific(key) { return UnsafePointer(p.assumingMemoryBound(to: CChar.self)) }
        return UnsafePointer(empty)
    }
}

/// Runs one C entry point: validation and work inside `body`; a thrown error becomes its status.
@inline(__always)
func boundary(_ body: () throws -> Void) -> Int32 {
    do {
        try body()
        return 0
    } catch let error as LaminaError {
        LastError.set(error.message)
        return error.kind.rawValue
    } catch {
        LastError.set("internal error: \(error)")
        return LaminaError.Kind.internal.rawValue
    }
}

@_cdecl("lamina_version_number")
public func lamina_version_number() -> Int32 {
    laminaVersionMajor * 10000 + laminaVersionMinor * 100 + laminaVersionPatch
}

nonisolated(unsafe) private let versionString: UnsafeMutablePointer<CChar> =
    strdup("\(laminaVersionMajor).\(laminaVersionMinor).\(laminaVersionPatch)")

@_cdecl("lamina_version_string")
public func lamina_version_string() -> UnsafePointer<CChar> { UnsafePointer(versionString) }

nonisolated(unsafe) private let statusNames: [UnsafeMutablePointer<CChar>] = ([
    "ok", "invalid argument", "shape mismatch", "non-finite input", "I/O error", "format error",
    "out of memory", "cancelled", "internal error", "unknown status",
] as [String]).map { strdup($0)! }

@_cdecl("lamina_status_string")
public func lamina_status_string(_ status: Int32) -> UnsafePointer<CChar> {
    let index = status >= 0 && status < 9 ? Int(status) : 9
    return UnsafePointer(statusNames[index])
}

@_cdecl("lamina_last_error")
public func lamina_last_error() -> UnsafePointer<CChar> { LastError.current }

@_cdecl("lamina_set_num_threads")
public func lamina_set_num_threads(_ n: Int32) -> Int32 {
    boundary {
        if n < 0 { throw LaminaError.invalid("n is \(n); expected 0 (all cores) or a positive thread count") }
        Parallel.setThreadCount(Int(n))
    }
}

@_cdecl("lamina_get_num_threads")
public func lamina_get_num_threads() -> Int32 { Int32(clamping: Parallel.threadCount) }

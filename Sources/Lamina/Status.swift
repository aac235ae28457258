import CLaminaABI
import LaminaCore
#if canImport(Glibc)
import Glibc
#endif

// The C boundary: status codes, the thread-local last error, version and thread settings.
// Every exported function runs its body through `boundary`, which turns a thrown LaminaError into a
// status code and a message; nothing here computes.

// Every number here comes from the header (imported through CLaminaABI): the version, the status
// codes and their names cannot disagree with what include/lamina.h promises.
let laminaVersionMajor: Int32 = LAMINA_VERSION_MAJOR
let laminaVersionMinor: Int32 = LAMINA_VERSION_MINOR
let laminaVersionPatch: Int32 = LAMINA_VERSION_PATCH

/// The header's status code of an error kind.
func statusCode(_ kind: LaminaError.Kind) -> Int32 {
    switch kind {
    case .invalidArgument: LAMINA_ERR_INVALID_ARGUMENT
    case .shapeMismatch: LAMINA_ERR_SHAPE_MISMATCH
    case .nonFinite: LAMINA_ERR_NON_FINITE
    case .io: LAMINA_ERR_IO
    case .format: LAMINA_ERR_FORMAT
    case .outOfMemory: LAMINA_ERR_OUT_OF_MEMORY
    case .cancelled: LAMINA_ERR_CANCELLED
    case .internal: LAMINA_ERR_INTERNAL
    }
}

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
        return LAMINA_OK
    } catch let error as LaminaError {
        LastError.set(error.message)
        return statusCode(error.kind)
    } catch {
        LastError.set("internal error: \(error)")
        return LAMINA_ERR_INTERNAL
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

nonisolated(unsafe) private let statusNames: [Int32: UnsafeMutablePointer<CChar>] = ([
    LAMINA_OK: "ok", LAMINA_ERR_INVALID_ARGUMENT: "invalid argument", LAMINA_ERR_SHAPE_MISMATCH: "shape mismatch",
    LAMINA_ERR_NON_FINITE: "non-finite input", LAMINA_ERR_IO: "I/O error", LAMINA_ERR_FORMAT: "format error",
    LAMINA_ERR_OUT_OF_MEMORY: "out of memory", LAMINA_ERR_CANCELLED: "cancelled", LAMINA_ERR_INTERNAL: "internal error",
] as [Int32: String]).mapValues { strdup($0)! }

nonisolated(unsafe) private let unknownStatus: UnsafeMutablePointer<CChar> = strdup("unknown status")

@_cdecl("lamina_status_string")
public func lamina_status_string(_ status: Int32) -> UnsafePointer<CChar> {
    UnsafePointer(statusNames[status] ?? unknownStatus)
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

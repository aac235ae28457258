#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Atomic whole-file writes and bounded whole-file reads, without Foundation.
///
/// A write goes to a new temporary file in the target's directory (unique name, created with O_EXCL,
/// mode 0666 minus the umask), is written in full, fsync'ed, renamed over the target, and the
/// directory is fsync'ed. Readers of `path` therefore see either the old file or the complete new one,
/// and after a crash the file is one or the other. On any failure before the rename the temporary file
/// is removed, the old file is untouched, and a `LaminaError(.io, ...)` names the path and the errno
/// text. (If `path` is a symbolic link, the link itself is replaced by a regular file.)
package enum AtomicFile {
    /// Default limit of `read`: 16 GiB.
    package static let defaultMaxReadBytes = 1 << 34

    /// Sequential writer handed to the closure of `write(path:_:)`. Buffers small writes.
    package struct Writer: ~Copyable {
        fileprivate let fd: Int32
        fileprivate let displayPath: String
        fileprivate var buffer: [UInt8] = []
        fileprivate static let bufferLimit = 1 << 20
        /// Bytes written so far.
        package private(set) var bytesWritten = 0

        fileprivate init(fd: Int32, displayPath: String) {
            self.fd = fd
            self.displayPath = displayPath
            buffer.reserveCapacity(Self.bufferLimit)
        }

        /// Appends `bytes` to the file.
        package mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
            guard bytes.count > 0 else { return }
            bytesWritten += bytes.count
            if buffer.count + bytes.count <= Self.bufferLimit {
                AtomicFile.append(bytes, to: &buffer)
                return
            }
            try flush()
            if bytes.count >= Self.bufferLimit {
                try AtomicFile.writeAll(fd, bytes, displayPath)
            } else {
                AtomicFile.append(bytes, to: &buffer)
            }
        }

        package mutating func write(_ bytes: [UInt8]) throws {
            try bytes.withUnsafeBytes { try write($0) }
        }

        package mutating func write(_ values: [Float]) throws {
            try values.withUnsafeBytes { try write($0) }
        }

        package mutating func write(_ values: UnsafeBufferPointer<Float>) throws {
            try write(UnsafeRawBufferPointer(values))
        }

        fileprivate mutating func flush() throws {
            guard !buffer.isEmpty else { return }
            try buffer.withUnsafeBytes { try AtomicFile.writeAll(fd, $0, displayPath) }
            buffer.removeAll(keepingCapacity: true)
        }
    }

    /// Writes `bytes` to `path` atomically (see the type's documentation).
    package static func write(path: String, bytes: [UInt8]) throws {
        try write(path: path) { writer in try writer.write(bytes) }
    }

    /// Writes the bytes `body` produces through its writer to `path` atomically. If `body` throws, the
    /// temporary file is removed, the old file survives, and `body`'s error is rethrown unchanged.
    package static func write(path: String, _ body: (inout Writer) throws -> Void) throws {
        guard !path.isEmpty else { throw LaminaError.invalid("path is empty; expected a file path") }
        guard !path.utf8.contains(0) else { throw LaminaError.invalid("path contains a NUL byte") }
        if path.hasSuffix("/") {
            throw LaminaError(.io, "cannot write '\(path)': the path names a directory")
        }
        let (directory, base) = split(path)
        let (fd, tempPath) = try createTemporary(directory: directory, base: base, target: path)
        var renamed = false
        var closed = false
        defer {
            if !closed { _ = close(fd) }
            if !renamed { _ = unlink(tempPath) }
        }
        var writer = Writer(fd: fd, displayPath: path)
        try body(&writer)
        try writer.flush()
        if fsync(fd) != 0 { throw ioError("cannot write '\(path)': fsync failed") }
        closed = true
        if close(fd) != 0 { throw ioError("cannot write '\(path)': close failed") }
        if rename(tempPath, path) != 0 { throw ioError("cannot write '\(path)': rename from the temporary file failed") }
        renamed = true
        // Make the rename durable. Some file systems do not support fsync on directories (EINVAL):
        // the data is in place and the rename done, so only real I/O errors are reported.
        let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            let rc = fsync(dfd)
            let err = errno
            _ = close(dfd)
            if rc != 0 && err == EIO {
                throw LaminaError(.io, "wrote '\(path)' but syncing its directory '\(directory)' failed: \(errnoText(err))")
            }
        }
    }

    /// The whole content of the regular file at `path`; files larger than `maxBytes` are rejected
    /// with `LaminaError(.io)` before anything is allocated.
    package static func read(path: String, maxBytes: Int = defaultMaxReadBytes) throws -> [UInt8] {
        guard !path.isEmpty else { throw LaminaError.invalid("path is empty; expected a file path") }
        guard !path.utf8.contains(0) else { throw LaminaError.invalid("path contains a NUL byte") }
        // O_NONBLOCK: opening a FIFO must not wait for a writer (it is then rejected as not regular).
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        if fd < 0 { throw ioError("cannot open '\(path)' for reading") }
        defer { _ = close(fd) }
        var st = stat()
        if fstat(fd, &st) != 0 { throw ioError("cannot stat '\(path)'") }
        if (st.st_mode & S_IFMT) != S_IFREG {
            throw LaminaError(.io, "cannot read '\(path)': not a regular file")
        }
        let size = Int(st.st_size)
        if size > maxBytes {
            throw LaminaError(.io, "cannot read '\(path)': the file is \(size) bytes; the limit is \(maxBytes) bytes")
        }
        var failure: LaminaError?
        let bytes = [UInt8](unsafeUninitializedCapacity: max(size, 1)) { buf, count in
            var done = 0
            while done < size {
                let n = Glibc.read(fd, buf.baseAddress! + done, min(size - done, 1 << 30))
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = ioError("cannot read '\(path)'")
                    break
                }
                if n == 0 {
                    failure = LaminaError(.io, "cannot read '\(path)': the file shrank to \(done) bytes while being read (expected \(size))")
                    break
                }
                done += n
            }
            count = failure == nil ? size : 0
        }
        if let failure { throw failure }
        return bytes
    }

    // MARK: Helpers

    /// Appends raw bytes to a byte array with one copy (no rebinding of the source's memory type).
    static func append(_ bytes: UnsafeRawBufferPointer, to array: inout [UInt8]) {
        guard bytes.count > 0 else { return }
        let old = array.count
        array.append(contentsOf: repeatElement(0, count: bytes.count))
        array.withUnsafeMutableBytes { dst in
            (dst.baseAddress! + old).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        }
    }

    static func errnoText(_ code: Int32) -> String {
        if let s = strerror(code) { return String(cString: s) }
        return "errno \(code)"
    }

    /// A `.io` error with the current errno's text appended.
    static func ioError(_ message: String) -> LaminaError {
        let code = errno
        return LaminaError(.io, "\(message): \(errnoText(code))")
    }

    /// (directory, last component) of `path`; the directory of a bare name is ".".
    static func split(_ path: String) -> (String, String) {
        let bytes = Array(path.utf8)
        guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return (".", path) }
        let dir = slash == 0 ? "/" : String(decoding: bytes[..<slash], as: UTF8.self)
        return (dir, String(decoding: bytes[(slash + 1)...], as: UTF8.self))
    }

    private static let counter = Atomic<UInt64>(0)

    private static func createTemporary(directory: String, base: String, target: String) throws -> (Int32, String) {
        // Hidden name in the same directory; the base is shortened so the name stays under NAME_MAX.
        var shortBase = base
        while shortBase.utf8.count > 180 { shortBase.removeLast() }
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        for _ in 0..<100 {
            let n = counter.add(1, ordering: .relaxed).newValue
            let tag = String(UInt64(UInt32(truncatingIfNeeded: getpid())) << 32 ^ UInt64(ts.tv_nsec) ^ n &* 0x9E3779B97F4A7C15, radix: 36)
            let temp = (directory == "." ? "" : directory == "/" ? "/" : directory + "/") + ".\(shortBase).tmp-\(tag)"
            let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            if fd >= 0 { return (fd, temp) }
            if errno == EEXIST || errno == EINTR { continue }
            throw ioError("cannot write '\(target)': cannot create a temporary file in '\(directory)'")
        }
        throw LaminaError(.io, "cannot write '\(target)': no unique temporary file name found in '\(directory)'")
    }

    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, _ displayPath: String) throws {
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + done, min(bytes.count - done, 1 << 30))
            if n < 0 {
                if errno == EINTR { continue }
                throw ioError("cannot write '\(displayPath)'")
            }
            done += n
        }
    }
}

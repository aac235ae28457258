import XCTest
@testable import LaminaCore
#if canImport(Glibc)
import Glibc
#endif

final class AtomicFileTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        var template = Array("/tmp/lamina-atomic-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        XCTAssertNotNil(made)
        dir = String(cString: made!)
    }

    override func tearDown() {
        for name in listDirectory(dir) { unlink(dir + "/" + name) }
        rmdir(dir + "/sub")
        rmdir(dir)
    }

    func listDirectory(_ path: String) -> [String] {
        guard let d = opendir(path) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafePointer(to: e.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    func testWriteReadAndReplace() throws {
        let path = dir + "/a.bin"
        try AtomicFile.write(path: path, bytes: [1, 2, 3])
        XCTAssertEqual(try AtomicFile.read(path: path), [1, 2, 3])
        let big = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try AtomicFile.write(path: path) { w in
            try w.write(Array(big[0..<10]))
            try w.write(Array(big[10..<2_500_000]))
            try w.write(Array(big[2_500_000...]))
            XCTAssertEqual(w.bytesWritten, big.count)
        }
        XCTAssertEqual(try AtomicFile.read(path: path), big)
        try AtomicFile.write(path: path, bytes: [])
        XCTAssertEqual(try AtomicFile.read(path: path), [])
        XCTAssertEqual(listDirectory(dir), ["a.bin"])  // no temporary files left
        var st = stat()
        XCTAssertEqual(stat(path, &st), 0)
        XCTAssertNotEqual(st.st_mode & 0o044, 0, "the file is created with the usual 0666 & ~umask mode, not 0600")
    }

    func testFailedWriteKeepsOldFile() throws {
        let path = dir + "/keep.bin"
        try AtomicFile.write(path: path, bytes: [9, 9])
        struct Boom: Error {}
        XCTAssertThrowsError(try AtomicFile.write(path: path) { w in
            try w.write([UInt8](repeating: 1, count: 5_000_000))
            throw Boom()
        }) { XCTAssertTrue($0 is Boom) }
        XCTAssertEqual(try AtomicFile.read(path: path), [9, 9])
        XCTAssertEqual(listDirectory(dir), ["keep.bin"])
    }

    func testIOErrorsNameThePath() throws {
        func expectIO<T>(_ body: @autoclosure () throws -> T, _ fragments: [String], line: UInt = #line) {
            XCTAssertThrowsError(try body(), line: line) { error in
                guard let e = error as? LaminaError else { return XCTFail("\(error)", line: line) }
                XCTAssertEqual(e.kind, .io, line: line)
                for f in fragments { XCTAssertTrue(e.message.contains(f), "'\(e.message)' lacks '\(f)'", line: line) }
            }
        }
        expectIO(try AtomicFile.write(path: dir + "/missing/x.bin", bytes: [1]), ["missing/x.bin", "No such file or directory"])
        mkdir(dir + "/sub", 0o755)
        expectIO(try AtomicFile.write(path: dir + "/sub", bytes: [1]), ["sub", "rename"])
        expectIO(try AtomicFile.write(path: dir + "/", bytes: [1]), ["directory"])
        XCTAssertEqual(listDirectory(dir), ["sub"])  // temporary file removed after the failed rename
        expectIO(try AtomicFile.read(path: dir + "/nope"), ["nope", "No such file or directory"])
        expectIO(try AtomicFile.read(path: dir + "/sub"), ["not a regular file"])
        mkfifo(dir + "/fifo", 0o600)
        expectIO(try AtomicFile.read(path: dir + "/fifo"), ["fifo", "not a regular file"])  // does not block
        unlink(dir + "/fifo")
        try AtomicFile.write(path: dir + "/ten", bytes: Array(repeating: 0, count: 10))
        expectIO(try AtomicFile.read(path: dir + "/ten", maxBytes: 9), ["10 bytes", "limit is 9"])
        XCTAssertThrowsError(try AtomicFile.write(path: "", bytes: [1])) { XCTAssertEqual(($0 as? LaminaError)?.kind, .invalidArgument) }
    }

    func testRelativePathAndSplit() throws {
        XCTAssertTrue(AtomicFile.split("a") == (".", "a"))
        XCTAssertTrue(AtomicFile.split("/a") == ("/", "a"))
        XCTAssertTrue(AtomicFile.split("x/y/z.json") == ("x/y", "z.json"))
        let cwd = getcwd(nil, 0)!
        defer { chdir(cwd); free(cwd) }
        chdir(dir)
        try AtomicFile.write(path: "rel.json", bytes: Array("{}".utf8))
        XCTAssertEqual(try AtomicFile.read(path: dir + "/rel.json"), Array("{}".utf8))
    }
}

import XCTest
@testable import LaminaCore

final class HDF5Tests: XCTestCase {
    func testMissingAndNonHDF5Files() throws {
        XCTAssertThrowsError(try HDF5File.info(path: "/nonexistent/file.h5", dataset: "x")) { error in
            XCTAssertEqual((error as? LaminaError)?.kind, .io)
        }
        let path = "/tmp/lamina-core-test-\(getpid()).txt"
        FileManagerless.write(path, "not hdf5")
        defer { unlink(path) }
        XCTAssertThrowsError(try HDF5File.info(path: path, dataset: "x")) { error in
            XCTAssertEqual((error as? LaminaError)?.kind, .format)
        }
    }
}

/// Writes a small file without Foundation.
enum FileManagerless {
    static func write(_ path: String, _ text: String) {
        let f = fopen(path, "w")
        fputs(text, f)
        fclose(f)
    }
}

#if canImport(Glibc)
import Glibc
#endif

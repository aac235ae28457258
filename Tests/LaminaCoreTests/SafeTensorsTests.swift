import XCTest
@testable import LaminaCore
#if canImport(Glibc)
import Glibc
#endif

enum SafeTensorsFixtures {
    static func hexBytes(_ text: String) -> [UInt8] {
        let digits = text.utf8.filter { !($0 == 0x20 || $0 == 0x0A) }.map { c -> UInt8 in
            c >= UInt8(ascii: "a") ? c - UInt8(ascii: "a") + 10 : c - UInt8(ascii: "0")
        }
        return stride(from: 0, to: digits.count, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
    }

    /// Written by the Python `safetensors` package (0.8.0, torch backend):
    ///     save({"weight": f32 [[0.5, -1.25, 3], [1e-8, 65504, -0.0]], "half": f16 [1, -2.5, 0.0999755859375],
    ///           "brain": bf16 [[1, -3.140625], [256, 0.0078125]], "double": f64 [0.1, -1e300],
    ///           "idx": i64 [0, -7, 9007199254740993], "i32": i32 [[2147483647], [-2147483648]],
    ///           "scalar": f32 42 (shape [])}, metadata={"format": "pt"})
    static let torchFixture = hexBytes("""
        c0010000000000007b225f5f6d657461646174615f5f223a7b22666f726d6174223a227074227d2c22696478223a7b22
        6474797065223a22493634222c227368617065223a5b335d2c22646174615f6f666673657473223a5b302c32345d7d2c
        22646f75626c65223a7b226474797065223a22463634222c227368617065223a5b325d2c22646174615f6f6666736574
        73223a5b32342c34305d7d2c227363616c6172223a7b226474797065223a22463332222c227368617065223a5b5d2c22
        646174615f6f666673657473223a5b34302c34345d7d2c22776569676874223a7b226474797065223a22463332222c22
        7368617065223a5b322c335d2c22646174615f6f666673657473223a5b34342c36385d7d2c22693332223a7b22647479
        7065223a22493332222c227368617065223a5b322c315d2c22646174615f6f666673657473223a5b36382c37365d7d2c
        22627261696e223a7b226474797065223a2242463136222c227368617065223a5b322c325d2c22646174615f6f666673
        657473223a5b37362c38345d7d2c2268616c66223a7b226474797065223a22463136222c227368617065223a5b335d2c
        22646174615f6f666673657473223a5b38342c39305d7d7d0000000000000000f9ffffffffffffff0100000000002000
        9a9999999999b93f9c7500883ce437fe000028420000003f0000a0bf0000404077cc2b3200e07f4700000080ffffff7f
        00000080803f49c08043003c003c00c1662e
        """)

    /// Written by safetensors.numpy.save({"a": f32 [1.5], "zz": i32 [0, 1, 2]}): the header is padded
    /// with 3 spaces to a multiple of 8 bytes.
    static let numpyFixture = hexBytes("""
        70000000000000007b2261223a7b226474797065223a22463332222c227368617065223a5b315d2c22646174615f6f66
        6673657473223a5b302c345d7d2c227a7a223a7b226474797065223a22493332222c227368617065223a5b335d2c2264
        6174615f6f666673657473223a5b342c31365d7d7d2020200000c03f000000000100000002000000
        """)
}

final class SafeTensorsTests: XCTestCase {
    /// A file from a header text and a data section (the header is used as given, unpadded).
    func file(_ header: String, data: [UInt8] = [], headerLength: UInt64? = nil) -> [UInt8] {
        let h = Array(header.utf8)
        return SafeTensors.littleEndianBytes(headerLength ?? UInt64(h.count)) + h + data
    }

    func expectFormat(_ bytes: [UInt8], _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SafeTensorsFile(bytes: bytes), file: file, line: line) { error in
            guard let e = error as? LaminaError else { return XCTFail("not a LaminaError: \(error)", file: file, line: line) }
            XCTAssertEqual(e.kind, .format, file: file, line: line)
            XCTAssertTrue(e.message.contains(fragment), "'\(e.message)' lacks '\(fragment)'", file: file, line: line)
        }
    }

    func tempPath(_ name: String) -> String { "/tmp/lamina-st-\(getpid())-\(name)" }

    /// The tensors of the torch fixture, as Lamina writes them.
    func fixtureTensors() -> [SafeTensor] {
        [
            SafeTensor(name: "weight", shape: [2, 3], floats: [0.5, -1.25, 3, 1e-8, 65504, -0.0]),
            SafeTensor(name: "half", shape: [3], floats: [1, -2.5, 0.0999755859375], dtype: .F16),
            SafeTensor(name: "brain", shape: [2, 2], floats: [1, -3.140625, 256, 0.0078125], dtype: .BF16),
            SafeTensor(name: "double", dtype: .F64, shape: [2],
                       data: .bytes((0.1.bitPattern.littleEndianBytes + (-1e300).bitPattern.littleEndianBytes))),
            SafeTensor(name: "idx", shape: [3], int64s: [0, -7, 9007199254740993]),
            SafeTensor(name: "i32", shape: [2, 1], int64s: [2147483647, -2147483648], dtype: .I32),
            SafeTensor(name: "scalar", shape: [], floats: [42]),
        ]
    }

    func testReadsFileWrittenByPythonSafetensors() throws {
        let f = try SafeTensorsFile(bytes: SafeTensorsFixtures.torchFixture)
        XCTAssertEqual(f.names, ["idx", "double", "scalar", "weight", "i32", "brain", "half"])
        XCTAssertEqual(f.metadata?.map(\.key), ["format"])
        XCTAssertEqual(f.metadataValue("format"), "pt")
        XCTAssertEqual(f.headerLength, 448)
        XCTAssertEqual(f.entry("weight")?.shape, [2, 3])
        XCTAssertEqual(f.entry("weight")?.dtype, .F32)
        XCTAssertEqual(f.entry("scalar")?.shape, [])
        XCTAssertEqual(f.entry("brain")?.dataOffsets, 76..<84)
        XCTAssertEqual(try f.floats("weight"), [0.5, -1.25, 3, 1e-8, 65504, -0.0])
        XCTAssertEqual(try f.floats("weight")[5].sign, .minus)
        XCTAssertEqual(try f.floats("half"), [1, -2.5, 0.0999755859375])
        XCTAssertEqual(try f.floats("brain"), [1, -3.140625, 256, 0.0078125])
        XCTAssertEqual(try f.floats("double"), [Float(0.1), -Float.infinity])
        XCTAssertEqual(try f.floats("scalar"), [42])
        XCTAssertEqual(try f.int64s("idx"), [0, -7, 9007199254740993])
        XCTAssertEqual(try f.int64s("i32"), [2147483647, -2147483648])
        XCTAssertEqual(try f.rawBytes("double"), 0.1.bitPattern.littleEndianBytes + (-1e300).bitPattern.littleEndianBytes)
        XCTAssertThrowsError(try f.floats("idx")) { XCTAssertEqual(($0 as? LaminaError)?.kind, .format) }
        XCTAssertThrowsError(try f.int64s("weight")) { XCTAssertEqual(($0 as? LaminaError)?.kind, .format) }
        XCTAssertThrowsError(try f.require("W_enc")) { XCTAssertTrue(($0 as? LaminaError)!.message.contains("no tensor 'W_enc'")) }
        XCTAssertThrowsError(try f.require("weight", shape: [3, 2])) { XCTAssertTrue(($0 as? LaminaError)!.message.contains("shape [2, 3]; expected [3, 2]")) }
        var out = [Float](repeating: 0, count: 5)
        XCTAssertThrowsError(try out.withUnsafeMutableBufferPointer { try f.copyFloats("weight", into: $0) }) {
            XCTAssertEqual(($0 as? LaminaError)?.kind, .shapeMismatch)
        }

        let g = try SafeTensorsFile(bytes: SafeTensorsFixtures.numpyFixture)
        XCTAssertNil(g.metadata)
        XCTAssertEqual(g.names, ["a", "zz"])
        XCTAssertEqual(try g.floats("a"), [1.5])
        XCTAssertEqual(try g.int64s("zz"), [0, 1, 2])
    }

    func testWritesTheReferenceBytes() throws {
        XCTAssertEqual(try SafeTensors.serialize(fixtureTensors(), metadata: [("format", "pt")]), SafeTensorsFixtures.torchFixture)
        XCTAssertEqual(try SafeTensors.serialize([
            SafeTensor(name: "zz", shape: [3], int64s: [0, 1, 2], dtype: .I32),
            SafeTensor(name: "a", shape: [1], floats: [1.5]),
        ]), SafeTensorsFixtures.numpyFixture)
        // The reference's empty-file bytes (safetensors/src/tensor.rs test_empty).
        XCTAssertEqual(try SafeTensors.serialize([]), [8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32])
        // Given order and the byte layout: length, header padded to 8, data section in that order.
        let bytes = try SafeTensors.serialize([
            SafeTensor(name: "b", shape: [1], int64s: [5], dtype: .I32),
            SafeTensor(name: "a", shape: [1, 2], floats: [1, 2]),
        ], metadata: [("z", "1"), ("a", "\"q\"")], canonicalOrder: false)
        let header = #"{"__metadata__":{"z":"1","a":"\"q\""},"b":{"dtype":"I32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1,2],"data_offsets":[4,12]}}"#
        let padded = Array(header.utf8) + Array(repeating: 0x20, count: (8 - header.utf8.count % 8) % 8)
        XCTAssertEqual(bytes, SafeTensors.littleEndianBytes(UInt64(padded.count)) + padded + [5, 0, 0, 0, 0, 0, 0x80, 0x3F, 0, 0, 0, 0x40])
        XCTAssertEqual(try SafeTensorsFile(bytes: bytes).metadata?.map(\.value), ["1", "\"q\""])
    }

    func testRoundTripThroughAFile() throws {
        var rng = Xoshiro256(seed: 3)
        let w = (0..<(64 * 48)).map { _ in Float(rng.nextUnit() * 2 - 1) }
        let path = tempPath("roundtrip.safetensors")
        defer { unlink(path) }
        try w.withUnsafeBufferPointer { wp in
            try SafeTensors.write(path: path, tensors: [
                SafeTensor(name: "W_dec", dtype: .F32, shape: [64, 48], data: .floatBuffer(wp)),
                SafeTensor(name: "W_half", shape: [64, 48], floats: w, dtype: .F16),
                SafeTensor(name: "W_bf16", shape: [64, 48], floats: w, dtype: .BF16),
                SafeTensor(name: "W_f64", shape: [64, 48], floats: w, dtype: .F64),
                SafeTensor(name: "step", shape: [1], int64s: [123_456_789_012]),
                SafeTensor(name: "empty", shape: [0, 48], floats: []),
            ], metadata: [("cfg", #"{"k": 32}"#)])
        }
        let f = try SafeTensorsFile.read(path: path)
        XCTAssertEqual(try f.floats("W_dec"), w)
        XCTAssertEqual(try f.floats("W_f64"), w)
        XCTAssertEqual(try f.floats("W_half"), w.map { Float(Float16($0)) })
        let bf = try f.floats("W_bf16")
        for i in 0..<w.count {
            // Round to nearest: the error is at most half a bfloat16 ulp (8 significand bits).
            XCTAssertLessThanOrEqual(abs(bf[i] - w[i]), abs(w[i]) * 0x1p-8, "\(i)")
            XCTAssertEqual(bf[i].bitPattern & 0xFFFF, 0)
        }
        XCTAssertEqual(try f.int64s("step"), [123_456_789_012])
        XCTAssertEqual(try f.floats("empty"), [])
        XCTAssertEqual(f.metadataValue("cfg"), #"{"k": 32}"#)
        // Canonical order keeps every tensor aligned to its element size.
        for e in f.entries { XCTAssertEqual((8 + f.headerLength + e.dataOffsets.lowerBound) % e.dtype.size, 0, e.name) }
        // Rounding of bfloat16: ties to even, NaN stays NaN, overflow to infinity.
        XCTAssertEqual(SafeTensors.bfloat16Bits(Float(bitPattern: 0x3F80_8000)), 0x3F80)
        XCTAssertEqual(SafeTensors.bfloat16Bits(Float(bitPattern: 0x3F81_8000)), 0x3F82)
        XCTAssertEqual(SafeTensors.bfloat16Bits(Float(bitPattern: 0x3F80_8001)), 0x3F81)
        XCTAssertEqual(SafeTensors.bfloat16Bits(.nan) & 0x7FC0, 0x7FC0)
        XCTAssertEqual(SafeTensors.bfloat16Bits(.greatestFiniteMagnitude), 0x7F80)
    }

    func testWriterRejectsBadArguments() throws {
        func expect(_ tensors: [SafeTensor], _ kind: LaminaError.Kind, _ fragment: String, line: UInt = #line) {
            XCTAssertThrowsError(try SafeTensors.serialize(tensors), line: line) { error in
                let e = error as? LaminaError
                XCTAssertEqual(e?.kind, kind, line: line)
                XCTAssertTrue(e?.message.contains(fragment) ?? false, "\(String(describing: e?.message))", line: line)
            }
        }
        expect([SafeTensor(name: "a", shape: [2], floats: [1])], .shapeMismatch, "1 values; shape [2] needs 2")
        expect([SafeTensor(name: "a", shape: [-1], floats: [])], .invalidArgument, "negative dimension")
        expect([SafeTensor(name: "a", shape: [1 << 40, 1 << 40], floats: [])], .invalidArgument, "too many")
        expect([SafeTensor(name: "a", shape: [1], floats: [1]), SafeTensor(name: "a", shape: [1], floats: [1])], .invalidArgument, "duplicate tensor name 'a'")
        expect([SafeTensor(name: "__metadata__", shape: [1], floats: [1])], .invalidArgument, "reserved")
        expect([SafeTensor(name: "a", shape: [1], floats: [1], dtype: .I64)], .invalidArgument, "float data cannot be stored as I64")
        expect([SafeTensor(name: "a", shape: [1], int64s: [1], dtype: .F32)], .invalidArgument, "integer data cannot be stored as F32")
        expect([SafeTensor(name: "a", shape: [1], int64s: [1 << 40], dtype: .I32)], .invalidArgument, "does not fit in I32")
        expect([SafeTensor(name: "a", dtype: .F32, shape: [2], data: .bytes([0, 0, 0]))], .shapeMismatch, "3 data bytes; shape [2] of F32 needs 8")
        XCTAssertThrowsError(try SafeTensors.serialize([], metadata: [("k", "1"), ("k", "2")]))
    }

    func testFailedSaveKeepsTheOldFile() throws {
        let path = tempPath("keep.safetensors")
        defer { unlink(path) }
        try SafeTensors.write(path: path, tensors: [SafeTensor(name: "a", shape: [1], floats: [1])])
        let before = try AtomicFile.read(path: path)
        XCTAssertThrowsError(try SafeTensors.write(path: path, tensors: [SafeTensor(name: "a", shape: [2], floats: [1])]))
        XCTAssertThrowsError(try SafeTensors.write(path: "/nonexistent-dir/x.safetensors", tensors: [])) {
            XCTAssertEqual(($0 as? LaminaError)?.kind, .io)
            XCTAssertTrue(($0 as? LaminaError)!.message.contains("/nonexistent-dir/x.safetensors"))
        }
        XCTAssertEqual(try AtomicFile.read(path: path), before)
        XCTAssertThrowsError(try SafeTensorsFile.read(path: path + ".missing")) { XCTAssertEqual(($0 as? LaminaError)?.kind, .io) }
        try AtomicFile.write(path: path, bytes: Array(before.dropLast()))
        XCTAssertThrowsError(try SafeTensorsFile.read(path: path)) { error in
            let e = error as? LaminaError
            XCTAssertEqual(e?.kind, .format)
            XCTAssertTrue(e!.message.contains(path) && e!.message.contains("truncated"), e!.message)
        }
    }

    func testRejectsCorruptFiles() {
        let t = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        let eight = [UInt8](repeating: 0, count: 8)
        XCTAssertNoThrow(try SafeTensorsFile(bytes: file(t, data: eight)))
        expectFormat([], "0 bytes")
        expectFormat([1, 0, 0], "8-byte header length")
        expectFormat(file(t, data: eight, headerLength: UInt64.max), "header length 18446744073709551615 exceeds")
        expectFormat(file(t, data: eight, headerLength: 100_000_001), "exceeds the format's limit of 100000000")
        expectFormat(file(t, data: eight, headerLength: 1000), "truncated")
        expectFormat(file(t, data: Array(eight.dropLast())), "need 8 data bytes but the file holds 7 (truncated")
        expectFormat(file(t, data: eight + [0]), "trailing bytes")
        expectFormat(file(t), "truncated")
        expectFormat(file("", data: []), "empty input")
        expectFormat(file("{\"a\":", data: []), "header: invalid JSON at byte offset 5")
        expectFormat(file("[1]"), "header is a JSON array; expected an object")
        expectFormat(file("{\"a\":1}"), "tensor 'a' is a integer")
        expectFormat(file(#"{"a":{"shape":[2],"data_offsets":[0,8]}}"#, data: eight), "no string field 'dtype'")
        expectFormat(file(#"{"a":{"dtype":"F31","shape":[2],"data_offsets":[0,8]}}"#, data: eight), "unsupported dtype 'F31'")
        expectFormat(file(#"{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, data: eight), "shape has entry -2")
        expectFormat(file(#"{"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}"#, data: eight), "shape has entry 2.5")
        expectFormat(file(#"{"a":{"dtype":"F32","shape":2,"data_offsets":[0,8]}}"#, data: eight), "no array field 'shape'")
        expectFormat(file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}}"#, data: eight), "two non-negative integers")
        expectFormat(file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,-8]}}"#, data: eight), "two non-negative integers")
        expectFormat(file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#, data: eight), "end before they begin")
        expectFormat(file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}}"#, data: eight), "unknown field 'x'")
        expectFormat(file(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: eight), "spans 8 bytes but shape [3] of F32 needs 12")
        expectFormat(file(#"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}"#, data: eight), "overflows")
        expectFormat(file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[9223372036854775000,9223372036854775807]}}"#, data: eight), "hole")
        expectFormat(file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551615]}}"#, data: eight), "two non-negative integers")
        // Overlap and holes.
        expectFormat(file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: eight),
                     "overlap the previous tensor")
        expectFormat(file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: eight), "start at 4; expected 0 (a hole")
        expectFormat(file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[0],"data_offsets":[8,8]}}"#, data: eight), "hole")
        // Metadata and keys.
        expectFormat(file(#"{"__metadata__":{"k":1}}"#), "__metadata__ entry 'k' is a integer")
        expectFormat(file(#"{"__metadata__":[]}"#), "__metadata__ is a array")
        expectFormat(file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: eight),
                     "duplicate object key")
        XCTAssertNoThrow(try SafeTensorsFile(bytes: file(#" {"__metadata__":null}  "#)))
        expectFormat(file(String(repeating: "[", count: 5000)), "nesting deeper")
    }

    /// Random byte flips, truncations and header-length edits of valid files: every outcome is a
    /// parsed file or a LaminaError, never a trap.
    func testMutatedFilesNeverTrap() throws {
        var rng = Xoshiro256(seed: 11)
        let bases = [SafeTensorsFixtures.torchFixture, SafeTensorsFixtures.numpyFixture]
        var rejected = 0
        for trial in 0..<4000 {
            var b = bases[trial % 2]
            switch trial % 4 {
            case 0:
                for _ in 0..<(1 + Int(rng.next() % 4)) { b[Int(rng.next() % UInt64(b.count))] = UInt8(truncatingIfNeeded: rng.next()) }
            case 1:
                b = Array(b.prefix(Int(rng.next() % UInt64(b.count))))
            case 2:
                let i = 8 + Int(rng.next() % UInt64(b.count - 8))
                let alphabet = Array("{}[]\",:0123456789-e.".utf8)
                b[i] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
            default:
                b[Int(rng.next() % 8)] = UInt8(truncatingIfNeeded: rng.next())
            }
            do {
                let f = try SafeTensorsFile(bytes: b)
                for e in f.entries {
                    if e.dtype.isFloatingPoint { _ = try f.floats(e.name) } else if e.dtype.isInteger { _ = try? f.int64s(e.name) }
                }
            } catch let e as LaminaError {
                XCTAssertEqual(e.kind, .format)
                rejected += 1
            }
        }
        XCTAssertGreaterThan(rejected, 2000)
    }
}

extension UInt64 {
    var littleEndianBytes: [UInt8] { SafeTensors.littleEndianBytes(self) }
}

import XCTest
@testable import LaminaCore

final class JSONTests: XCTestCase {
    func expectFormatError(_ text: String, _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        expectFormatError(Array(text.utf8), fragment, file: file, line: line)
    }

    func expectFormatError(_ bytes: [UInt8], _ fragment: String, maxDepth: Int = 128, maxBytes: Int = 1 << 20,
                           file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try JSONValue.parse(bytes, maxDepth: maxDepth, maxBytes: maxBytes), file: file, line: line) { error in
            guard let e = error as? LaminaError else { return XCTFail("not a LaminaError: \(error)", file: file, line: line) }
            XCTAssertEqual(e.kind, .format, file: file, line: line)
            XCTAssertTrue(e.message.contains(fragment), "'\(e.message)' lacks '\(fragment)'", file: file, line: line)
        }
    }

    func testParsesValuesAndKeepsKeyOrder() throws {
        let v = try JSONValue.parse(#" { "z": 1, "a": [true, false, null, -0, 12.5e-1, "x"], "m": {"k": -9223372036854775808} } "#)
        guard case .object(let o) = v else { return XCTFail() }
        XCTAssertEqual(o.keys, ["z", "a", "m"])
        XCTAssertEqual(o["z"], .int(1))
        XCTAssertEqual(o["a"], .array([.bool(true), .bool(false), .null, .int(0), .double(1.25), .string("x")]))
        XCTAssertEqual(o["m"]?.objectValue?["k"], .int(Int64.min))
        XCTAssertEqual(try JSONValue.parse("9223372036854775808"), .double(9223372036854775808.0))
        XCTAssertEqual(try JSONValue.parse("1E2"), .double(100))
        XCTAssertEqual(try JSONValue.parse("1E2").int64Value, 100)
        XCTAssertEqual(try JSONValue.parse("0.1"), .double(0.1))
        XCTAssertEqual(try JSONValue.parse("[]"), .array([]))
        XCTAssertEqual(try JSONValue.parse("{}"), .object(JSONObject()))
        XCTAssertEqual(try JSONValue.parse("\t\r\n\"\"\n"), .string(""))
    }

    func testStringEscapes() throws {
        let v = try JSONValue.parse(#""a\"b\\c\/d\b\f\n\r\t\u00e9\u4e2d\ud83d\ude00é""#)
        XCTAssertEqual(v, .string("a\"b\\c/d\u{8}\u{c}\n\r\t\u{e9}\u{4e2d}\u{1F600}é"))
        XCTAssertEqual(try JSONValue.parse(#""\u0000""#), .string("\u{0}"))
    }

    func testRejectsInvalidText() {
        expectFormatError("", "empty input")
        expectFormatError("   ", "only whitespace")
        expectFormatError("{", "byte offset 1: unexpected end of input in object")
        expectFormatError("[1,]", "byte offset 3: unexpected ']'")
        expectFormatError(#"{"a":1,}"#, "byte offset 7")
        expectFormatError(#"{"a" 1}"#, "expected ':'")
        expectFormatError(#"{1:2}"#, "expected a string key")
        expectFormatError("01", "leading zero")
        expectFormatError("1.", "after the decimal point")
        expectFormatError(".5", "expected a value")
        expectFormatError("+1", "expected a value")
        expectFormatError("-", "expected a digit")
        expectFormatError("1e", "exponent")
        expectFormatError("NaN", "expected a value")
        expectFormatError("Infinity", "expected a value")
        expectFormatError("1e999", "overflows a double")
        expectFormatError("tru", "literal")
        expectFormatError("nul", "literal")
        expectFormatError("[truex]", "unexpected 'x' in array")
        expectFormatError(#""abc"#, "byte offset 0: unterminated string")
        expectFormatError(#""\x""#, "invalid escape")
        expectFormatError(#""\u12G4""#, "invalid hex digit 'G'")
        expectFormatError(#""\u12"#, "end of input in \\u escape")
        expectFormatError(#""\ud800""#, "not followed by a low surrogate")
        expectFormatError(#""\ud800\u0041""#, "not a low surrogate")
        expectFormatError(#""\udc00""#, "lone low surrogate")
        expectFormatError("\"a\nb\"", "unescaped control character")
        expectFormatError([0x22, 0xFF, 0x22], "not valid UTF-8")
        expectFormatError([0x22, 0xED, 0xA0, 0x80, 0x22], "not valid UTF-8")  // encoded surrogate
        expectFormatError(#"{"a":1,"a":2}"#, "byte offset 7: duplicate object key \"a\"")
        expectFormatError("1 2", "byte offset 2: unexpected '2' after the end")
        expectFormatError("[1] x", "after the end of the value")
        expectFormatError("// c\n1", "expected a value")
        expectFormatError(Array(repeating: UInt8(ascii: "["), count: 100_000), "nesting deeper than 128")
        expectFormatError(Array("[[[1]]]".utf8), "nesting deeper than 2", maxDepth: 2)
        expectFormatError(Array("[1, 2]".utf8), "limit is 5 bytes", maxBytes: 5)
        expectFormatError([0x00], "byte 0x00")
    }

    func testWriterRoundTripsExactly() throws {
        var rng = Xoshiro256(seed: 7)
        var values: [Double] = [0.1, -0.0, 5e-324, 1.7976931348623157e308, 1e16, 123456789.125, 2.0e-7, 1.0 / 3.0]
        for _ in 0..<2000 { values.append(Double(bitPattern: rng.next())) }
        for _ in 0..<500 { values.append(Double(Float(bitPattern: UInt32(truncatingIfNeeded: rng.next())))) }
        for d in values where d.isFinite {
            let text = try JSONValue.double(d).serialized()
            let back = try JSONValue.parse(text)
            XCTAssertEqual(back.doubleValue?.bitPattern, d.bitPattern, text)
        }
        for i: Int64 in [0, -1, Int64.max, Int64.min, 4096] {
            XCTAssertEqual(try JSONValue.parse(try JSONValue.int(i).serialized()), .int(i))
        }
        XCTAssertThrowsError(try JSONValue.double(.nan).serialized()) { XCTAssertEqual(($0 as? LaminaError)?.kind, .nonFinite) }
        XCTAssertThrowsError(try JSONValue.array([.double(.infinity)]).serialized())
    }

    func testWriterIsDeterministicAndEscapes() throws {
        var o = JSONObject()
        o["b"] = .string("q\"\\\n\t\u{1}\u{1F600}é/")
        o["a"] = .array([.int(1), .double(2.5), .null, .bool(true)])
        o["c"] = .object(["x": .int(-3)])
        o["b"] = .string("q\"\\\n\t\u{1}\u{1F600}é/")  // replacing keeps the position
        let v = JSONValue.object(o)
        XCTAssertEqual(try v.serialized(), #"{"b":"q\"\\\n\t\u0001😀é/","a":[1,2.5,null,true],"c":{"x":-3}}"#)
        XCTAssertEqual(try JSONValue.parse(try v.serialized()), v)
        XCTAssertEqual(try v.prettySerialized(indent: 2), """
        {
          "b": "q\\"\\\\\\n\\t\\u0001😀é/",
          "a": [
            1,
            2.5,
            null,
            true
          ],
          "c": {
            "x": -3
          }
        }

        """)
        XCTAssertEqual(try JSONValue.parse(try v.prettySerialized()), v)
        XCTAssertEqual(try JSONValue.array([]).prettySerialized(), "[]\n")
        o["a"] = nil
        XCTAssertEqual(o.keys, ["b", "c"])
    }
}

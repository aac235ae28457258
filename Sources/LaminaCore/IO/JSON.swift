/// A small, strict JSON (RFC 8259) value type with a parser and a deterministic writer, without
/// Foundation. Used for safetensors headers and model configuration files (cfg.json).
///
/// Parsing is strict: one value, optional surrounding whitespace, no comments, no trailing commas, no
/// NaN/Infinity literals, no leading zeros, no unescaped control characters, valid UTF-8, no lone
/// surrogates in \u escapes, no duplicate object keys. Limits on nesting depth and input size bound the
/// work an untrusted input can cause. Every failure is a `LaminaError(.format, ...)` naming the byte
/// offset. Integers without fraction or exponent that fit in Int64 are `.int`; every other number is
/// `.double` (parsed with correct rounding).
///
/// Writing is deterministic: object keys in insertion order, integers in decimal, doubles in the
/// shortest form that parses back to the same bits (Swift's `description`), strings escaped as
/// serde_json does (`\"`, `\\`, `\b \f \n \r \t`, other control characters as `\u00XX`, everything
/// else as raw UTF-8). Non-finite doubles cannot be written (JSON has no representation for them).
package enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    // MARK: Convenience accessors (nil when the value has another type)

    package var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    package var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    package var arrayValue: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }
    package var objectValue: JSONObject? { if case .object(let o) = self { return o } else { return nil } }
    package var isNull: Bool { self == .null }

    /// The value as Int64: `.int`, or a `.double` holding an integral value in Int64 range (1e3, 4.0).
    package var int64Value: Int64? {
        switch self {
        case .int(let i): return i
        case .double(let d):
            // 2^63 is exactly representable; values in [-2^63, 2^63) convert without trapping.
            guard d.isFinite, d == d.rounded(.towardZero), d >= -9.223372036854775808e18, d < 9.223372036854775808e18
            else { return nil }
            return Int64(d)
        default: return nil
        }
    }

    /// The value as Double: `.double`, or `.int` converted (rounded to nearest for |i| > 2^53).
    package var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    /// Short type name for error messages ("object", "string", ...).
    package var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .int: "integer"
        case .double: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    // MARK: Parsing

    package static let defaultMaxDepth = 128
    package static let defaultMaxBytes = 100_000_000

    /// Parses exactly one JSON value from UTF-8 `bytes`.
    package static func parse(_ bytes: [UInt8], maxDepth: Int = defaultMaxDepth,
                             maxBytes: Int = defaultMaxBytes) throws -> JSONValue {
        try bytes.withUnsafeBufferPointer { try parse($0, maxDepth: maxDepth, maxBytes: maxBytes) }
    }

    /// Parses exactly one JSON value from a string.
    package static func parse(_ text: String, maxDepth: Int = defaultMaxDepth,
                             maxBytes: Int = defaultMaxBytes) throws -> JSONValue {
        try parse(Array(text.utf8), maxDepth: maxDepth, maxBytes: maxBytes)
    }

    /// Parses exactly one JSON value from the UTF-8 bytes in `buffer` (which must stay valid during the call).
    package static func parse(_ buffer: UnsafeBufferPointer<UInt8>, maxDepth: Int = defaultMaxDepth,
                             maxBytes: Int = defaultMaxBytes) throws -> JSONValue {
        if buffer.count > maxBytes {
            throw LaminaError(.format, "JSON text is \(buffer.count) bytes; the limit is \(maxBytes) bytes")
        }
        var parser = JSONParser(buffer: buffer, maxDepth: max(1, maxDepth))
        return try parser.parseDocument()
    }

    // MARK: Writing

    /// The compact JSON text of this value (no whitespace).
    package func serialized() throws -> String {
        var out: [UInt8] = []
        try JSONWriter.write(self, into: &out, indent: nil, level: 0)
        return String(decoding: out, as: UTF8.self)
    }

    /// The UTF-8 bytes of the compact JSON text.
    package func serializedBytes() throws -> [UInt8] {
        var out: [UInt8] = []
        try JSONWriter.write(self, into: &out, indent: nil, level: 0)
        return out
    }

    /// Pretty-printed JSON text: `indent` spaces per level, `"key": value`, a final newline (like
    /// Python's `json.dumps(obj, indent=indent)` apart from its ASCII escaping of non-ASCII characters).
    package func prettySerialized(indent: Int = 2) throws -> String {
        var out: [UInt8] = []
        try JSONWriter.write(self, into: &out, indent: max(0, indent), level: 0)
        out.append(0x0A)
        return String(decoding: out, as: UTF8.self)
    }
}

/// A JSON object: key/value pairs in insertion order, keys unique. Equality is order-sensitive.
package struct JSONObject: Equatable, Sendable, ExpressibleByDictionaryLiteral {
    package private(set) var keys: [String] = []
    package private(set) var values: [JSONValue] = []

    package init() {}

    package init(dictionaryLiteral elements: (String, JSONValue)...) {
        for (k, v) in elements { self[k] = v }
    }

    package var count: Int { keys.count }
    package var isEmpty: Bool { keys.isEmpty }

    /// The entries in insertion order.
    package var entries: [(key: String, value: JSONValue)] {
        (0..<keys.count).map { (keys[$0], values[$0]) }
    }

    package func index(of key: String) -> Int? { keys.firstIndex(of: key) }

    /// Reading returns the value for `key`; assigning replaces it in place (keeping its position) or
    /// appends a new key; assigning nil removes it.
    package subscript(key: String) -> JSONValue? {
        get { index(of: key).map { values[$0] } }
        set {
            if let i = index(of: key) {
                if let v = newValue { values[i] = v } else { keys.remove(at: i); values.remove(at: i) }
            } else if let v = newValue {
                keys.append(key)
                values.append(v)
            }
        }
    }

    /// Appends without a duplicate check (the parser checks duplicates itself with a hash set).
    fileprivate mutating func appendUnchecked(_ key: String, _ value: JSONValue) {
        keys.append(key)
        values.append(value)
    }
}

private struct JSONParser {
    let buf: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    var pos = 0
    var depth = 0

    init(buffer: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.buf = buffer
        self.maxDepth = maxDepth
    }

    func fail(_ what: String, at offset: Int? = nil) -> LaminaError {
        LaminaError(.format, "invalid JSON at byte offset \(offset ?? pos): \(what)")
    }

    func describe(_ b: UInt8) -> String {
        if b >= 0x20 && b < 0x7F { return "'\(Character(Unicode.Scalar(b)))'" }
        let hex = String(b, radix: 16, uppercase: true)
        return "byte 0x\(hex.count < 2 ? "0" + hex : hex)"
    }

    mutating func skipWhitespace() {
        while pos < buf.count {
            switch buf[pos] {
            case 0x20, 0x09, 0x0A, 0x0D: pos += 1
            default: return
            }
        }
    }

    mutating func parseDocument() throws -> JSONValue {
        skipWhitespace()
        if pos == buf.count { throw fail(buf.isEmpty ? "empty input" : "no value (only whitespace)") }
        let value = try parseValue()
        skipWhitespace()
        if pos != buf.count { throw fail("unexpected \(describe(buf[pos])) after the end of the value") }
        return value
    }

    mutating func parseValue() throws -> JSONValue {
        guard pos < buf.count else { throw fail("unexpected end of input, expected a value") }
        switch buf[pos] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw fail("unexpected \(describe(buf[pos])), expected a value")
        }
    }

    mutating func expectLiteral(_ word: StaticString) throws {
        let start = pos
        let n = word.utf8CodeUnitCount
        let w = UnsafeBufferPointer(start: word.utf8Start, count: n)
        if buf.count - pos < n {
            throw fail("unexpected end of input in literal (expected '\(word)')", at: start)
        }
        for i in 0..<n where buf[pos + i] != w[i] {
            throw fail("invalid literal (expected '\(word)')", at: start)
        }
        pos += n
    }

    mutating func enter() throws {
        depth += 1
        if depth > maxDepth { throw fail("nesting deeper than \(maxDepth) levels") }
    }

    mutating func parseObject() throws -> JSONValue {
        try enter()
        pos += 1  // '{'
        var object = JSONObject()
        var seen = Set<String>()
        skipWhitespace()
        if pos < buf.count && buf[pos] == UInt8(ascii: "}") {
            pos += 1
            depth -= 1
            return .object(object)
        }
        while true {
            skipWhitespace()
            guard pos < buf.count else { throw fail("unexpected end of input in object, expected a key") }
            guard buf[pos] == UInt8(ascii: "\"") else {
                throw fail("unexpected \(describe(buf[pos])) in object, expected a string key")
            }
            let keyOffset = pos
            let key = try parseString()
            if !seen.insert(key).inserted { throw fail("duplicate object key \"\(key)\"", at: keyOffset) }
            skipWhitespace()
            guard pos < buf.count else { throw fail("unexpected end of input in object, expected ':'") }
            guard buf[pos] == UInt8(ascii: ":") else {
                throw fail("unexpected \(describe(buf[pos])) after object key, expected ':'")
            }
            pos += 1
            skipWhitespace()
            let value = try parseValue()
            object.appendUnchecked(key, value)
            skipWhitespace()
            guard pos < buf.count else { throw fail("unexpected end of input in object, expected ',' or '}'") }
            if buf[pos] == UInt8(ascii: ",") { pos += 1; continue }
            if buf[pos] == UInt8(ascii: "}") { pos += 1; break }
            throw fail("unexpected \(describe(buf[pos])) in object, expected ',' or '}'")
        }
        depth -= 1
        return .object(object)
    }

    mutating func parseArray() throws -> JSONValue {
        try enter()
        pos += 1  // '['
        var items: [JSONValue] = []
        skipWhitespace()
        if pos < buf.count && buf[pos] == UInt8(ascii: "]") {
            pos += 1
            depth -= 1
            return .array(items)
        }
        while true {
            skipWhitespace()
            items.append(try parseValue())
            skipWhitespace()
            guard pos < buf.count else { throw fail("unexpected end of input in array, expected ',' or ']'") }
            if buf[pos] == UInt8(ascii: ",") { pos += 1; continue }
            if buf[pos] == UInt8(ascii: "]") { pos += 1; break }
            throw fail("unexpected \(describe(buf[pos])) in array, expected ',' or ']'")
        }
        depth -= 1
        return .array(items)
    }

    mutating func hex4() throws -> UInt32 {
        guard buf.count - pos >= 4 else { throw fail("unexpected end of input in \\u escape") }
        var v: UInt32 = 0
        for i in 0..<4 {
            let c = buf[pos + i]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw fail("invalid hex digit \(describe(c)) in \\u escape", at: pos + i)
            }
            v = v << 4 | d
        }
        pos += 4
        return v
    }

    mutating func parseString() throws -> String {
        let start = pos
        pos += 1  // opening quote
        var bytes: [UInt8] = []
        var runStart = pos
        while true {
            guard pos < buf.count else { throw fail("unterminated string", at: start) }
            let c = buf[pos]
            if c == UInt8(ascii: "\"") {
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buf[runStart..<pos]))
                pos += 1
                break
            }
            if c < 0x20 { throw fail("unescaped control character \(describe(c)) in string") }
            if c != UInt8(ascii: "\\") { pos += 1; continue }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buf[runStart..<pos]))
            let escapeOffset = pos
            pos += 1
            guard pos < buf.count else { throw fail("unterminated string", at: start) }
            let e = buf[pos]
            pos += 1
            switch e {
            case UInt8(ascii: "\""): bytes.append(0x22)
            case UInt8(ascii: "\\"): bytes.append(0x5C)
            case UInt8(ascii: "/"): bytes.append(0x2F)
            case UInt8(ascii: "b"): bytes.append(0x08)
            case UInt8(ascii: "f"): bytes.append(0x0C)
            case UInt8(ascii: "n"): bytes.append(0x0A)
            case UInt8(ascii: "r"): bytes.append(0x0D)
            case UInt8(ascii: "t"): bytes.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if scalar >= 0xD800 && scalar <= 0xDBFF {
                    // A high surrogate must be followed by an escaped low surrogate.
                    guard buf.count - pos >= 6, buf[pos] == UInt8(ascii: "\\"), buf[pos + 1] == UInt8(ascii: "u") else {
                        throw fail("high surrogate \\u\(String(scalar, radix: 16)) not followed by a low surrogate escape", at: escapeOffset)
                    }
                    pos += 2
                    let low = try hex4()
                    guard low >= 0xDC00 && low <= 0xDFFF else {
                        throw fail("high surrogate \\u\(String(scalar, radix: 16)) followed by \\u\(String(low, radix: 16)), not a low surrogate", at: escapeOffset)
                    }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if scalar >= 0xDC00 && scalar <= 0xDFFF {
                    throw fail("lone low surrogate \\u\(String(scalar, radix: 16))", at: escapeOffset)
                }
                // Not a surrogate here, so the scalar is valid.
                let us = Unicode.Scalar(scalar)!
                bytes.append(contentsOf: Array(String(Character(us)).utf8))
            default:
                throw fail("invalid escape \\\(describe(e))", at: escapeOffset)
            }
            runStart = pos
        }
        guard let s = String(validating: bytes, as: UTF8.self) else {
            throw fail("string is not valid UTF-8", at: start)
        }
        return s
    }

    mutating func parseNumber() throws -> JSONValue {
        let start = pos
        var isInteger = true
        if buf[pos] == UInt8(ascii: "-") { pos += 1 }
        func isDigit(_ i: Int) -> Bool { i < buf.count && buf[i] >= UInt8(ascii: "0") && buf[i] <= UInt8(ascii: "9") }
        guard isDigit(pos) else { throw fail("expected a digit in number", at: pos) }
        if buf[pos] == UInt8(ascii: "0") {
            pos += 1
            if isDigit(pos) { throw fail("leading zero in number", at: start) }
        } else {
            while isDigit(pos) { pos += 1 }
        }
        if pos < buf.count && buf[pos] == UInt8(ascii: ".") {
            isInteger = false
            pos += 1
            guard isDigit(pos) else { throw fail("expected a digit after the decimal point", at: pos) }
            while isDigit(pos) { pos += 1 }
        }
        if pos < buf.count && (buf[pos] == UInt8(ascii: "e") || buf[pos] == UInt8(ascii: "E")) {
            isInteger = false
            pos += 1
            if pos < buf.count && (buf[pos] == UInt8(ascii: "+") || buf[pos] == UInt8(ascii: "-")) { pos += 1 }
            guard isDigit(pos) else { throw fail("expected a digit in the exponent", at: pos) }
            while isDigit(pos) { pos += 1 }
        }
        // The text is pure ASCII, validated against the JSON grammar above.
        let text = String(decoding: UnsafeBufferPointer(rebasing: buf[start..<pos]), as: UTF8.self)
        if isInteger, let i = Int64(text) { return .int(i) }
        guard let d = Double(text) else { throw fail("unparseable number '\(text)'", at: start) }
        if !d.isFinite { throw fail("number '\(text)' overflows a double", at: start) }
        return .double(d)
    }
}

private enum JSONWriter {
    static func write(_ value: JSONValue, into out: inout [UInt8], indent: Int?, level: Int) throws {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i): out.append(contentsOf: String(i).utf8)
        case .double(let d):
            guard d.isFinite else {
                throw LaminaError(.nonFinite, "cannot write the non-finite number \(d) as JSON")
            }
            // Swift's description is the shortest text that parses back to the same double; it is
            // valid JSON for finite values ("1.0", "1e-05", "5e+20", "-0.0").
            out.append(contentsOf: d.description.utf8)
        case .string(let s): writeString(s, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            if !items.isEmpty {
                for (i, item) in items.enumerated() {
                    if i > 0 { out.append(UInt8(ascii: ",")) }
                    newline(&out, indent, level + 1)
                    try write(item, into: &out, indent: indent, level: level + 1)
                }
                newline(&out, indent, level)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            out.append(UInt8(ascii: "{"))
            if !object.isEmpty {
                for i in 0..<object.count {
                    if i > 0 { out.append(UInt8(ascii: ",")) }
                    newline(&out, indent, level + 1)
                    writeString(object.keys[i], into: &out)
                    out.append(UInt8(ascii: ":"))
                    if indent != nil { out.append(0x20) }
                    try write(object.values[i], into: &out, indent: indent, level: level + 1)
                }
                newline(&out, indent, level)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    static func newline(_ out: inout [UInt8], _ indent: Int?, _ level: Int) {
        guard let indent else { return }
        out.append(0x0A)
        out.append(contentsOf: repeatElement(UInt8(0x20), count: indent * level))
    }

    static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(0x22)
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        for b in s.utf8 {
            switch b {
            case 0x22: out.append(0x5C); out.append(0x22)
            case 0x5C: out.append(0x5C); out.append(0x5C)
            case 0x08: out.append(0x5C); out.append(UInt8(ascii: "b"))
            case 0x0C: out.append(0x5C); out.append(UInt8(ascii: "f"))
            case 0x0A: out.append(0x5C); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(0x5C); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(0x5C); out.append(UInt8(ascii: "t"))
            case 0..<0x20:
                out.append(contentsOf: "\\u00".utf8)
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 15)])
            default: out.append(b)
            }
        }
        out.append(0x22)
    }
}

import LaminaCore

/// Argument checks shared by every entry point. Each names the argument, the value received and what
/// was expected, and runs before any work.
enum Check {
    /// Largest element count accepted for one buffer: keeps every byte offset inside Int.
    static let maxElements = Int.max / 16

    static func pointer<T>(_ p: UnsafePointer<T>?, _ name: String) throws -> UnsafePointer<T> {
        guard let p else { throw LaminaError.invalid("\(name) is NULL; expected a pointer to the data") }
        return p
    }

    static func output<T>(_ p: UnsafeMutablePointer<T>?, _ name: String) throws -> UnsafeMutablePointer<T> {
        guard let p else { throw LaminaError.invalid("\(name) is NULL; expected a pointer to caller-allocated output") }
        return p
    }

    static func count(_ value: Int64, _ name: String, minimum: Int64 = 1) throws -> Int {
        if value < minimum { throw LaminaError.invalid("\(name) is \(value); expected >= \(minimum)") }
        if value > Int64(maxElements) { throw LaminaError.invalid("\(name) is \(value); expected <= \(maxElements)") }
        return Int(value)
    }

    /// n x d product without overflow.
    static func elements(_ n: Int, _ d: Int, _ what: String) throws -> Int {
        let (product, overflow) = n.multipliedReportingOverflow(by: d)
        if overflow || product > maxElements {
            throw LaminaError(.outOfMemory, "\(what) has \(n) x \(d) elements, which overflows; expected n * d <= \(maxElements)")
        }
        return product
    }

    /// A finite row-major float32 matrix `name` of n x d.
    static func matrix(_ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64, _ name: String = "x",
                       rowsName: String = "n", colsName: String = "d") throws -> MatrixView {
        let rows = try count(n, rowsName), cols = try count(d, colsName)
        _ = try elements(rows, cols, name)
        let view = MatrixView(base: try pointer(x, name), rows: rows, cols: cols)
        if let bad = view.firstNonFinite() {
            let value = view.base[bad.row * cols + bad.col]
            throw LaminaError(.nonFinite, "\(name) contains \(value) at row \(bad.row), column \(bad.col); expected finite values")
        }
        return view
    }

    static func labels(_ p: UnsafePointer<Int32>?, _ n: Int, _ name: String = "labels") throws -> EncodedLabels {
        EncodedLabels(UnsafeBufferPointer(start: try pointer(p, name), count: n))
    }

    /// Labels that may be empty (n = 0, pointer may then be NULL).
    static func labelsAllowingEmpty(_ p: UnsafePointer<Int32>?, _ n: Int64, _ name: String) throws -> EncodedLabels {
        let count = try count(n, "n", minimum: 0)
        if count == 0 { return EncodedLabels(UnsafeBufferPointer(start: nil, count: 0)) }
        return try labels(p, count, name)
    }

    static func choice<E: RawRepresentable & CaseIterable>(_ raw: Int32, _ type: E.Type, _ name: String,
                                                           names: [String]) throws -> E where E.RawValue == Int32 {
        guard let value = E(rawValue: raw) else {
            let options = names.enumerated().map { "\($0.offset) (\($0.element))" }.joined(separator: ", ")
            throw LaminaError.invalid("\(name) is \(raw); expected one of \(options)")
        }
        return value
    }

    static func length(_ given: Int64, expected: Int, _ name: String) throws {
        if given != Int64(expected) {
            throw LaminaError.shape("\(name) is \(given); expected \(expected)")
        }
    }

    static func cString(_ p: UnsafePointer<CChar>?, _ name: String) throws -> String {
        guard let p else { throw LaminaError.invalid("\(name) is NULL; expected a NUL-terminated string") }
        return String(cString: p)
    }
}

extension UnsafeMutablePointer {
    /// Copies an array into the caller's buffer (validated by the caller: non-NULL, room for
    /// `values.count` elements).
    func store(_ values: [Pointee]) {
        values.withUnsafeBufferPointer { if let base = $0.baseAddress { update(from: base, count: $0.count) } }
    }
}

extension Check {
    /// Hands a stored result to the caller: `out_len` (named `lengthName`) must equal its count and
    /// `out` must not be NULL; then copies it.
    static func copyOut<T>(_ values: [T], to out: UnsafeMutablePointer<T>?, length given: Int64, _ lengthName: String,
                           _ outName: String = "out") throws {
        try length(given, expected: values.count, lengthName)
        try output(out, outName).store(values)
    }
}

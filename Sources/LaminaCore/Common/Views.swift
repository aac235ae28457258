/// A read-only, bounds-known view of a row-major float32 matrix owned by someone else (the caller's
/// buffer, or a Swift array kept alive by the caller of the kernel).
public struct MatrixView: @unchecked Sendable {
    public let base: UnsafePointer<Float>
    public let rows: Int
    public let cols: Int

    public init(base: UnsafePointer<Float>, rows: Int, cols: Int) {
        self.base = base
        self.rows = rows
        self.cols = cols
    }

    @inline(__always) public func row(_ i: Int) -> UnsafePointer<Float> { base + i * cols }

    /// The first non-finite entry in row-major order, if any.
    public func firstNonFinite() -> (row: Int, col: Int)? {
        let count = rows * cols
        var i = 0
        // Fast path: x - x is 0 for finite x and NaN for NaN/Inf, so one NaN check per 16 lanes.
        while i + 16 <= count {
            let v = UnsafeRawPointer(base + i).loadUnaligned(as: SIMD16<Float>.self)
            let z = v - v
            if z != SIMD16<Float>(repeating: 0) { break }
            i += 16
        }
        while i < count {
            if !base[i].isFinite { return (i / cols, i % cols) }
            i += 1
        }
        return nil
    }
}

/// Owned row-major float32 matrix, the working copy kernels build (sorted, centred, scaled).
public struct Matrix: @unchecked Sendable {
    public var storage: [Float]
    public let rows: Int
    public let cols: Int

    public init(rows: Int, cols: Int) {
        self.rows = rows
        self.cols = cols
        self.storage = [Float](repeating: 0, count: rows * cols)
    }

    /// Calls `body` with a view; the view is valid only inside the call.
    public func withView<R>(_ body: (MatrixView) throws -> R) rethrows -> R {
        try storage.withUnsafeBufferPointer { try body(MatrixView(base: $0.baseAddress!, rows: rows, cols: cols)) }
    }
}

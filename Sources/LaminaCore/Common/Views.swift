/// A read-only, bounds-known view of a row-major float32 matrix owned by someone else (the caller's
/// buffer, or a Swift array kept alive by the caller of the kernel).
package struct MatrixView: @unchecked Sendable {
    package let base: UnsafePointer<Float>
    package let rows: Int
    package let cols: Int

    package init(base: UnsafePointer<Float>, rows: Int, cols: Int) {
        self.base = base
        self.rows = rows
        self.cols = cols
    }

    @inline(__always) package func row(_ i: Int) -> UnsafePointer<Float> { base + i * cols }

    /// The first non-finite entry in row-major order, if any (fixed chunks scanned in parallel; the
    /// earliest hit wins, so the answer does not depend on the thread count).
    package func firstNonFinite() -> (row: Int, col: Int)? {
        let count = rows * cols
        let hits = Parallel.mapChunks(count: count, chunk: 1 << 18) { range -> Int? in
            var i = range.lowerBound
            // x - x is 0 for finite x and NaN for NaN/Inf: one check per 16 lanes.
            while i + 16 <= range.upperBound {
                let v = UnsafeRawPointer(base + i).loadUnaligned(as: SIMD16<Float>.self)
                if v - v != SIMD16<Float>(repeating: 0) { break }
                i += 16
            }
            while i < range.upperBound {
                if !base[i].isFinite { return i }
                i += 1
            }
            return nil
        }
        guard let first = hits.lazy.compactMap({ $0 }).first else { return nil }
        return (first / cols, first % cols)
    }
}

/// Owned row-major float32 matrix, the working copy kernels build (sorted, centred, scaled).
package struct Matrix: @unchecked Sendable {
    package var storage: [Float]
    package let rows: Int
    package let cols: Int

    /// Storage left uninitialised, for a matrix that is about to be written in full (skips a memset
    /// of what may be hundreds of MB).
    package init(uninitializedRows rows: Int, cols: Int) {
        self.rows = rows
        self.cols = cols
        self.storage = [Float](unsafeUninitializedCapacity: rows * cols) { _, count in count = rows * cols }
    }

    /// Calls `body` with a view; the view is valid only inside the call.
    package func withView<R>(_ body: (MatrixView) throws -> R) rethrows -> R {
        try storage.withUnsafeBufferPointer { try body(MatrixView(base: $0.baseAddress!, rows: rows, cols: cols)) }
    }
}

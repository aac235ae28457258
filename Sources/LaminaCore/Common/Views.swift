/// A read-only, bounds-known view of a row-major matrix owned by someone else (the caller's buffer,
/// or a Swift array kept alive by the caller of the kernel). `MatrixView` is the float32 view.
package typealias MatrixView = MatrixViewOf<Float>

package struct MatrixViewOf<Element: LaminaFloat>: @unchecked Sendable {
    package let base: UnsafePointer<Element>
    package let rows: Int
    package let cols: Int

    package init(base: UnsafePointer<Element>, rows: Int, cols: Int) {
        self.base = base
        self.rows = rows
        self.cols = cols
    }

    @inline(__always) package func row(_ i: Int) -> UnsafePointer<Element> { base + i * cols }

    /// The first non-finite entry in row-major order, if any (fixed chunks scanned in parallel; the
    /// earliest hit wins, so the answer does not depend on the thread count).
    package func firstNonFinite() -> (row: Int, col: Int)? {
        let count = rows * cols
        let base = self.base
        let hits = Parallel.mapChunks(count: count, chunk: 1 << 18) { range -> Int? in
            Element.firstNonFinite(base, range)
        }
        guard let first = hits.lazy.compactMap({ $0 }).first else { return nil }
        return (first / cols, first % cols)
    }
}

/// Owned row-major matrix, the working copy kernels build (sorted, centred, scaled). `Matrix` is the
/// float32 one.
package typealias Matrix = MatrixOf<Float>

package struct MatrixOf<Element: LaminaFloat>: @unchecked Sendable {
    package var storage: [Element]
    package let rows: Int
    package let cols: Int

    /// Storage left uninitialised, for a matrix that is about to be written in full (skips a memset
    /// of what may be hundreds of MB).
    package init(uninitializedRows rows: Int, cols: Int) {
        self.rows = rows
        self.cols = cols
        self.storage = [Element](unsafeUninitializedCapacity: rows * cols) { _, count in count = rows * cols }
    }

    /// Calls `body` with a view; the view is valid only inside the call.
    package func withView<R>(_ body: (MatrixViewOf<Element>) throws -> R) rethrows -> R {
        try storage.withUnsafeBufferPointer { try body(MatrixViewOf<Element>(base: $0.baseAddress!, rows: rows, cols: cols)) }
    }
}

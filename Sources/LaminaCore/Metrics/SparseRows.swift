/// Sparse (CSR) input for the internal indices and k-means: scipy.sparse's CSR layout, read in place.
///
/// Rows are never densified wholesale. Squared euclidean distances come from
/// ||x||^2 + ||y||^2 - 2 x.y with the dot products from sparse-sparse (row x column lists) or
/// sparse-dense products accumulated in float64; a squared distance within `nearFraction` of
/// ||x||^2 + ||y||^2 (where the cancellation could cost accuracy) is recomputed exactly from the
/// differences (a merge of the two rows, or the row against the dense vector), so equal rows are at
/// distance exactly 0.

/// A read-only, validated view of a CSR matrix (rows x cols) owned by the caller: row i holds
/// data[indptr[i]..<indptr[i+1]] at columns indices[...]. Invariants (checked by `validate` before a
/// view is made): indptr[0] = 0, indptr non-decreasing, indptr[rows] = nnz, every index in [0, cols),
/// indices strictly increasing within each row (canonical form: sorted, no duplicates), data finite.
package struct CSRViewOf<Element: LaminaFloat>: @unchecked Sendable {
    package let data: UnsafePointer<Element>
    package let indices: UnsafePointer<Int64>
    package let indptr: UnsafePointer<Int64>
    package let rows: Int
    package let cols: Int

    @inline(__always) package var nnz: Int { Int(indptr[rows]) }
    @inline(__always) package func start(_ i: Int) -> Int { Int(indptr[i]) }
    @inline(__always) package func end(_ i: Int) -> Int { Int(indptr[i + 1]) }

    /// Checks the CSR invariants in place and returns the view. Messages name the argument, the value
    /// and the expectation. `data`/`indices` may be NULL only when nnz is 0.
    package static func validate(data: UnsafePointer<Element>?, indices: UnsafePointer<Int64>?, indptr: UnsafePointer<Int64>?,
                                 nnz: Int64, rows n: Int64, cols d: Int64) throws -> CSRViewOf<Element> {
        if n < 1 { throw LaminaError.invalid("n is \(n); expected >= 1") }
        if d < 1 { throw LaminaError.invalid("d is \(d); expected >= 1") }
        if nnz < 0 { throw LaminaError.invalid("nnz is \(nnz); expected >= 0") }
        let limit = Int64(Int.max / 16)
        if n >= limit || d > limit || nnz > limit { throw LaminaError(.outOfMemory, "n = \(n), d = \(d), nnz = \(nnz) overflow; expected each <= \(limit)") }
        let (cells, overflow) = n.multipliedReportingOverflow(by: d)
        if !overflow && nnz > cells { throw LaminaError.invalid("nnz is \(nnz); expected <= n * d = \(cells)") }
        guard let indptr else { throw LaminaError.invalid("indptr is NULL; expected n + 1 = \(n + 1) row offsets") }
        let rows = Int(n), cols = Int(d)
        if indptr[0] != 0 { throw LaminaError.invalid("indptr[0] is \(indptr[0]); expected 0") }
        for i in 0..<rows where indptr[i + 1] < indptr[i] {
            throw LaminaError.invalid("indptr[\(i + 1)] is \(indptr[i + 1]), below indptr[\(i)] = \(indptr[i]); expected non-decreasing row offsets")
        }
        if indptr[rows] != nnz {
            throw LaminaError.shape("indptr[n] = indptr[\(rows)] is \(indptr[rows]); expected nnz = \(nnz)")
        }
        // Empty matrices may pass NULL arrays: point the view at a harmless dummy (never read).
        let dataPointer: UnsafePointer<Element>, indexPointer: UnsafePointer<Int64>
        if nnz == 0 {
            dataPointer = data ?? UnsafeRawPointer(emptyIndex).assumingMemoryBound(to: Element.self)
            indexPointer = indices ?? UnsafePointer(emptyIndex)
        } else {
            guard let data else { throw LaminaError.invalid("data is NULL; expected nnz = \(nnz) values") }
            guard let indices else { throw LaminaError.invalid("indices is NULL; expected nnz = \(nnz) column indices") }
            dataPointer = data
            indexPointer = indices
        }
        let view = CSRViewOf(data: dataPointer, indices: indexPointer, indptr: indptr, rows: rows, cols: cols)
        // Indices and values, checked in parallel row chunks; the first bad entry in row order wins.
        let problems = Parallel.mapChunks(count: rows, chunk: 4096) { range -> String? in
            for i in range {
                var previous: Int64 = -1
                for t in view.start(i)..<view.end(i) {
                    let j = indexPointer[t]
                    if j < 0 || j >= d {
                        return "indices[\(t)] (row \(i)) is \(j); expected a column in [0, d = \(d))"
                    }
                    if j <= previous {
                        return "indices[\(t)] (row \(i)) is \(j) after \(previous); expected strictly increasing column indices "
                            + "within each row (canonical CSR: sorted, no duplicates; scipy: X.sum_duplicates())"
                    }
                    previous = j
                    if !dataPointer[t].isFinite {
                        return "data[\(t)] (row \(i), column \(j)) is \(dataPointer[t]); expected finite values"
                    }
                }
            }
            return nil
        }
        if let first = problems.lazy.compactMap({ $0 }).first {
            throw LaminaError(first.hasPrefix("data") ? .nonFinite : .invalidArgument, first)
        }
        return view
    }

    /// ||row||^2 in float64 for every row.
    package func squaredNorms() -> [Double] {
        var out = [Double](repeating: 0, count: rows)
        out.withUnsafeMutableBufferPointer { o in
            Parallel.forEachTask((rows + 8191) / 8192) { task in
                for i in (task * 8192)..<min(rows, task * 8192 + 8192) {
                    var s = 0.0
                    for t in start(i)..<end(i) { let v = Double(data[t]); s += v * v }
                    o[i] = s
                }
            }
        }
        return out
    }

    /// ||row i - c||^2 exactly (float64), c dense (d values): sum over the row's entries of (x_j - c_j)^2
    /// plus the mass of c off the row's support, ||c||^2 - sum c_j^2; when that subtraction cancels
    /// (below 2^-20 ||c||^2) the off-support mass is summed directly.
    @inline(__always)
    package func squaredDistance(_ i: Int, to c: UnsafePointer<Double>, centerNorm: Double) -> Double {
        var onSupport = 0.0, covered = 0.0
        let s = start(i), e = end(i)
        for t in s..<e {
            let j = Int(indices[t]), cj = c[j]
            let diff = Double(data[t]) - cj
            onSupport += diff * diff
            covered += cj * cj
        }
        var off = centerNorm - covered
        if off < 0x1p-20 * centerNorm {
            off = 0
            var t = s
            for j in 0..<cols {
                if t < e && Int(indices[t]) == j { t += 1; continue }
                off += c[j] * c[j]
            }
        }
        return onSupport + off
    }
}

/// Stands in for the NULL data and indices of an empty matrix (never read: nnz is 0).
private let emptyIndex = UnsafeMutablePointer<Int64>.allocate(capacity: 1)

/// Fraction of ||x||^2 + ||y||^2 below which a squared distance from the dot-product form is
/// recomputed exactly.
let sparseNearFraction = 0x1p-10

/// A CSR matrix copied into float64 with its transpose (CSC), rows optionally permuted: the form the
/// pairwise sparse kernels work on. Memory O(nnz + n + d).
struct SparseRowsAndColumns: @unchecked Sendable {
    let rows: Int, cols: Int
    var rowPtr: [Int]
    var colIdx: [Int32]
    var rowVal: [Double]
    var colPtr: [Int]
    var rowIdx: [Int32]
    var colVal: [Double]
    var norms: [Double]

    /// The pair kernels index rows and columns with 32-bit integers.
    static func checkIndexable<T: LaminaFloat>(_ x: CSRViewOf<T>) throws {
        if x.rows > Int(Int32.max) || x.cols > Int(Int32.max) {
            throw LaminaError.invalid("sparse x is \(x.rows) x \(x.cols); expected n and d <= \(Int32.max) for the sparse pair kernels")
        }
    }

    /// Row p of the result is row order[p] of x (order: a permutation of 0..<n, or nil for identity),
    /// optionally scaled to unit norm (zero rows stay zero).
    init<T: LaminaFloat>(_ x: CSRViewOf<T>, order: [Int]?, unitRows: Bool = false) {
        let n = x.rows, d = x.cols, nnz = x.nnz
        rows = n
        cols = d
        var rp = [Int](repeating: 0, count: n + 1)
        var ci = [Int32](repeating: 0, count: nnz), rv = [Double](repeating: 0, count: nnz)
        var nm = [Double](repeating: 0, count: n)
        var at = 0
        for p in 0..<n {
            let i = order?[p] ?? p
            var s = 0.0
            for t in x.start(i)..<x.end(i) {
                let v = Double(x.data[t])
                ci[at] = Int32(x.indices[t]); rv[at] = v; s += v * v
                at += 1
            }
            if unitRows && s > 0 {
                let inv = 1 / s.squareRoot()
                var s2 = 0.0
                for t in rp[p]..<at { rv[t] *= inv; s2 += rv[t] * rv[t] }
                s = s2
            }
            nm[p] = s
            rp[p + 1] = at
        }
        // Transpose by counting sort (rows in increasing order within each column).
        var cp = [Int](repeating: 0, count: d + 1)
        for t in 0..<nnz { cp[Int(ci[t]) + 1] += 1 }
        for j in 0..<d { cp[j + 1] += cp[j] }
        var fill = Array(cp[0..<d])
        var ri = [Int32](repeating: 0, count: nnz), cv = [Double](repeating: 0, count: nnz)
        for p in 0..<n {
            for t in rp[p]..<rp[p + 1] {
                let j = Int(ci[t])
                ri[fill[j]] = Int32(p); cv[fill[j]] = rv[t]
                fill[j] += 1
            }
        }
        rowPtr = rp; colIdx = ci; rowVal = rv; colPtr = cp; rowIdx = ri; colVal = cv; norms = nm
    }

    /// ||row p - row q||^2 exactly (a merge of the two sorted rows).
    func exactSquaredDistance(_ p: Int, _ q: Int) -> Double {
        var a = rowPtr[p], b = rowPtr[q]
        let ae = rowPtr[p + 1], be = rowPtr[q + 1]
        var s = 0.0
        while a < ae || b < be {
            let ja = a < ae ? colIdx[a] : Int32.max, jb = b < be ? colIdx[b] : Int32.max
            let v: Double
            if ja == jb { v = rowVal[a] - rowVal[b]; a += 1; b += 1 } else if ja < jb { v = rowVal[a]; a += 1 } else { v = -rowVal[b]; b += 1 }
            s += v * v
        }
        return s
    }

    /// dots[q] += x_p . x_q for every row q sharing a column with row p (dots: n values).
    @inline(__always)
    func scatterDots(_ p: Int, into dots: UnsafeMutablePointer<Double>) {
        colIdx.withUnsafeBufferPointer { ci in
            rowVal.withUnsafeBufferPointer { rv in
                colPtr.withUnsafeBufferPointer { cp in
                    rowIdx.withUnsafeBufferPointer { ri in
                        colVal.withUnsafeBufferPointer { cv in
                            for t in rowPtr[p]..<rowPtr[p + 1] {
                                let j = Int(ci[t]), v = rv[t]
                                for u in cp[j]..<cp[j + 1] { dots[Int(ri[u])] += v * cv[u] }
                            }
                        }
                    }
                }
            }
        }
    }
}

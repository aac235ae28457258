#if canImport(Glibc)
import Glibc
#endif

/// Tiled pairwise distances with fused reductions: the n x n distance matrix is never built. For every
/// block x block tile a gemm gives the dot products, which are turned into distances in place and
/// handed to a consumer that reduces them (per-class sums, minima, maxima). Memory is O(workers * tile).
///
/// Precision. The gemm form ||x||^2 + ||y||^2 - 2 x.y cancels badly when distances are small next to
/// the norms (tight clusters far from the origin, or from each other). Points are therefore stored
/// centred on their own class centroid, u = x - c_a, and for x in class a, y in class b
///     ||x - y||^2 = ||u||^2 + ||v||^2 - 2 u.v + ||D||^2 + 2 u.D - 2 v.D,   D = c_a - c_b,
/// with the small terms (u.v by the float32 gemm) and the large ones (D, u.D in float64) kept apart,
/// so every term is at most of the order of the distance itself.

package enum DistanceMetric: Int32, Sendable, CaseIterable {
    case euclidean = 0
    case sqeuclidean = 1
    case cosine = 2
    case manhattan = 3      // sum |x - y|: computed directly per pair (no gemm form)
    case chebyshev = 4      // max |x - y|: computed directly per pair
    case correlation = 5    // cosine distance of the rows centred on their own means

    package var name: String {
        switch self {
        case .euclidean: "euclidean"
        case .sqeuclidean: "sqeuclidean"
        case .cosine: "cosine"
        case .manhattan: "manhattan"
        case .chebyshev: "chebyshev"
        case .correlation: "correlation"
        }
    }

    /// Distances computed pair by pair from the rows (no gemm form): manhattan, chebyshev.
    package var isDirect: Bool { self == .manhattan || self == .chebyshev }
    /// Distances of the cosine form on unit rows: cosine, correlation.
    package var isCosineLike: Bool { self == .cosine || self == .correlation }
}

/// A tile of distances: rows `rows` by columns `cols` (global indices in class order), in the
/// element type of the points (float32, or float64 for float64 input).
package struct DistanceTile<Element: LaminaFloat> {
    package let rows: Range<Int>
    package let cols: Range<Int>
    package let values: UnsafePointer<Element>
    package let ld: Int
    /// The class runs that the columns (rows) of this tile cover, in tile-local offsets.
    package let colPieces: UnsafeBufferPointer<ClassPiece>
    package let rowPieces: UnsafeBufferPointer<ClassPiece>

    /// In a symmetric pass, an off-diagonal tile also stands for its transpose (the pairs with the
    /// first point in `cols` and the second in `rows`), which the engine never computes.
    package var standsForTranspose: Bool { rows != cols }

    @inline(__always) package func row(_ i: Int) -> UnsafePointer<Element> { values + (i - rows.lowerBound) * ld }
}

package struct ClassPiece: Sendable {
    package let cls: Int
    package let start: Int
    package let end: Int
}

/// Reduces tiles; one consumer per lane, fed its lane's tiles in a fixed order.
package protocol TileConsumer {
    associatedtype Element: LaminaFloat
    mutating func consume(_ tile: DistanceTile<Element>)
}

/// Points permuted into class order and prepared for the chosen metric.
/// - euclidean / sqeuclidean: rows mapped by `WorkingCopy` ((x - shift) * scale / unit, shift the
///   column mean unless given), then centred on their class centroid (see the file comment).
/// - cosine: rows normalised to unit length (zero rows stay zero), then centred the same way; the
///   distance is 1 - x.y = ||x - y||^2 / 2 for unit rows, plus 1/2 for each zero row (so a zero row is
///   at distance 1 from every other row, scikit-learn's convention), clipped to [0, 2].
/// Tile distances are in working units: multiply by `distanceUnit` for the caller's units.
/// Generic over the element type T of the points: float32 points and sgemm, or float64 points and
/// dgemm (the rounding bounds below scale with T's unit roundoff). The input may be float32 or float64
/// whatever T: float32 input widened exactly into float64 points gives float64-accurate distances.
package struct PairwisePoints<T: LaminaFloat>: @unchecked Sendable {
    package let points: MatrixOf<T>       // u = w - c_class, rows in class order
    package let sqNorms: [T]              // ||u||^2 of the rounded rows
    package let centroids: [Double]       // classCount x d, working units
    package let zeroRowTerm: [T]          // cosine: 1/2 for a zero row, else 0
    package let metric: DistanceMetric
    package let segments: ClassSegments
    package let distanceUnit: Double
    /// Minkowski exponent p (metric "minkowski"): the direct pass computes (sum |x - y|^p)^(1/p) instead
    /// of the metric's own distance (the metric is then .manhattan, whose working frame -- the rows as
    /// given, power-of-two scaled -- and unit it shares: the distance is homogeneous of degree 1).
    package let minkowskiP: Double?
    /// The caller's data (float32 or float64) and column scale, for exact float64 distances of chosen pairs.
    package let source: SourceRows
    package let columnScale: [Double]?
    private let radius: [Double]
    private let workingUnit: Double

    /// Throws LaminaError(.outOfMemory) when the working copy (n x d elements) does not fit in the memory
    /// the process may still take (Memory.reserve: RLIMIT_AS and cgroup limits included).
    package init<S: LaminaFloat>(_ x: MatrixViewOf<S>, segments: ClassSegments, metric: DistanceMetric,
                                shift: [Double]? = nil, scale: [Double]? = nil, minkowskiP: Double? = nil) throws {
        self.minkowskiP = minkowskiP
        let (cells, overflow) = x.rows.multipliedReportingOverflow(by: x.cols + 2)
        let size = MemoryLayout<T>.size
        try Memory.reserve(overflow || cells > Int.max / 8 ? -1 : cells * size,
                           "the \(size == 4 ? "float32" : "float64") working copy of x (\(x.rows) x \(x.cols))")
        source = SourceRows(x)
        columnScale = scale
        var working: WorkingCopy<T>
        if metric.isCosineLike {
            working = WorkingCopy(normalizing: x, order: segments.order, centerRows: metric == .correlation)
        } else if metric.isDirect {
            // The rows as given (power-of-two scaled: exact), never centred: differences stay exact.
            let (_, low, high) = ColumnStats.meanAndRange(x)
            working = WorkingCopy(x, order: segments.order, shift: [Double](repeating: 0, count: x.cols), range: (low, high))
        } else {
            let (mean, low, high) = ColumnStats.meanAndRange(x)   // one pass for both
            working = WorkingCopy(x, order: segments.order, shift: shift ?? WorkingCopy<S>.roundedShift(mean, low: low, high: high),
                                  scale: scale, range: (low, high))
        }
        let n = x.rows, d = x.cols, k = segments.classCount
        var centroids = [Double](repeating: 0, count: k * d)
        var norms = [T](repeating: 0, count: n)
        // Centred in place: `working` holds the only reference to its storage, so no copy is made.
        if !metric.isDirect {
        working.points.storage.withUnsafeMutableBufferPointer { w in
            centroids.withUnsafeMutableBufferPointer { cen in
                // Each class is centred on its centroid rounded like a shift (WorkingCopy.roundedShift):
                // as good for accuracy, and data with few significant bits stay exact through the
                // centring and the gemm form (integer data give exact distances).
                var low = [T](repeating: 0, count: d), high = low
                for c in 0..<k {
                    let rows = segments.segmentStart[c]..<segments.segmentStart[c + 1]
                    let mean = cen.baseAddress! + c * d
                    for j in 0..<d { low[j] = w[rows.lowerBound * d + j]; high[j] = low[j] }
                    for r in rows {
                        for j in 0..<d {
                            let v = w[r * d + j]
                            mean[j] += Double(v)
                            low[j] = Swift.min(low[j], v); high[j] = Swift.max(high[j], v)
                        }
                    }
                    for j in 0..<d { mean[j] = WorkingCopy.roundedShift(mean[j] / Double(rows.count), low: low[j], high: high[j]) }
                }
                let block = Self.block
                norms.withUnsafeMutableBufferPointer { nrm in
                    Parallel.forEachTask((n + block - 1) / block) { task in
                        let r0 = task * block, r1 = min(n, r0 + block)
                        for r in r0..<r1 {
                            let mean = cen.baseAddress! + Int(segments.classOfRow[r]) * d
                            let row = w.baseAddress! + r * d
                            for j in 0..<d { row[j] = T(Double(row[j]) - mean[j]) }
                        }
                        // ||u||^2 from the diagonal of the same gemm that gives u.v: the kernel sums
                        // every entry in the same order, so identical rows come out at distance
                        // exactly 0 (norms summed any other way leave ~sqrt(eps) |u| behind).
                        let rows = r1 - r0
                        let gram = UnsafeMutablePointer<T>.allocate(capacity: rows * rows)
                        defer { gram.deallocate() }
                        let base = UnsafePointer(w.baseAddress! + r0 * d)
                        T.gemmABt(m: rows, n: rows, k: d, a: base, lda: d, b: base, ldb: d, c: gram, ldc: rows)
                        for r in 0..<rows { nrm[r0 + r] = gram[r * rows + r] }
                    }
                }
            }
        }
        }
        self.points = working.points
        self.sqNorms = norms
        self.centroids = centroids
        self.zeroRowTerm = metric.isCosineLike ? working.sqNorms.map { $0 == 0 ? 0.5 : 0 } : []
        self.metric = metric
        self.segments = segments
        radius = Self.radii(norms, segments)
        workingUnit = working.unit
        switch metric {
        case .euclidean, .manhattan, .chebyshev: distanceUnit = working.unit
        case .sqeuclidean: distanceUnit = working.unit * working.unit
        case .cosine, .correlation: distanceUnit = 1
        }
    }

    package var count: Int { points.rows }

    /// Exact Euclidean distance (float64, caller's units, after the column scale) between the rows at
    /// class-order positions i and j.
    package func exactDistance(_ i: Int, _ j: Int) -> Double {
        source.squaredDistance(segments.order[i], segments.order[j], columnScale: columnScale).squareRoot()
    }

    /// An upper bound on the error of a computed squared distance (working units) between a point of
    /// class a and one of class b: every term of the class-centred form is at most
    /// (R_a + R_b + ||c_a - c_b||)^2, R the largest ||u|| of a class, and float32 dot products over d
    /// terms err by at most ~d * 2^-24 of that (float64: 2^-53; a deliberately generous constant: it
    /// only widens the set of pairs that are recomputed exactly).
    package func squaredDistanceErrorBound(_ a: Int, _ b: Int, radius: [Double]) -> Double {
        let d = points.cols
        var gap = 0.0
        if a != b {
            for t in 0..<d { let v = centroids[a * d + t] - centroids[b * d + t]; gap += v * v }
        }
        let scale = radius[a] + radius[b] + gap.squareRoot()
        return Double(4 * (d + 8)) * T.unitRoundoff * scale * scale
    }

    /// Below this computed squared distance (working units) between classes a and b, rounding may
    /// dominate: about 8 sqrt(d) float32 roundings of the largest term of the class-centred form.
    @inline(__always)
    private func nearLimit(_ a: Int, _ b: Int, _ centroids: UnsafePointer<Double>) -> T {
        let d = points.cols
        var gap = 0.0
        if a != b { for t in 0..<d { let v = centroids[a * d + t] - centroids[b * d + t]; gap += v * v } }
        let scale = radius[a] + radius[b] + gap.squareRoot()
        return T(8 * Double(d).squareRoot() * T.unitRoundoff * scale * scale)
    }

    /// Exact squared distance in working units between class-order rows i and j (i == j: 0).
    @inline(__always)
    private func exactSquared(_ i: Int, _ j: Int) -> T {
        if i == j { return 0 }
        let e = exactDistance(i, j) / workingUnit
        return T(e * e)
    }

    /// Largest ||u|| of each class (working units).
    package func classRadii() -> [Double] { radius }

    private static func radii(_ sqNorms: [T], _ segments: ClassSegments) -> [Double] {
        (0..<segments.classCount).map { c in
            (segments.segmentStart[c]..<segments.segmentStart[c + 1]).reduce(0.0) { max($0, Double(sqNorms[$1])) }.squareRoot()
        }
    }

    /// Tiles are block x block: square tiles let a symmetric pass skip the lower triangle, and 512
    /// rows keep OpenBLAS's single-threaded sgemm near its peak (128-row tiles lose ~35%).
    @inline(__always) package static var block: Int { 512 }

    package var blockCount: Int { (count + Self.block - 1) / Self.block }

    /// The tiles of row block `task` are fed, in order, to the consumer of lane `task % laneCount`;
    /// lanes run in parallel, the tasks of one lane in increasing order, so every consumer sees the same
    /// tiles in the same order for any thread count. `symmetric`: only tiles on or above the diagonal
    /// (column block >= row block) are computed; consumers account for the transposes.
    /// `including(rowBlock, columnBlock)`, when given, skips the tiles it rejects (no gemm at all).
    package func reduceTiles<C: TileConsumer>(symmetric: Bool, laneCount: Int, including: ((Int, Int) -> Bool)? = nil,
                                             _ makeConsumer: (Int) -> C) -> [C] where C.Element == T {
        let n = count, d = points.cols, block = Self.block
        let blocks = blockCount
        let pieces = (0..<blocks).map { b in classPieces(b * block..<min(n, b * block + block)) }
        let lanes = max(1, min(laneCount, blocks))
        let consumers = UnsafeMutablePointer<C>.allocate(capacity: lanes)
        points.storage.withUnsafeBufferPointer { pts in
            sqNorms.withUnsafeBufferPointer { norms in
                Parallel.forEachTask(lanes) { lane in
                    var consumer = makeConsumer(lane)
                    let tile = UnsafeMutablePointer<T>.allocate(capacity: block * block)
                    defer { tile.deallocate() }
                    var scratch = TileScratch<T>(block: block, dims: d)
                    for rb in stride(from: lane, to: blocks, by: lanes) {
                        let r0 = rb * block, r1 = min(n, r0 + block)
                        for cb in (symmetric ? rb : 0)..<blocks where including?(rb, cb) ?? true {
                            let c0 = cb * block, c1 = min(n, c0 + block)
                            let width = c1 - c0
                            if metric.isDirect {
                                Self.directTile(metric, minkowskiP, pts.baseAddress!, d, r0..<r1, c0..<c1, tile)
                            } else {
                            T.gemmABt(m: r1 - r0, n: width, k: d, a: pts.baseAddress! + r0 * d, lda: d,
                                     b: pts.baseAddress! + c0 * d, ldb: d, c: tile, ldc: width)
                            }
                            pieces[cb].withUnsafeBufferPointer { colPieces in
                                pieces[rb].withUnsafeBufferPointer { rowPieces in
                                    let view = DistanceTile(rows: r0..<r1, cols: c0..<c1, values: tile, ld: width,
                                                            colPieces: colPieces, rowPieces: rowPieces)
                                    if !metric.isDirect { toDistances(tile, view, pts.baseAddress!, norms.baseAddress!, &scratch) }
                                    consumer.consume(view)
                                }
                            }
                        }
                    }
                    (consumers + lane).initialize(to: consumer)
                }
            }
        }
        let result = Array(UnsafeBufferPointer(start: consumers, count: lanes))
        consumers.deinitialize(count: lanes)
        consumers.deallocate()
        return result
    }

    /// Manhattan or Chebyshev distances of rows `rows` to rows `cols` into tile (row-major, ld = cols.count):
    /// per pair, float64 differences of the stored (exactly scaled) values, summed (or maximised) in float64.
    /// With a Minkowski exponent p: (sum |x - y|^p)^(1/p), the powers in float64 (p = 1, 2 and +inf take
    /// the manhattan, root-of-squares and chebyshev forms, without pow).
    private static func directTile(_ metric: DistanceMetric, _ p: Double?, _ u: UnsafePointer<T>, _ d: Int, _ rows: Range<Int>,
                                   _ cols: Range<Int>, _ tile: UnsafeMutablePointer<T>) {
        let width = cols.count
        if let p, p != 1 {
            let inverse = 1 / p
            for r in rows {
                let a = u + r * d, out = tile + (r - rows.lowerBound) * width
                for c in cols {
                    let b = u + c * d
                    var s0 = 0.0, s1 = 0.0
                    if p == .infinity {
                        for t in 0..<d { s0 = Swift.max(s0, abs(Double(a[t]) - Double(b[t]))) }
                        out[c - cols.lowerBound] = T(s0)
                        continue
                    }
                    var t = 0
                    if p == 2 {
                        while t + 2 <= d {
                            let v0 = Double(a[t]) - Double(b[t]), v1 = Double(a[t + 1]) - Double(b[t + 1])
                            s0 += v0 * v0; s1 += v1 * v1; t += 2
                        }
                        if t < d { let v = Double(a[t]) - Double(b[t]); s0 += v * v }
                        out[c - cols.lowerBound] = T((s0 + s1).squareRoot())
                    } else {
                        while t + 2 <= d {
                            s0 += pow(abs(Double(a[t]) - Double(b[t])), p); s1 += pow(abs(Double(a[t + 1]) - Double(b[t + 1])), p)
                            t += 2
                        }
                        if t < d { s0 += pow(abs(Double(a[t]) - Double(b[t])), p) }
                        out[c - cols.lowerBound] = T(pow(s0 + s1, inverse))
                    }
                }
            }
            return
        }
        for r in rows {
            let a = u + r * d, out = tile + (r - rows.lowerBound) * width
            for c in cols {
                let b = u + c * d
                var s0 = 0.0, s1 = 0.0
                var t = 0
                if metric == .manhattan {
                    while t + 2 <= d { s0 += abs(Double(a[t]) - Double(b[t])); s1 += abs(Double(a[t + 1]) - Double(b[t + 1])); t += 2 }
                    if t < d { s0 += abs(Double(a[t]) - Double(b[t])) }
                    out[c - cols.lowerBound] = T(s0 + s1)
                } else {
                    for t in 0..<d { s0 = Swift.max(s0, abs(Double(a[t]) - Double(b[t]))) }
                    out[c - cols.lowerBound] = T(s0)
                }
            }
        }
    }

    /// The class runs of rows `range` (rows are in class order), as offsets from its start.
    private func classPieces(_ range: Range<Int>) -> [ClassPiece] {
        var list: [ClassPiece] = []
        var c = range.lowerBound
        while c < range.upperBound {
            let cls = Int(segments.classOfRow[c])
            let end = min(range.upperBound, segments.segmentStart[cls + 1])
            list.append(ClassPiece(cls: cls, start: c - range.lowerBound, end: end - range.lowerBound))
            c = end
        }
        return list
    }

    /// Dot products u.v -> distances in place, one (row class, column class) sub-block at a time; the
    /// diagonal (a point with itself) is exactly 0.
    private func toDistances(_ tile: UnsafeMutablePointer<T>, _ view: DistanceTile<T>, _ u: UnsafePointer<T>,
                             _ norms: UnsafePointer<T>, _ scratch: inout TileScratch<T>) {
        let d = points.cols, width = view.cols.count
        let r0 = view.rows.lowerBound, c0 = view.cols.lowerBound
        let rowTerm = scratch.rowTerm, colTerm = scratch.colTerm, delta = scratch.delta
        centroids.withUnsafeBufferPointer { cen in
            for rp in view.rowPieces {
                for cp in view.colPieces {
                    // rowTerm[r] = ||u_r||^2 + ||D||^2 + 2 u_r.D,  colTerm[j] = ||v_j||^2 - 2 v_j.D
                    if rp.cls == cp.cls {
                        for r in rp.start..<rp.end { rowTerm[r] = norms[r0 + r] }
                        for j in cp.start..<cp.end { colTerm[j] = norms[c0 + j] }
                    } else {
                        let ca = cen.baseAddress! + rp.cls * d, cb = cen.baseAddress! + cp.cls * d
                        var dd = 0.0
                        for t in 0..<d { delta[t] = ca[t] - cb[t]; dd += delta[t] * delta[t] }
                        for r in rp.start..<rp.end {
                            rowTerm[r] = T(Double(norms[r0 + r]) + dd + 2 * T.dot(u + (r0 + r) * d, delta, d))
                        }
                        for j in cp.start..<cp.end {
                            colTerm[j] = T(Double(norms[c0 + j]) - 2 * T.dot(u + (c0 + j) * d, delta, d))
                        }
                    }
                    if metric.isCosineLike {
                        for r in rp.start..<rp.end { rowTerm[r] = 0.5 * rowTerm[r] + zeroRowTerm[r0 + r] }
                        for j in cp.start..<cp.end { colTerm[j] = 0.5 * colTerm[j] + zeroRowTerm[c0 + j] }
                    }
                    let gain: T = metric.isCosineLike ? -1 : -2
                    // Squared distances below `near` are mostly rounding (identical or nearly
                    // identical points, whose distance the square root would blow up): recompute them
                    // exactly from the caller's data.
                    let near: T = metric.isCosineLike ? -1 : nearLimit(rp.cls, cp.cls, cen.baseAddress!)
                    for r in rp.start..<rp.end {
                        T.distanceRow(tile + r * width, colTerm, cp.start..<cp.end, rowTerm: rowTerm[r], gain: gain,
                                      near: near, metric: metric) { j in exactSquared(r0 + r, c0 + j) }
                    }
                }
            }
        }
        for r in view.rows where view.cols.contains(r) { tile[(r - r0) * width + (r - c0)] = 0 }
    }
}

/// Per-worker buffers of the distance transform.
struct TileScratch<T: LaminaFloat> {
    let rowTerm: UnsafeMutablePointer<T>
    let colTerm: UnsafeMutablePointer<T>
    let delta: UnsafeMutablePointer<Double>
    private let owner: Owner

    private final class Owner {
        let pointers: [UnsafeMutableRawPointer]
        init(_ pointers: [UnsafeMutableRawPointer]) { self.pointers = pointers }
        deinit { pointers.forEach { $0.deallocate() } }
    }

    init(block: Int, dims: Int) {
        rowTerm = .allocate(capacity: block)
        colTerm = .allocate(capacity: block)
        delta = .allocate(capacity: dims)
        owner = Owner([UnsafeMutableRawPointer(rowTerm), UnsafeMutableRawPointer(colTerm), UnsafeMutableRawPointer(delta)])
    }
}

/// The caller's rows, float32 or float64, read in float64: exact distances of chosen pairs whatever the
/// element type of the points.
package struct SourceRows: @unchecked Sendable {
    private let float32: UnsafePointer<Float>?
    private let float64: UnsafePointer<Double>?
    package let cols: Int

    package init<S: LaminaFloat>(_ x: MatrixViewOf<S>) {
        let raw = UnsafeRawPointer(x.base)
        float32 = S.self == Float.self ? raw.assumingMemoryBound(to: Float.self) : nil
        float64 = S.self == Float.self ? nil : raw.assumingMemoryBound(to: Double.self)
        precondition(S.self == Float.self || S.self == Double.self, "SourceRows: float32 or float64 rows")
        cols = x.cols
    }

    /// sum_t ((a_t - b_t) * scale_t)^2 in float64 between rows a and b (scale: 1 when nil).
    package func squaredDistance(_ a: Int, _ b: Int, columnScale: [Double]?) -> Double {
        if let float32 { return Self.squared(float32 + a * cols, float32 + b * cols, cols, columnScale) }
        return Self.squared(float64! + a * cols, float64! + b * cols, cols, columnScale)
    }

    private static func squared<E: LaminaFloat>(_ a: UnsafePointer<E>, _ b: UnsafePointer<E>, _ d: Int, _ scale: [Double]?) -> Double {
        var sum = 0.0
        if let scale {
            for t in 0..<d { let v = (Double(a[t]) - Double(b[t])) * scale[t]; sum += v * v }
        } else {
            for t in 0..<d { let v = Double(a[t]) - Double(b[t]); sum += v * v }
        }
        return sum
    }
}

/// A float32 working copy of x for gemm-based distances: row r is x[order[r]] mapped in float64 to
/// y = (x - shift) * scale / unit, where `unit` is the power of two that brings the largest |y| into
/// [0.5, 1) (exact: only the exponent changes), so that squares and dot products cannot overflow or
/// underflow float32 whatever the magnitude of the data. The largest |y| comes from the column ranges
/// (|y| is largest at a column's minimum or maximum), so the copy is one pass over x. With
/// `init(normalizing:)`, rows are instead scaled to unit length (zero rows stay zero) and `unit` is 1.
/// `sqNorms` are the squared row norms. T: float32, or float64 (for float64 input, or float32 input
/// widened exactly: the input's element type S may differ from T).
package struct WorkingCopy<T: LaminaFloat>: @unchecked Sendable {
    package var points: MatrixOf<T>
    package let sqNorms: [T]
    package let unit: Double

    /// The affine form: (x - shift) * scale / unit; `range` holds the column minima and maxima of x.
    package init<S: LaminaFloat>(_ x: MatrixViewOf<S>, order: [Int]? = nil, shift: [Double], scale: [Double]? = nil,
                                range: (low: [S], high: [S])) {
        let sc = scale ?? [Double](repeating: 1, count: x.cols)
        var largest = 0.0
        for j in 0..<x.cols {
            largest = max(largest, abs((Double(range.low[j]) - shift[j]) * sc[j]), abs((Double(range.high[j]) - shift[j]) * sc[j]))
        }
        let unit = largest > 0 && largest.isFinite ? Double(sign: .plus, exponent: largest.exponent + 1, significand: 1) : 1
        self.init(x, order: order, normalizeRows: false, shift: shift, factor: sc.map { $0 / unit }, unit: unit)
    }

    /// A shift near each column's mean that keeps x - shift exact for data with few significant bits:
    /// the mean rounded to a multiple of 2^(e - 6), 2^e <= the column's spread (high - low) < 2^(e+1)
    /// (a constant column: its value). Centring on it instead of the exact mean moves the centred values
    /// by at most 2^-7 of the spread (no accuracy is lost), while integer or dyadic data (hand-made
    /// cases, counts, quantised activations) come out of the centring, and so out of the gemm form of
    /// their distances, exactly.
    package static func roundedShift(_ mean: [Double], low: [T], high: [T]) -> [Double] {
        mean.indices.map { roundedShift(mean[$0], low: low[$0], high: high[$0]) }
    }

    @inline(__always)
    package static func roundedShift(_ mean: Double, low: T, high: T) -> Double {
        let spread = Double(high) - Double(low)
        if !(spread > 0) { return Double(low) }
        let grid = Double(sign: .plus, exponent: spread.exponent - 6, significand: 1)
        let rounded = (mean / grid).rounded() * grid
        return rounded.isFinite ? rounded : mean
    }

    /// Rows scaled to unit length (zero rows stay zero); with `centerRows`, first centred on their own
    /// mean (the correlation distance is the cosine distance of the centred rows).
    package init<S: LaminaFloat>(normalizing x: MatrixViewOf<S>, order: [Int]? = nil, centerRows: Bool = false) {
        self.init(x, order: order, normalizeRows: true, shift: [], factor: [], unit: 1, centerRows: centerRows)
    }

    private init<S: LaminaFloat>(_ x: MatrixViewOf<S>, order: [Int]?, normalizeRows: Bool, shift mu: [Double], factor: [Double],
                                 unit: Double, centerRows: Bool = false) {
        let n = x.rows, d = x.cols
        var out = MatrixOf<T>(uninitializedRows: n, cols: d)
        var norms = [T](repeating: 0, count: n)
        let chunk = 1024
        out.storage.withUnsafeMutableBufferPointer { dst in
            norms.withUnsafeMutableBufferPointer { nrm in
                mu.withUnsafeBufferPointer { m in
                    factor.withUnsafeBufferPointer { f in
                        Parallel.forEachTask((n + chunk - 1) / chunk) { task in
                            // S != T (float32 rows into float64 points): each row widened exactly first
                            let widened = S.self == T.self || normalizeRows ? nil : UnsafeMutablePointer<T>.allocate(capacity: d)
                            defer { widened?.deallocate() }
                            for r in (task * chunk)..<min(n, task * chunk + chunk) {
                                let src = x.row(order?[r] ?? r)
                                let row = dst.baseAddress! + r * d
                                if normalizeRows {
                                    nrm[r] = Self.normalized(src, row, d, centerRows)
                                } else if let widened {
                                    for j in 0..<d { widened[j] = T(src[j]) }
                                    nrm[r] = T.affine(widened, row, d, m.baseAddress!, f.baseAddress!)
                                } else {
                                    let same = UnsafeRawPointer(src).assumingMemoryBound(to: T.self)
                                    nrm[r] = T.affine(same, row, d, m.baseAddress!, f.baseAddress!)
                                }
                            }
                        }
                    }
                }
            }
        }
        points = out
        sqNorms = norms
        self.unit = unit
    }

    /// row = src / ||src|| (zero rows stay zero); returns ||row||^2.
    @inline(__always)
    private static func normalized<S: LaminaFloat>(_ src: UnsafePointer<S>, _ row: UnsafeMutablePointer<T>, _ d: Int,
                                                   _ centerRows: Bool) -> T {
        var mean = 0.0
        if centerRows { for j in 0..<d { mean += Double(src[j]) }; mean /= Double(d) }
        var sq = 0.0
        for j in 0..<d { let v = Double(src[j]) - mean; sq += v * v }
        let inv = sq > 0 ? 1 / sq.squareRoot() : 0
        sq = 0
        for j in 0..<d { let v = (Double(src[j]) - mean) * inv; row[j] = T(v); sq += v * v }
        return T(sq)
    }
}

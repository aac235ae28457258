/// Tiled pairwise distances with fused reductions: the n x n distance matrix is never built. Rows are
/// processed in blocks (one task each); for every block of columns a gemm fills a
/// `rowBlock x colBlock` tile of dot products, which is turned into distances in place and handed to a
/// consumer that reduces it (per-cluster sums, minima, maxima). Memory is O(tasks in flight * tile).

public enum DistanceMetric: Int32, Sendable, CaseIterable {
    case euclidean = 0
    case sqeuclidean = 1
    case cosine = 2

    public var name: String {
        switch self {
        case .euclidean: "euclidean"
        case .sqeuclidean: "sqeuclidean"
        case .cosine: "cosine"
        }
    }
}

/// A tile of distances: rows `rows` by columns `cols` (global indices in class order).
public struct DistanceTile {
    public let rows: Range<Int>
    public let cols: Range<Int>
    public let values: UnsafePointer<Float>
    public let ld: Int
    /// The class runs that the columns (rows) of this tile cover, in tile-local offsets.
    public let colPieces: UnsafeBufferPointer<ClassPiece>
    public let rowPieces: UnsafeBufferPointer<ClassPiece>

    /// In a symmetric pass, an off-diagonal tile also stands for its transpose (the pairs with the
    /// first point in `cols` and the second in `rows`), which the engine never computes.
    public var standsForTranspose: Bool { rows != cols }

    @inline(__always) public func row(_ i: Int) -> UnsafePointer<Float> { values + (i - rows.lowerBound) * ld }
}

public struct ClassPiece: Sendable {
    public let cls: Int
    public let start: Int
    public let end: Int
}

/// Reduces tiles; one consumer per lane, fed its lane's tiles in a fixed order.
public protocol TileConsumer {
    mutating func consume(_ tile: DistanceTile)
}

/// Points permuted into class order and prepared for the chosen metric.
/// - euclidean / sqeuclidean: rows are translated by `shift` (the column mean unless given) and scaled
///   per column by `scale` (1 unless given) in float64 before rounding to float32. Translating by the
///   mean leaves distances unchanged and shrinks ||x||^2, so the gemm form ||x||^2 + ||y||^2 - 2 x.y
///   loses far less to cancellation.
/// - cosine: rows are normalised to unit length in float64 (zero rows stay zero: distance 1 to all
///   others, scikit-learn's convention).
public struct PairwisePoints: @unchecked Sendable {
    public let points: Matrix
    public let sqNorms: [Float]
    public let metric: DistanceMetric
    public let segments: ClassSegments

    public init(_ x: MatrixView, segments: ClassSegments, metric: DistanceMetric,
                shift: [Double]? = nil, scale: [Double]? = nil) {
        let n = x.rows, d = x.cols
        var out = Matrix(rows: n, cols: d)
        var norms = [Float](repeating: 0, count: n)
        let center: [Double]
        if metric == .cosine {
            center = [Double](repeating: 0, count: d)
        } else if let shift {
            center = shift
        } else {
            center = ColumnStats.mean(x)
        }
        let factor = scale ?? [Double](repeating: 1, count: d)
        out.storage.withUnsafeMutableBufferPointer { dst in
            center.withUnsafeBufferPointer { mu in
                factor.withUnsafeBufferPointer { sc in
                    norms.withUnsafeMutableBufferPointer { nrm in
                        let order = segments.order
                        Parallel.forEachTask((n + 1023) / 1024) { task in
                            for r in (task * 1024)..<min(n, task * 1024 + 1024) {
                                let src = x.row(order[r])
                                let row = dst.baseAddress! + r * d
                                var sq = 0.0
                                for j in 0..<d {
                                    let v = (Double(src[j]) - mu[j]) * sc[j]
                                    sq += v * v
                                    row[j] = Float(v)
                                }
                                if metric == .cosine {
                                    let inv = sq > 0 ? 1 / sq.squareRoot() : 0
                                    sq = 0
                                    for j in 0..<d {
                                        let v = Double(src[j]) * inv
                                        row[j] = Float(v)
                                        sq += v * v
                                    }
                                }
                                nrm[r] = Float(sq)
                            }
                        }
                    }
                }
            }
        }
        self.points = out
        self.sqNorms = norms
        self.metric = metric
        self.segments = segments
    }

    public var count: Int { points.rows }

    /// Tiles are block x block: square tiles let a symmetric pass skip the lower triangle, and 512
    /// rows keep OpenBLAS's single-threaded sgemm near its peak (128-row tiles lose ~35%).
    public static let block = 512

    public var blockCount: Int { (count + Self.block - 1) / Self.block }

    /// The tiles of row block `task` are fed, in order, to the consumer of lane `task % laneCount`;
    /// lanes run in parallel, the tasks of one lane in increasing order, so every consumer sees the same
    /// tiles in the same order for any thread count. `symmetric`: only tiles on or above the diagonal
    /// (column block >= row block) are computed; consumers account for the transposes.
    public func reduceTiles<C: TileConsumer>(symmetric: Bool, laneCount: Int, _ makeConsumer: (Int) -> C) -> [C] {
        let n = count, d = points.cols, block = Self.block
        let blocks = blockCount
        let pieces = (0..<blocks).map { b in classPieces(b * block..<min(n, b * block + block)) }
        let lanes = max(1, min(laneCount, blocks))
        let consumers = UnsafeMutablePointer<C>.allocate(capacity: lanes)
        points.storage.withUnsafeBufferPointer { pts in
            sqNorms.withUnsafeBufferPointer { norms in
                Parallel.forEachTask(lanes) { lane in
                    var consumer = makeConsumer(lane)
                    let tile = UnsafeMutablePointer<Float>.allocate(capacity: block * block)
                    defer { tile.deallocate() }
                    for rb in stride(from: lane, to: blocks, by: lanes) {
                        let r0 = rb * block, r1 = min(n, r0 + block)
                        for cb in (symmetric ? rb : 0)..<blocks {
                            let c0 = cb * block, c1 = min(n, c0 + block)
                            let width = c1 - c0
                            Gemm.abT(m: r1 - r0, n: width, k: d, a: pts.baseAddress! + r0 * d, lda: d,
                                     b: pts.baseAddress! + c0 * d, ldb: d, c: tile, ldc: width)
                            toDistances(tile, rows: r0..<r1, cols: c0..<c1, norms: norms.baseAddress!)
                            pieces[cb].withUnsafeBufferPointer { colPieces in
                                pieces[rb].withUnsafeBufferPointer { rowPieces in
                                    consumer.consume(DistanceTile(rows: r0..<r1, cols: c0..<c1, values: tile, ld: width,
                                                                  colPieces: colPieces, rowPieces: rowPieces))
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

    /// Dot products -> distances in place; the diagonal (a point with itself) is exactly 0.
    @inline(__always)
    private func toDistances(_ tile: UnsafeMutablePointer<Float>, rows: Range<Int>, cols: Range<Int>,
                             norms: UnsafePointer<Float>) {
        let width = cols.count
        let zero = SIMD16<Float>(repeating: 0)
        for r in rows {
            let out = tile + (r - rows.lowerBound) * width
            switch metric {
            case .cosine:
                // 1 - cos, clipped to [0, 2] as scikit-learn does.
                let one = SIMD16<Float>(repeating: 1), two = SIMD16<Float>(repeating: 2)
                var j = 0
                while j + 16 <= width {
                    let g = UnsafeRawPointer(out + j).loadUnaligned(as: SIMD16<Float>.self)
                    UnsafeMutableRawPointer(out + j).storeBytes(of: SIMDOps.min(SIMDOps.max(one - g, zero), two), as: SIMD16<Float>.self)
                    j += 16
                }
                while j < width { out[j] = Swift.min(Swift.max(1 - out[j], 0), 2); j += 1 }
            case .euclidean, .sqeuclidean:
                let nr = SIMD16<Float>(repeating: norms[r])
                let m2 = SIMD16<Float>(repeating: -2)
                let sqrtIt = metric == .euclidean
                var j = 0
                while j + 16 <= width {
                    let g = UnsafeRawPointer(out + j).loadUnaligned(as: SIMD16<Float>.self)
                    let nc = UnsafeRawPointer(norms + cols.lowerBound + j).loadUnaligned(as: SIMD16<Float>.self)
                    var v = SIMDOps.max(g * m2 + (nr + nc), zero)
                    if sqrtIt { v = v.squareRoot() }
                    UnsafeMutableRawPointer(out + j).storeBytes(of: v, as: SIMD16<Float>.self)
                    j += 16
                }
                while j < width {
                    let v = Swift.max(-2 * out[j] + (norms[r] + norms[cols.lowerBound + j]), 0)
                    out[j] = sqrtIt ? v.squareRoot() : v
                    j += 1
                }
            }
            if cols.contains(r) { out[r - cols.lowerBound] = 0 }
        }
    }
}

public enum ColumnStats {
    /// Column means in float64 (fixed chunking, so deterministic).
    public static func mean(_ x: MatrixView) -> [Double] {
        let d = x.cols
        let partials = Parallel.mapChunks(count: x.rows, chunk: 4096) { range -> [Double] in
            var s = [Double](repeating: 0, count: d)
            s.withUnsafeMutableBufferPointer { acc in
                for i in range { let row = x.row(i); for j in 0..<d { acc[j] += Double(row[j]) } }
            }
            return s
        }
        var total = [Double](repeating: 0, count: d)
        for p in partials { for j in 0..<d { total[j] += p[j] } }
        return total.map { $0 / Double(x.rows) }
    }

    /// Population standard deviation per column (ddof = 0), two-pass in float64.
    public static func std(_ x: MatrixView, mean: [Double]) -> [Double] {
        let d = x.cols
        let partials = Parallel.mapChunks(count: x.rows, chunk: 4096) { range -> [Double] in
            var s = [Double](repeating: 0, count: d)
            s.withUnsafeMutableBufferPointer { acc in
                for i in range {
                    let row = x.row(i)
                    for j in 0..<d { let t = Double(row[j]) - mean[j]; acc[j] += t * t }
                }
            }
            return s
        }
        var total = [Double](repeating: 0, count: d)
        for p in partials { for j in 0..<d { total[j] += p[j] } }
        return total.map { ($0 / Double(x.rows)).squareRoot() }
    }
}

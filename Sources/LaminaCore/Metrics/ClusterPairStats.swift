/// Minimum, maximum and sum of the pairwise distances between every ordered pair of classes (a, b),
/// over all pairs of distinct points with the first in a and the second in b. One symmetric tiled pass
/// (each unordered pair once, mirrored at the end): O(n^2 d / 2) time, O(tile + k^2) memory per task.
///
/// With `exactExtremes`, a second pass makes the minima and maxima exact: every pair whose computed
/// distance lies within the error bound of a class pair's extreme (which includes the true extreme
/// pair) is recomputed in float64 from the caller's data, and the extremes are taken over those.
package struct ClusterPairStats: Sendable {
    package let classCount: Int
    package let minimum: [Double]
    package let maximum: [Double]
    package let sum: [Double]
    package let sizes: [Int]

    package init<T: LaminaFloat>(_ points: PairwisePoints<T>, exactExtremes: Bool = false) {
        let k = points.segments.classCount
        let block = PairwisePoints<T>.block, n = points.count, unit = points.distanceUnit
        let parts = points.reduceTiles(symmetric: true, laneCount: points.blockCount) { lane in
            PairStatsConsumer<T>(rows: lane * block..<min(n, (lane + 1) * block), segments: points.segments)
        }
        var mn = [Double](repeating: .infinity, count: k * k)
        var mx = [Double](repeating: 0, count: k * k)
        var sm = [Double](repeating: 0, count: k * k)
        for part in parts {   // row-block order: deterministic
            for (local, a) in part.rowClasses.enumerated() {
                for b in 0..<k {
                    let t = local * k + b
                    if part.sum[t] == 0 && part.minimum[t] == .infinity { continue }
                    for g in [a * k + b, b * k + a] {   // the pair and its mirror
                        mn[g] = min(mn[g], Double(part.minimum[t]) * unit)
                        mx[g] = max(mx[g], Double(part.maximum[t]) * unit)
                        sm[g] += part.sum[t] * unit
                    }
                }
            }
        }
        if exactExtremes { Self.refine(points, parts.map(\.tileExtremes), &mn, &mx) }
        classCount = k
        minimum = mn
        maximum = mx
        sum = sm
        sizes = (0..<k).map { points.segments.size($0) }
    }

    @inline(__always) package func index(_ a: Int, _ b: Int) -> Int { a * classCount + b }

    /// Replaces the computed minima and maxima (caller's units) by exact ones.
    private static func refine<T: LaminaFloat>(_ points: PairwisePoints<T>, _ tileExtremes: [[(columnBlock: Int, blocks: [TileBlockExtremes])]],
                               _ mn: inout [Double], _ mx: inout [Double]) {
        let k = points.segments.classCount, unit = points.distanceUnit
        let radius = points.classRadii()
        var lowLimit = [T](repeating: -1, count: k * k), highLimit = [T](repeating: .infinity, count: k * k)
        for a in 0..<k {
            for b in a..<k where mn[a * k + b].isFinite {
                let bound = points.squaredDistanceErrorBound(a, b, radius: radius)
                let low = mn[a * k + b] / unit, high = mx[a * k + b] / unit
                let lowLimitValue = T((low * low + 2 * bound).squareRoot()).nextUp
                let highLimitValue = T(max(0, high * high - 2 * bound).squareRoot()).nextDown
                for g in [a * k + b, b * k + a] { lowLimit[g] = a == b ? -1 : lowLimitValue; highLimit[g] = highLimitValue }
            }
        }
        // Only tiles with a block that reaches a limit can hold a candidate pair.
        let block = PairwisePoints<T>.block, n = points.count, blockCount = points.blockCount
        var revisit = Set<Int>()
        for (rowBlock, tiles) in tileExtremes.enumerated() {
            for (columnBlock, blocks) in tiles where blocks.contains(where: {
                ($0.a != $0.b && $0.low <= Double(lowLimit[$0.a * k + $0.b])) || $0.high >= Double(highLimit[$0.a * k + $0.b])
            }) {
                revisit.insert(rowBlock * blockCount + columnBlock)
            }
        }
        let parts = points.reduceTiles(symmetric: true, laneCount: blockCount,
                                       including: { revisit.contains($0 * blockCount + $1) }) { lane in
            ExtremeRefiner<T>(rows: lane * block..<min(n, (lane + 1) * block), points: points,
                           lowLimit: lowLimit, highLimit: highLimit)
        }
        var exactMin = [Double](repeating: .infinity, count: k * k), exactMax = [Double](repeating: -1, count: k * k)
        for part in parts {
            for (key, (lo, hi)) in part.found {   // min and max are exact: any order gives the same bits
                for g in [key.a * k + key.b, key.b * k + key.a] {
                    exactMin[g] = min(exactMin[g], lo)
                    exactMax[g] = max(exactMax[g], hi)
                }
            }
        }
        for g in 0..<(k * k) {
            if exactMin[g].isFinite && g / k != g % k { mn[g] = exactMin[g] }
            if exactMax[g] >= 0 { mx[g] = exactMax[g] }
        }
    }

    /// Mean distance over pairs of distinct points of a (a == b: n_a (n_a - 1) ordered pairs).
    package func meanDistance(_ a: Int, _ b: Int) -> Double {
        let pairs = a == b ? sizes[a] * (sizes[a] - 1) : sizes[a] * sizes[b]
        return pairs > 0 ? sum[index(a, b)] / Double(pairs) : 0
    }
}

/// The smallest and largest distance of one (row class, column class) block of a tile.
/// (Float values are held exactly as Double.)
struct TileBlockExtremes {
    let a: Int, b: Int
    let low: Double, high: Double
}

private struct PairStatsConsumer<Element: LaminaFloat>: TileConsumer {
    let rows: Range<Int>
    let segments: ClassSegments
    let firstClass: Int
    let rowClasses: Range<Int>
    var minimum: [Element]
    var maximum: [Element]
    var sum: [Double]
    var tileExtremes: [(columnBlock: Int, blocks: [TileBlockExtremes])] = []

    init(rows: Range<Int>, segments: ClassSegments) {
        self.rows = rows
        self.segments = segments
        firstClass = Int(segments.classOfRow[rows.lowerBound])
        rowClasses = firstClass..<(Int(segments.classOfRow[rows.upperBound - 1]) + 1)
        let size = rowClasses.count * segments.classCount
        minimum = [Element](repeating: .infinity, count: size)
        maximum = [Element](repeating: 0, count: size)
        sum = [Double](repeating: 0, count: size)
    }

    /// Each unordered pair once: all of an off-diagonal tile, the strict upper triangle of a diagonal one.
    /// Also records, per tile, the extremes of each (row class, column class) block, so that the exact
    /// second pass can skip the tiles that cannot hold an extreme pair.
    mutating func consume(_ tile: DistanceTile<Element>) {
        let k = segments.classCount
        let diagonal = !tile.standsForTranspose
        var blocks: [TileBlockExtremes] = []
        for rp in tile.rowPieces {
            let a = rp.cls - firstClass
            for cp in tile.colPieces {
                var lo = Element.infinity, hi: Element = 0
                for r in (tile.rows.lowerBound + rp.start)..<(tile.rows.lowerBound + rp.end) {
                    let first = diagonal ? r - tile.cols.lowerBound + 1 : 0
                    let start = max(cp.start, first)
                    if cp.end <= start { continue }
                    let (l, h, s) = Element.minMaxSum(tile.row(r) + start, cp.end - start)
                    let t = a * k + cp.cls
                    minimum[t] = min(minimum[t], l)
                    maximum[t] = max(maximum[t], h)
                    sum[t] += s
                    lo = min(lo, l)
                    hi = max(hi, h)
                }
                blocks.append(TileBlockExtremes(a: rp.cls, b: cp.cls, low: Double(lo), high: Double(hi)))
            }
        }
        tileExtremes.append((tile.cols.lowerBound / PairwisePoints<Element>.block, blocks))
    }

}

/// Second pass of the exact extremes: recomputes, exactly, the pairs whose computed distance is at or
/// below `lowLimit` (candidates for a between-class minimum) or at or above `highLimit` (candidates for a
/// maximum), keyed by (row class, column class).
struct ExtremeRefiner<Element: LaminaFloat>: TileConsumer {
    let rows: Range<Int>
    let points: PairwisePoints<Element>
    let lowLimit: [Element]
    let highLimit: [Element]
    var found: [Pair: (Double, Double)] = [:]

    struct Pair: Hashable { let a: Int, b: Int }

    init(rows: Range<Int>, points: PairwisePoints<Element>, lowLimit: [Element], highLimit: [Element]) {
        self.rows = rows
        self.points = points
        self.lowLimit = lowLimit
        self.highLimit = highLimit
    }

    mutating func consume(_ tile: DistanceTile<Element>) {
        let k = points.segments.classCount
        let diagonal = !tile.standsForTranspose
        for r in tile.rows {
            let a = Int(points.segments.classOfRow[r])
            let d = tile.row(r)
            let first = diagonal ? r - tile.cols.lowerBound + 1 : 0
            for piece in tile.colPieces where piece.end > first {
                let low = lowLimit[a * k + piece.cls], high = highLimit[a * k + piece.cls]
                for j in max(piece.start, first)..<piece.end where d[j] <= low || d[j] >= high {
                    let exact = points.exactDistance(r, tile.cols.lowerBound + j)
                    let key = Pair(a: a, b: piece.cls)
                    let (lo, hi) = found[key] ?? (.infinity, -1)
                    found[key] = (min(lo, exact), max(hi, exact))
                }
            }
        }
    }
}

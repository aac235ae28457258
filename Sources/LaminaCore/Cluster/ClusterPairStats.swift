/// Minimum, maximum and sum of the pairwise distances between every ordered pair of classes (a, b),
/// over all pairs of distinct points with the first in a and the second in b. One symmetric tiled pass
/// (each unordered pair once, mirrored at the end): O(n^2 d / 2) time, O(tile + k^2) memory per task.
public struct ClusterPairStats: Sendable {
    public let classCount: Int
    public let minimum: [Double]
    public let maximum: [Double]
    public let sum: [Double]
    public let sizes: [Int]

    public init(_ points: PairwisePoints) {
        let k = points.segments.classCount
        let block = PairwisePoints.block, n = points.count
        let parts = points.reduceTiles(symmetric: true, laneCount: points.blockCount) { lane in
            PairStatsConsumer(rows: lane * block..<min(n, (lane + 1) * block), segments: points.segments)
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
                        mn[g] = min(mn[g], Double(part.minimum[t]))
                        mx[g] = max(mx[g], Double(part.maximum[t]))
                        sm[g] += part.sum[t]
                    }
                }
            }
        }
        classCount = k
        minimum = mn
        maximum = mx
        sum = sm
        sizes = (0..<k).map { points.segments.size($0) }
    }

    @inline(__always) public func index(_ a: Int, _ b: Int) -> Int { a * classCount + b }

    /// Mean distance over pairs of distinct points of a (a == b: n_a (n_a - 1) ordered pairs).
    public func meanDistance(_ a: Int, _ b: Int) -> Double {
        let pairs = a == b ? sizes[a] * (sizes[a] - 1) : sizes[a] * sizes[b]
        return pairs > 0 ? sum[index(a, b)] / Double(pairs) : 0
    }
}

private struct PairStatsConsumer: TileConsumer {
    let rows: Range<Int>
    let segments: ClassSegments
    let firstClass: Int
    let rowClasses: Range<Int>
    var minimum: [Float]
    var maximum: [Float]
    var sum: [Double]

    init(rows: Range<Int>, segments: ClassSegments) {
        self.rows = rows
        self.segments = segments
        firstClass = Int(segments.classOfRow[rows.lowerBound])
        rowClasses = firstClass..<(Int(segments.classOfRow[rows.upperBound - 1]) + 1)
        let size = rowClasses.count * segments.classCount
        minimum = [Float](repeating: .infinity, count: size)
        maximum = [Float](repeating: 0, count: size)
        sum = [Double](repeating: 0, count: size)
    }

    /// Each unordered pair once: all of an off-diagonal tile, the strict upper triangle of a diagonal one.
    mutating func consume(_ tile: DistanceTile) {
        let k = segments.classCount
        let diagonal = !tile.standsForTranspose
        for r in tile.rows {
            let a = Int(segments.classOfRow[r]) - firstClass
            let d = tile.row(r)
            let first = diagonal ? r - tile.cols.lowerBound + 1 : 0
            for piece in tile.colPieces where piece.end > first {
                let start = max(piece.start, first)
                accumulate(a * k + piece.cls, d + start, piece.end - start)
            }
        }
    }

    @inline(__always) private mutating func accumulate(_ t: Int, _ p: UnsafePointer<Float>, _ count: Int) {
        let (lo, hi, s) = Reduce.minMaxSum(p, count)
        minimum[t] = min(minimum[t], lo)
        maximum[t] = max(maximum[t], hi)
        sum[t] += s
    }

}

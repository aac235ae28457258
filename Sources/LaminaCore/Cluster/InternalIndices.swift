/// Internal cluster-validity indices with scikit-learn's definitions and edge cases.
public enum InternalIndices {
    // MARK: Silhouette

    /// s(i) = (b(i) - a(i)) / max(a(i), b(i)), a(i) the mean distance from i to the other members of its
    /// cluster, b(i) the smallest mean distance from i to the members of another cluster; s(i) = 0 for
    /// members of size-1 clusters (Rousseeuw 1987; sklearn.metrics.silhouette_samples).
    public static func silhouetteSamples(_ x: MatrixView, labels: EncodedLabels, metric: DistanceMetric) throws -> [Double] {
        try checkRowsMatch(x, labels)
        try checkLabelCount(labels)
        let segments = ClassSegments(labels)
        let points = PairwisePoints(x, segments: segments, metric: metric)
        var result = [Double](repeating: 0, count: x.rows)
        result.withUnsafeMutableBufferPointer { out in
            _ = points.reduceTiles { rows in SilhouetteConsumer(rows: rows, segments: segments, out: out.baseAddress!) }
        }
        return result
    }

    public static func silhouetteScore(_ x: MatrixView, labels: EncodedLabels, metric: DistanceMetric) throws -> Double {
        let s = try silhouetteSamples(x, labels: labels, metric: metric)
        return s.reduce(0, +) / Double(s.count)
    }

    private struct SilhouetteConsumer: TileConsumer {
        let rows: Range<Int>
        let segments: ClassSegments
        let out: UnsafeMutablePointer<Double>
        var sums: [Double]   // rows.count x classCount: sum of distances from each row to each class

        init(rows: Range<Int>, segments: ClassSegments, out: UnsafeMutablePointer<Double>) {
            self.rows = rows
            self.segments = segments
            self.out = out
            self.sums = [Double](repeating: 0, count: rows.count * segments.classCount)
        }

        mutating func consume(_ tile: DistanceTile) {
            let k = segments.classCount
            sums.withUnsafeMutableBufferPointer { acc in
                for r in rows {
                    let d = tile.row(r), dst = acc.baseAddress! + (r - rows.lowerBound) * k
                    for piece in tile.pieces { dst[piece.cls] += Reduce.sum(d + piece.start, piece.end - piece.start) }
                }
            }
        }

        mutating func finish() {
            let k = segments.classCount
            for r in rows {
                let own = Int(segments.classOfRow[r])
                let ownSize = segments.size(own)
                var s = 0.0
                if ownSize > 1 {
                    let base = (r - rows.lowerBound) * k
                    let a = sums[base + own] / Double(ownSize - 1)
                    var b = Double.infinity
                    for c in 0..<k where c != own { b = min(b, sums[base + c] / Double(segments.size(c))) }
                    let denom = max(a, b)
                    s = denom > 0 ? (b - a) / denom : 0   // 0/0 -> 0 (sklearn's nan_to_num)
                }
                out[segments.order[r]] = s
            }
            sums = []
        }
    }

    // MARK: Davies-Bouldin

    /// DB = (1/k) sum_i max_{j != i} (s_i + s_j) / d(c_i, c_j), s_i the mean Euclidean distance of cluster
    /// i's members to its centroid c_i (Davies & Bouldin 1979; sklearn.metrics.davies_bouldin_score).
    /// Returns 0 when all s_i or all centroid distances are (numerically) zero; a pair of coincident
    /// centroids contributes 0 (scikit-learn's conventions).
    public static func daviesBouldin(_ x: MatrixView, labels: EncodedLabels) throws -> Double {
        try checkRowsMatch(x, labels)
        try checkLabelCount(labels)
        let k = labels.classCount
        let centroids = ClassCentroids(x, labels: labels)
        let spread = centroids.dispersions(x, labels: labels).plain.enumerated().map { $0.element / Double(labels.counts[$0.offset]) }
        var dist = [Double](repeating: 0, count: k * k)
        for i in 0..<k { for j in 0..<k where j != i { dist[i * k + j] = centroids.distance(i, j) } }
        if allClose(spread) || allClose(dist) { return 0 }
        var total = 0.0
        for i in 0..<k {
            var worst = 0.0
            for j in 0..<k where j != i {
                let dij = dist[i * k + j]
                let ratio = dij == 0 ? 0 : (spread[i] + spread[j]) / dij
                worst = max(worst, ratio)
            }
            total += worst
        }
        return total / Double(k)
    }

    /// numpy.allclose(v, 0): |v| <= 1e-8 everywhere.
    private static func allClose(_ v: [Double]) -> Bool { v.allSatisfy { abs($0) <= 1e-8 } }

    // MARK: Calinski-Harabasz

    /// CH = [B / (k - 1)] / [W / (n - k)], B = sum_k n_k ||c_k - c||^2, W = sum_i ||x_i - c_{k(i)}||^2
    /// (Calinski & Harabasz 1974; sklearn.metrics.calinski_harabasz_score). Returns 1 when W = 0.
    public static func calinskiHarabasz(_ x: MatrixView, labels: EncodedLabels) throws -> Double {
        try checkRowsMatch(x, labels)
        try checkLabelCount(labels)
        let n = x.rows, k = labels.classCount, d = x.cols
        let centroids = ClassCentroids(x, labels: labels)
        let mean = ColumnStats.mean(x)
        var between = 0.0
        centroids.centroids.withUnsafeBufferPointer { c in
            mean.withUnsafeBufferPointer { m in
                for cls in 0..<k {
                    between += Double(labels.counts[cls]) * Reduce.squaredDistance(c.baseAddress! + cls * d, m.baseAddress!, d)
                }
            }
        }
        let within = centroids.dispersions(x, labels: labels).squared.reduce(0, +)
        if within == 0 { return 1 }
        return between * Double(n - k) / (within * Double(k - 1))
    }
}

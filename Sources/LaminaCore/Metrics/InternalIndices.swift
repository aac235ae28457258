/// Internal cluster-validity indices with scikit-learn's definitions and edge cases.
package enum InternalIndices {
    // MARK: Silhouette

    /// s(i) = (b(i) - a(i)) / max(a(i), b(i)), a(i) the mean distance from i to the other members of its
    /// cluster, b(i) the smallest mean distance from i to the members of another cluster; s(i) = 0 for
    /// members of size-1 clusters (Rousseeuw 1987; sklearn.metrics.silhouette_samples).
    /// minkowskiP: the Minkowski distance (sum |x - y|^p)^(1/p), p > 0 (metric "minkowski"; `metric`
    /// is then ignored).
    /// Float32 input is computed in float64 too: its rows are widened exactly into the float64 working
    /// copy and the tiles are dgemm's, so every distance is float64-accurate (scikit-learn likewise
    /// upcasts float32 rows to float64 for its Euclidean distances) and the silhouettes of float32 and
    /// float64 copies of the same values, dense or CSR, agree to ~1e-15 even where b - a cancels.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    package static func silhouetteSamples<T: LaminaFloat>(_ x: MatrixViewOf<T>, labels: EncodedLabels, metric: DistanceMetric,
                                                          minkowskiP: Double? = nil) throws -> [Double] {
        try checkRowsMatch(x, labels)
        try checkLabelCount(labels)
        if let p = minkowskiP, !(p > 0) || p.isNaN {
            throw LaminaError.invalid("p is \(p); expected p > 0 (the Minkowski exponent; p = 1 manhattan, 2 euclidean, inf chebyshev)")
        }
        let segments = ClassSegments(labels)
        let points = try PairwisePoints<Double>(x, segments: segments, metric: minkowskiP == nil ? metric : .manhattan,
                                                minkowskiP: minkowskiP)
        let n = x.rows, k = segments.classCount
        // Symmetric pass (half the gemm work) when a few lanes of n x k sums fit in 512 MB; otherwise
        // every row block computes its full row of tiles and keeps only its own rows' sums.
        let lanes = min(8, (512 << 20) / max(1, n * k * MemoryLayout<Double>.size))
        let symmetric = lanes >= 2
        let parts = points.reduceTiles(symmetric: symmetric, laneCount: symmetric ? lanes : points.blockCount) { lane in
            symmetric ? SilhouetteSums<Double>(rows: 0..<n, classCount: k, symmetric: true)
                : SilhouetteSums<Double>(rows: lane * PairwisePoints<Double>.block..<min(n, (lane + 1) * PairwisePoints<Double>.block),
                                         classCount: k, symmetric: false)
        }
        var result = [Double](repeating: 0, count: n)
        var rowSums = [Double](repeating: 0, count: k)
        for r in 0..<n {
            for c in 0..<k { rowSums[c] = 0 }
            for part in parts where part.rows.contains(r) {   // lane order: deterministic
                let base = (r - part.rows.lowerBound) * k
                for c in 0..<k { rowSums[c] += part.sums[base + c] }
            }
            result[segments.order[r]] = silhouette(of: r, rowSums, segments)
        }
        return result
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    package static func silhouetteScore<T: LaminaFloat>(_ x: MatrixViewOf<T>, labels: EncodedLabels, metric: DistanceMetric,
                                                        minkowskiP: Double? = nil) throws -> Double {
        let s = try silhouetteSamples(x, labels: labels, metric: metric, minkowskiP: minkowskiP)
        return s.reduce(0, +) / Double(s.count)
    }

    /// Silhouettes from a given n x n distance matrix (scikit-learn's metric="precomputed"), read in row
    /// blocks: per row, the float64 sums of its distances to each class (the diagonal included, as
    /// scikit-learn's reduction does), then s(i) as above. Checks in scikit-learn's order and words:
    /// rows match the labels, a zero diagonal (|d_ii| <= 100 eps of the element type), the label count,
    /// square, non-negative.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    package static func silhouetteSamplesPrecomputed<T: LaminaFloat>(_ dist: MatrixViewOf<T>, labels: EncodedLabels) throws -> [Double] {
        try checkRowsMatch(dist, labels)
        let n = dist.rows, m = dist.cols
        let tolerance = 100 * T.ulpOfOne
        for i in 0..<min(n, m) where abs(dist.base[i * m + i]) > tolerance {
            throw LaminaError.invalid("The precomputed distance matrix contains non-zero elements on the diagonal. "
                                      + "Use np.fill_diagonal(X, 0). (dist[\(i), \(i)] is \(dist.base[i * m + i]); "
                                      + "expected |value| <= 100 eps = \(tolerance))")
        }
        try checkLabelCount(labels)
        if m != n {
            throw LaminaError.shape("Precomputed metric requires shape (n_queries, n_indexed). Got (\(n), \(m)) for \(n) indexed. "
                                    + "(dist must be the square n x n matrix of distances between the samples)")
        }
        let base = dist.base
        let negatives = Parallel.mapChunks(count: n * n, chunk: 1 << 18) { range -> Int? in
            for i in range where base[i] < 0 { return i }
            return nil
        }
        if let first = negatives.lazy.compactMap({ $0 }).first {
            throw LaminaError.invalid("Negative values in data passed to `pairwise_distances`. Precomputed distance need to "
                                      + "have non-negative values. (dist[\(first / n), \(first % n)] is \(base[first]))")
        }
        let k = labels.classCount
        var result = [Double](repeating: 0, count: n)
        let block = 256
        result.withUnsafeMutableBufferPointer { out in
            labels.codes.withUnsafeBufferPointer { codes in
                Parallel.forEachTask((n + block - 1) / block) { task in
                    var sums = [Double](repeating: 0, count: k)
                    sums.withUnsafeMutableBufferPointer { acc in
                        for r in (task * block)..<min(n, task * block + block) {
                            for c in 0..<k { acc[c] = 0 }
                            let row = base + r * n
                            for j in 0..<n { acc[Int(codes[j])] += Double(row[j]) }
                            out[r] = silhouette(own: Int(codes[r]), acc, counts: labels.counts)
                        }
                    }
                }
            }
        }
        return result
    }

    /// s from the sums of distances of one sample to every class; `own` its class.
    static func silhouette(own: Int, _ sums: UnsafeMutableBufferPointer<Double>, counts: [Int]) -> Double {
        if counts[own] < 2 { return 0 }
        let a = sums[own] / Double(counts[own] - 1)
        var b = Double.infinity
        for c in 0..<counts.count where c != own { b = min(b, sums[c] / Double(counts[c])) }
        let denom = max(a, b)
        return denom > 0 ? (b - a) / denom : 0
    }

    /// s(r) from the sums of distances from row r to every class.
    private static func silhouette(of r: Int, _ sums: [Double], _ segments: ClassSegments) -> Double {
        let own = Int(segments.classOfRow[r])
        let ownSize = segments.size(own)
        if ownSize < 2 { return 0 }
        let a = sums[own] / Double(ownSize - 1)
        var b = Double.infinity
        for c in 0..<segments.classCount where c != own { b = min(b, sums[c] / Double(segments.size(c))) }
        let denom = max(a, b)
        return denom > 0 ? (b - a) / denom : 0   // 0/0 -> 0 (scikit-learn's nan_to_num)
    }

    /// Sums of distances from each row in `rows` to each class. In a symmetric pass an off-diagonal
    /// tile also adds its column sums (per class run of its rows) to the rows of its columns.
    private struct SilhouetteSums<Element: LaminaFloat>: TileConsumer {
        let rows: Range<Int>
        let classCount: Int
        let symmetric: Bool
        var sums: [Double]
        var columnScratch: [Double]

        init(rows: Range<Int>, classCount: Int, symmetric: Bool) {
            self.rows = rows
            self.classCount = classCount
            self.symmetric = symmetric
            sums = [Double](repeating: 0, count: rows.count * classCount)
            columnScratch = [Double](repeating: 0, count: PairwisePoints<Element>.block)
        }

        mutating func consume(_ tile: DistanceTile<Element>) {
            let k = classCount, offset = rows.lowerBound
            let width = tile.cols.count
            let transposeToo = symmetric && tile.standsForTranspose
            sums.withUnsafeMutableBufferPointer { acc in
                let sum = acc.baseAddress!
                for r in tile.rows {
                    let d = tile.row(r), dst = sum + (r - offset) * k
                    for piece in tile.colPieces { dst[piece.cls] += Element.sum(d + piece.start, piece.end - piece.start) }
                }
                guard transposeToo else { return }
                columnScratch.withUnsafeMutableBufferPointer { scratch in
                    let col = scratch.baseAddress!
                    for piece in tile.rowPieces {
                        col.update(repeating: 0, count: width)
                        for r in (tile.rows.lowerBound + piece.start)..<(tile.rows.lowerBound + piece.end) {
                            Element.accumulate(tile.row(r), into: col, width)
                        }
                        for j in 0..<width { sum[(tile.cols.lowerBound + j - offset) * k + piece.cls] += col[j] }
                    }
                }
            }
        }
    }

    // MARK: Davies-Bouldin

    /// DB = (1/k) sum_i max_{j != i} (s_i + s_j) / d(c_i, c_j), s_i the mean Euclidean distance of cluster
    /// i's members to its centroid c_i (Davies & Bouldin 1979; sklearn.metrics.davies_bouldin_score).
    /// Returns 0 when all s_i or all centroid distances are (numerically) zero; a pair of coincident
    /// centroids contributes 0 (scikit-learn's conventions).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    package static func daviesBouldin<T: LaminaFloat>(_ x: MatrixViewOf<T>, labels: EncodedLabels) throws -> Double {
        try checkRowsMatch(x, labels)
        try checkLabelCount(labels)
        let centroids = ClassCentroids(x, labels: labels)
        return daviesBouldin(centroids, plain: centroids.dispersions(x, labels: labels).plain, counts: labels.counts)
    }

    /// Davies-Bouldin from the centroids and each class's sum of distances to its centroid (dense and
    /// sparse input share it).
    static func daviesBouldin(_ centroids: ClassCentroids, plain: [Double], counts: [Int]) -> Double {
        let k = centroids.classCount
        let spread = plain.enumerated().map { $0.element / Double(counts[$0.offset]) }
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
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    package static func calinskiHarabasz<T: LaminaFloat>(_ x: MatrixViewOf<T>, labels: EncodedLabels) throws -> Double {
        try checkRowsMatch(x, labels)
        try checkLabelCount(labels)
        let centroids = ClassCentroids(x, labels: labels)
        return calinskiHarabasz(centroids, counts: labels.counts, within: centroids.dispersions(x, labels: labels).squared.reduce(0, +))
    }

    /// Calinski-Harabasz from the centroids, the class sizes and the within-class sum of squares W
    /// (dense and sparse input share it).
    static func calinskiHarabasz(_ centroids: ClassCentroids, counts: [Int], within: Double) -> Double {
        let k = centroids.classCount, d = centroids.dims, n = counts.reduce(0, +)
        // The overall mean is the count-weighted mean of the centroids (no extra pass over x).
        var mean = [Double](repeating: 0, count: d)
        for cls in 0..<k {
            let weight = Double(counts[cls]) / Double(n)
            for j in 0..<d { mean[j] += weight * centroids.centroids[cls * d + j] }
        }
        var between = 0.0
        centroids.centroids.withUnsafeBufferPointer { c in
            mean.withUnsafeBufferPointer { m in
                for cls in 0..<k {
                    between += Double(counts[cls]) * Reduce.squaredDistance(c.baseAddress! + cls * d, m.baseAddress!, d)
                }
            }
        }
        if within == 0 { return 1 }
        return between * Double(n - k) / (within * Double(k - 1))
    }
}

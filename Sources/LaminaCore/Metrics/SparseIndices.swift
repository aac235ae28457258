/// Internal indices on CSR input (silhouette, Davies-Bouldin, Calinski-Harabasz, Xie-Beni with
/// centroid separation), computed on the sparse rows: same definitions and edge cases as the dense
/// functions of `InternalIndices` (scikit-learn's).
extension InternalIndices {
    /// The metrics the sparse silhouette computes (those with a dot-product form).
    package static let sparseMetrics: [DistanceMetric] = [.euclidean, .sqeuclidean, .cosine]

    /// Silhouette of every sample of a CSR matrix. Rows are taken in class order; for each row the dot
    /// products with every other row come from the columns it touches (a scatter over the column
    /// lists: O(sum over its entries of the column's length), cheap for sparse codes), then the
    /// distances are reduced to per-class sums in float64 without storing them: memory O(n + nnz) per
    /// worker, never n x n. Euclidean distances within 2^-10 of ||x||^2 + ||y||^2 are recomputed exactly
    /// from the two rows (a row is at 0 from itself). Cosine: 1 - x.y / (||x|| ||y||) on rows scaled to
    /// unit norm, clipped to [0, 2] (scikit-learn's cosine_distances; a zero row has similarity 0).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    package static func silhouetteSamples<T: LaminaFloat>(_ x: CSRViewOf<T>, labels: EncodedLabels, metric: DistanceMetric) throws -> [Double] {
        try checkRowsMatch(x.rows, labels)
        try checkLabelCount(labels)
        if !sparseMetrics.contains(metric) {
            throw LaminaError.invalid("metric is '\(metric)'; sparse x supports 'euclidean', 'sqeuclidean' and 'cosine' "
                                      + "(pass dense x for the other metrics, or their distances with metric='precomputed')")
        }
        try SparseRowsAndColumns.checkIndexable(x)
        let n = x.rows, k = labels.classCount
        var starts = [Int](repeating: 0, count: k + 1)
        for c in labels.codes { starts[Int(c) + 1] += 1 }
        for c in 0..<k { starts[c + 1] += starts[c] }
        var fill = Array(starts[0..<k]), order = [Int](repeating: 0, count: n)
        for i in 0..<n { let c = Int(labels.codes[i]); order[fill[c]] = i; fill[c] += 1 }
        let m = SparseRowsAndColumns(x, order: order, unitRows: metric == .cosine)
        let block = 64
        var result = [Double](repeating: 0, count: n)
        result.withUnsafeMutableBufferPointer { out in
            m.norms.withUnsafeBufferPointer { norms in
                Parallel.forEachTask((n + block - 1) / block) { task in
                    let dots = UnsafeMutablePointer<Double>.allocate(capacity: n)
                    defer { dots.deallocate() }
                    let sums = UnsafeMutablePointer<Double>.allocate(capacity: k)
                    defer { sums.deallocate() }
                    for p in (task * block)..<min(n, task * block + block) {
                        dots.initialize(repeating: 0, count: n)
                        m.scatterDots(p, into: dots)
                        for c in 0..<k {
                            sums[c] = sparseDistanceSum(dots, norms.baseAddress!, starts[c]..<starts[c + 1], row: p,
                                                        metric: metric, exact: { m.exactSquaredDistance(p, $0) })
                        }
                        out[order[p]] = silhouette(own: Int(labels.codes[order[p]]),
                                                   UnsafeMutableBufferPointer(start: sums, count: k), counts: labels.counts)
                    }
                }
            }
        }
        return result
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    package static func silhouetteScore<T: LaminaFloat>(_ x: CSRViewOf<T>, labels: EncodedLabels, metric: DistanceMetric) throws -> Double {
        let s = try silhouetteSamples(x, labels: labels, metric: metric)
        return s.reduce(0, +) / Double(s.count)
    }

    /// Silhouettes from a sparse n x n distance matrix (metric="precomputed"; an absent entry is a
    /// distance of 0, as scipy reads it): per row, the float64 sums of its stored distances to each
    /// class, then s(i). The dense function's checks, in its order and words: rows match the labels, a
    /// zero diagonal (absent, or |d_ii| <= 100 eps), the label count, square, non-negative.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    package static func silhouetteSamplesPrecomputed<T: LaminaFloat>(_ dist: CSRViewOf<T>, labels: EncodedLabels) throws -> [Double] {
        try checkRowsMatch(dist.rows, labels)
        let n = dist.rows, m = dist.cols
        let tolerance = 100 * T.ulpOfOne
        for i in 0..<min(n, m) {
            for t in dist.start(i)..<dist.end(i) where Int(dist.indices[t]) == i && abs(dist.data[t]) > tolerance {
                throw LaminaError.invalid("The precomputed distance matrix contains non-zero elements on the diagonal. "
                                          + "Use np.fill_diagonal(X, 0). (dist[\(i), \(i)] is \(dist.data[t]); "
                                          + "expected |value| <= 100 eps = \(tolerance))")
            }
        }
        try checkLabelCount(labels)
        if m != n {
            throw LaminaError.shape("Precomputed metric requires shape (n_queries, n_indexed). Got (\(n), \(m)) for \(n) indexed. "
                                    + "(dist must be the square n x n matrix of distances between the samples)")
        }
        for i in 0..<n {
            for t in dist.start(i)..<dist.end(i) where dist.data[t] < 0 {
                throw LaminaError.invalid("Negative values in data passed to `pairwise_distances`. Precomputed distance need to "
                                          + "have non-negative values. (dist[\(i), \(dist.indices[t])] is \(dist.data[t]))")
            }
        }
        let k = labels.classCount
        var result = [Double](repeating: 0, count: n)
        result.withUnsafeMutableBufferPointer { out in
            Parallel.forEachTask((n + 1023) / 1024) { task in
                let sums = UnsafeMutableBufferPointer<Double>.allocate(capacity: k)
                defer { sums.deallocate() }
                for r in (task * 1024)..<min(n, task * 1024 + 1024) {
                    for c in 0..<k { sums[c] = 0 }
                    for t in dist.start(r)..<dist.end(r) { sums[Int(labels.codes[Int(dist.indices[t])])] += Double(dist.data[t]) }
                    out[r] = silhouette(own: Int(labels.codes[r]), sums, counts: labels.counts)
                }
            }
        }
        return result
    }

    /// Sum over q in `range` of the distance from row p to row q, from the dot products (see above).
    @inline(__always)
    private static func sparseDistanceSum(_ dots: UnsafePointer<Double>, _ norms: UnsafePointer<Double>, _ range: Range<Int>,
                                          row p: Int, metric: DistanceMetric, exact: (Int) -> Double) -> Double {
        let np = norms[p]
        if metric == .cosine {
            var s = 0.0
            for q in range { s += min(max(1 - dots[q], 0), 2) }
            return s
        }
        let root = metric == .euclidean
        @inline(__always) func one(_ q: Int) -> Double {
            let base = np + norms[q]
            var v = base - 2 * dots[q]
            if v < sparseNearFraction * base || q == p { v = q == p ? 0 : exact(q) }
            return root ? v.squareRoot() : v
        }
        var acc = SIMD8<Double>()
        var q = range.lowerBound
        let npV = SIMD8<Double>(repeating: np), fraction = SIMD8<Double>(repeating: sparseNearFraction)
        var tail = 0.0
        while q + 8 <= range.upperBound {
            let base = npV + UnsafeRawPointer(norms + q).loadUnaligned(as: SIMD8<Double>.self)
            let v = base - 2 * UnsafeRawPointer(dots + q).loadUnaligned(as: SIMD8<Double>.self)
            if any(v .< fraction * base) || (p >= q && p < q + 8) {
                for r in q..<(q + 8) { tail += one(r) }
            } else {
                acc += root ? v.squareRoot() : v
            }
            q += 8
        }
        while q < range.upperBound { tail += one(q); q += 1 }
        return acc.sum() + tail
    }

    /// Davies-Bouldin on CSR input: the dense definition with float64 centroids from the sparse rows
    /// and exact distances of each row to its centroid (CSRViewOf.squaredDistance).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    package static func daviesBouldin<T: LaminaFloat>(_ x: CSRViewOf<T>, labels: EncodedLabels) throws -> Double {
        try checkRowsMatch(x.rows, labels)
        try checkLabelCount(labels)
        try reserveCentroids(labels.classCount, x.cols)
        let centroids = ClassCentroids(x, labels: labels)
        let plain = centroids.dispersions(x, labels: labels).plain
        return daviesBouldin(centroids, plain: plain, counts: labels.counts)
    }

    /// Calinski-Harabasz on CSR input (dense definition, sparse centroids and dispersions).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    package static func calinskiHarabasz<T: LaminaFloat>(_ x: CSRViewOf<T>, labels: EncodedLabels) throws -> Double {
        try checkRowsMatch(x.rows, labels)
        try checkLabelCount(labels)
        try reserveCentroids(labels.classCount, x.cols)
        let centroids = ClassCentroids(x, labels: labels)
        let within = centroids.dispersions(x, labels: labels).squared.reduce(0, +)
        return calinskiHarabasz(centroids, counts: labels.counts, within: within)
    }
}

extension XieBeniIndex {
    /// Xie-Beni with centroid separation on CSR input (the point-pair separation needs dense x).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    package static func compute<T: LaminaFloat>(_ x: CSRViewOf<T>, labels: EncodedLabels, separation: Separation = .centroid) throws -> Double {
        try checkRowsMatch(x.rows, labels)
        try checkLabelCount(labels)
        if separation != .centroid {
            throw LaminaError.invalid("separation is 'point_pair'; sparse x supports separation 'centroid' only (pass dense x for 'point_pair')")
        }
        let k = labels.classCount
        try reserveCentroids(k, x.cols)
        let centroids = ClassCentroids(x, labels: labels)
        let within = centroids.dispersions(x, labels: labels).squared.reduce(0, +)
        var closest = Double.infinity
        for a in 0..<k { for b in (a + 1)..<k { let t = centroids.distance(a, b); closest = min(closest, t * t) } }
        if closest == 0 { return within > 0 ? .infinity : .nan }
        return within / (Double(x.rows) * closest)
    }
}

extension ClassCentroids {
    /// Float64 class centroids of CSR rows (one pass over the entries, row order: deterministic).
    package init<T: LaminaFloat>(_ x: CSRViewOf<T>, labels: EncodedLabels) {
        let k = labels.classCount, d = x.cols
        var sums = [Double](repeating: 0, count: k * d)
        sums.withUnsafeMutableBufferPointer { acc in
            for i in 0..<x.rows {
                let dst = acc.baseAddress! + Int(labels.codes[i]) * d
                for t in x.start(i)..<x.end(i) { dst[Int(x.indices[t])] += Double(x.data[t]) }
            }
        }
        for c in 0..<k {
            let inv = 1 / Double(labels.counts[c])
            for j in 0..<d { sums[c * d + j] *= inv }
        }
        self.init(centroids: sums, classCount: k, dims: d)
    }

    /// Per class: (sum of squared distances to the centroid, sum of distances), exact per row.
    package func dispersions<T: LaminaFloat>(_ x: CSRViewOf<T>, labels: EncodedLabels) -> (squared: [Double], plain: [Double]) {
        let k = classCount, d = dims
        var norms = [Double](repeating: 0, count: k)
        for c in 0..<k { for j in 0..<d { norms[c] += centroids[c * d + j] * centroids[c * d + j] } }
        return centroids.withUnsafeBufferPointer { c in
            dispersions(rows: x.rows, labels: labels) { i, cls in
                x.squaredDistance(i, to: c.baseAddress! + cls * d, centerNorm: norms[cls])
            }
        }
    }
}

/// The dense float64 centroids of sparse rows (k x d) must fit in memory: refused with
/// LAMINA_ERR_OUT_OF_MEMORY instead of aborting.
func reserveCentroids(_ k: Int, _ d: Int) throws {
    let (cells, overflow) = k.multipliedReportingOverflow(by: d)
    let bytes = overflow || cells > Int.max / 16 ? Int.max : cells * 16
    try Memory.reserve(bytes, "the dense centroids of sparse x (\(k) classes x \(d) features, float64)")
}

func checkRowsMatch(_ rows: Int, _ labels: EncodedLabels) throws {
    if rows != labels.count {
        throw LaminaError.shape("labels has \(labels.count) entries; expected one per row of x (\(rows))")
    }
}

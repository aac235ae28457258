/// Per-class centroids and dispersions in float64.
package struct ClassCentroids: Sendable {
    package let centroids: [Double]          // classCount x d
    package let classCount: Int
    package let dims: Int

    package init<T: LaminaFloat>(_ x: MatrixViewOf<T>, labels: EncodedLabels) {
        let k = labels.classCount, d = x.cols
        // Fixed chunks of rows, per-chunk partial sums, combined in chunk order: deterministic. The
        // chunk depends only on the sizes; partial sums stay under ~256 MB with many classes.
        let maxParts = max(1, (256 << 20) / max(1, k * d * MemoryLayout<Double>.size))
        let chunk = max(2048, (x.rows + maxParts - 1) / maxParts)
        let partials = Parallel.mapChunks(count: x.rows, chunk: chunk) { range -> [Double] in
            var s = [Double](repeating: 0, count: k * d)
            s.withUnsafeMutableBufferPointer { acc in
                labels.codes.withUnsafeBufferPointer { codes in
                    for i in range {
                        let row = x.row(i), dst = acc.baseAddress! + Int(codes[i]) * d
                        for j in 0..<d { dst[j] += Double(row[j]) }
                    }
                }
            }
            return s
        }
        var sums = [Double](repeating: 0, count: k * d)
        for p in partials { for t in 0..<(k * d) { sums[t] += p[t] } }
        for c in 0..<k {
            let inv = 1 / Double(labels.counts[c])
            for j in 0..<d { sums[c * d + j] *= inv }
        }
        centroids = sums
        classCount = k
        dims = d
    }

    package init(centroids: [Double], classCount: Int, dims: Int) {
        self.centroids = centroids
        self.classCount = classCount
        self.dims = dims
    }

    @inline(__always) package func distance(_ a: Int, _ b: Int) -> Double {
        centroids.withUnsafeBufferPointer { c in
            Reduce.squaredDistance(c.baseAddress! + a * dims, c.baseAddress! + b * dims, dims).squareRoot()
        }
    }

    /// Per class: (sum of squared distances to the centroid, sum of distances to the centroid).
    package func dispersions<T: LaminaFloat>(_ x: MatrixViewOf<T>, labels: EncodedLabels) -> (squared: [Double], plain: [Double]) {
        let d = dims
        return centroids.withUnsafeBufferPointer { c in
            dispersions(rows: x.rows, labels: labels) { i, cls in T.squaredDistance(x.row(i), c.baseAddress! + cls * d, d) }
        }
    }

    /// The per-class sums of `squaredDistance(row, its class)` and of its square root, in parallel chunks
    /// of rows (the dense and CSR dispersions differ only in that distance).
    func dispersions(rows: Int, labels: EncodedLabels,
                     squaredDistance: (Int, Int) -> Double) -> (squared: [Double], plain: [Double]) {
        let k = classCount
        let partials = Parallel.mapChunks(count: rows, chunk: 2048) { range -> [Double] in
            var s = [Double](repeating: 0, count: 2 * k)
            labels.codes.withUnsafeBufferPointer { codes in
                for i in range {
                    let cls = Int(codes[i])
                    let sq = squaredDistance(i, cls)
                    s[cls] += sq
                    s[k + cls] += sq.squareRoot()
                }
            }
            return s
        }
        var total = [Double](repeating: 0, count: 2 * k)
        for p in partials { for t in 0..<(2 * k) { total[t] += p[t] } }
        return (Array(total[0..<k]), Array(total[k..<(2 * k)]))
    }
}

/// scikit-learn's `check_number_of_labels`: internal indices need 2 <= classes <= n - 1.
func checkLabelCount(_ labels: EncodedLabels) throws {
    let k = labels.classCount, n = labels.count
    if k < 2 || k > n - 1 {
        throw LaminaError.invalid("Number of labels is \(k). Valid values are 2 to n_samples - 1 (inclusive)")
    }
}

func checkRowsMatch<T: LaminaFloat>(_ x: MatrixViewOf<T>, _ labels: EncodedLabels) throws {
    if x.rows != labels.count {
        throw LaminaError.shape("labels has \(labels.count) entries; expected one per row of x (\(x.rows))")
    }
}

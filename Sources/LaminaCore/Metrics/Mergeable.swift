// Mergeable (partial / merge / finalize) forms of Calinski-Harabasz and Davies-Bouldin: the sufficient
// statistics of a shard add up, so shards that never meet on one machine can be combined by any
// map-reduce (header section 16). Two passes: class sums and counts give the centroids; the per-class
// sums of squared and plain distances to those centroids then give both indices without cancellation.
// Everything is float64.
package enum MergeableIndices {
    /// Adds per-class counts and coordinate sums of rows x (labels in 0..<k) into counts (k), sums (k x d).
    package static func classSums(_ x: MatrixView, labels: UnsafePointer<Int32>, k: Int,
                                  counts: UnsafeMutablePointer<Int64>, sums: UnsafeMutablePointer<Double>) {
        let d = x.cols
        for r in 0..<x.rows {
            let c = Int(labels[r]), row = x.base + r * d, s = sums + c * d
            counts[c] += 1
            for j in 0..<d { s[j] += Double(row[j]) }
        }
    }

    /// centroids (k x d) = sums / counts (0 for an empty class).
    package static func centroids(k: Int, d: Int, counts: UnsafePointer<Int64>, sums: UnsafePointer<Double>,
                                  into out: UnsafeMutablePointer<Double>) {
        for c in 0..<k {
            let inv = counts[c] > 0 ? 1 / Double(counts[c]) : 0
            for j in 0..<d { out[c * d + j] = counts[c] > 0 ? sums[c * d + j] * inv : 0 }
        }
    }

    /// Adds per-class sum ||x - c_label||^2 into sq (k) and sum ||x - c_label|| into dist (k).
    package static func classSpread(_ x: MatrixView, labels: UnsafePointer<Int32>, k: Int, centroids: UnsafePointer<Double>,
                                    sq: UnsafeMutablePointer<Double>, dist: UnsafeMutablePointer<Double>) {
        let d = x.cols
        for r in 0..<x.rows {
            let c = Int(labels[r]), row = x.base + r * d, cen = centroids + c * d
            var s = 0.0
            for j in 0..<d { let t = Double(row[j]) - cen[j]; s += t * t }
            sq[c] += s
            dist[c] += s.squareRoot()
        }
    }

    /// CH = [B / (k' - 1)] / [W / (n - k')] over the k' non-empty classes: B = sum n_c ||c_c - mean||^2,
    /// W = sum of sq. 1 when W = 0 (scikit-learn's convention).
    package static func calinskiHarabasz(k: Int, d: Int, counts: UnsafePointer<Int64>, sums: UnsafePointer<Double>,
                                         sq: UnsafePointer<Double>) throws -> Double {
        var n = 0.0, present = 0
        var mean = [Double](repeating: 0, count: d)
        for c in 0..<k where counts[c] > 0 {
            present += 1; n += Double(counts[c])
            for j in 0..<d { mean[j] += sums[c * d + j] }
        }
        if present < 2 || Double(present) >= n {
            throw LaminaError.invalid("the merged statistics have \(present) non-empty clusters for \(Int(n)) samples; expected 2 <= clusters < samples")
        }
        for j in 0..<d { mean[j] /= n }
        var between = 0.0, within = 0.0
        for c in 0..<k where counts[c] > 0 {
            var s = 0.0
            for j in 0..<d { let t = sums[c * d + j] / Double(counts[c]) - mean[j]; s += t * t }
            between += Double(counts[c]) * s
            within += sq[c]
        }
        if within == 0 { return 1 }
        return between * (n - Double(present)) / (within * Double(present - 1))
    }

    /// DB = mean_i max_{j != i} (s_i + s_j) / ||c_i - c_j|| over the non-empty classes, s_i = dist_i / n_i;
    /// 0 when every s_i or every centroid distance is 0; a pair at distance 0 is skipped (scikit-learn).
    package static func daviesBouldin(k: Int, d: Int, counts: UnsafePointer<Int64>, sums: UnsafePointer<Double>,
                                      dist: UnsafePointer<Double>) throws -> Double {
        let idx = (0..<k).filter { counts[$0] > 0 }
        if idx.count < 2 {
            throw LaminaError.invalid("the merged statistics have \(idx.count) non-empty clusters; expected at least 2")
        }
        let m = idx.count
        var cen = [Double](repeating: 0, count: m * d), s = [Double](repeating: 0, count: m)
        for (a, c) in idx.enumerated() {
            for j in 0..<d { cen[a * d + j] = sums[c * d + j] / Double(counts[c]) }
            s[a] = dist[c] / Double(counts[c])
        }
        var cd = [Double](repeating: 0, count: m * m)
        for a in 0..<m { for b in 0..<m {
            var t = 0.0
            for j in 0..<d { let u = cen[a * d + j] - cen[b * d + j]; t += u * u }
            cd[a * m + b] = t.squareRoot()
        } }
        // scikit-learn: 0 if all intra distances or all centroid distances are ~0 (np.allclose).
        if s.allSatisfy({ abs($0) <= 1e-8 }) || cd.allSatisfy({ abs($0) <= 1e-8 }) { return 0 }
        var total = 0.0
        for a in 0..<m {
            var best = -Double.infinity
            for b in 0..<m where b != a && cd[a * m + b] > 0 { best = max(best, (s[a] + s[b]) / cd[a * m + b]) }
            total += best.isFinite ? best : 0
        }
        return total / Double(m)
    }
}

/// FLARE, the split-and-stability variant: issue 11's reading of the paper's text (Hou et al., "Toward
/// Universal Dataset Purification against Backdoor Attacks", TIFS 2025: aggregate per-layer features,
/// select the layer subset that best splits the data in two, flag the more stable cluster). FLARE.detect
/// follows the released code instead (HDBSCAN and its condensed-tree walk); the two differ. The w loop
/// follows the paper's text (the released loop exits at w = 0).
///   For w = 0, 1, ..., L - 1 (exclude the deepest w columns):
///   1. z = the first L - w columns, each z-scored (FLARE.standardised: population std; constant -> 0).
///   2. Split in two (`twoMeans`): 2-means started from the sign of the projection on the first principal
///      component of the (weighted) centred rows (Ding & He 2004): label 1 where (z_i - mean) . v > 0, v
///      the unit eigenvector of the largest eigenvalue of sum_i m_i (z_i - mean)(z_i - mean)^T with its
///      entry of largest magnitude positive (the first such entry on ties); then Lloyd iterations (weighted
///      centres, each row to the nearer centre, the centre of label 1 only when strictly nearer) until no
///      label changes or max_iter iterations. A side left empty at a centre update: no split for this w.
///   3. Stability of each of the two clusters (Hennig 2007, fpc::clusterboot's clusterwise Jaccard
///      bootstrap): for each resample b (n rows drawn with replacement; m_i = multiplicity of row i), split
///      the resample the same way (weights m; no split = one cluster holding every row) and take
///      gamma_kb = max over the resample's clusters D of sum m [C_k and D] / sum m [C_k or D]
///      with C_k = cluster k restricted to the resample; stability_k = mean of gamma_kb over the resamples
///      where C_k has a member (0 if none). The same B resamples serve every w.
///   Chosen w: the one whose weaker cluster is most stable (max over w of min_k stability_k; ties: smallest
///   w). Flagged: the more stable cluster of that w (equal stabilities: the smaller cluster; equal sizes:
///   cluster 0). Score: d^2(z_i, other centre) - d^2(z_i, flagged centre) in the chosen subspace.
///   Resample b: row floor(u * n) for each of n draws, u = Xoshiro256(seed, stream: b).nextUnit(), or the
///   caller's B x n row indices. Resamples run in parallel, each on its own stream, and their gammas are
///   summed in resample order: results do not depend on the thread count.
package enum FLARESplit {
    package struct Detection {
        /// False when no w gives a split (every column constant, ...): flags 0, scores NaN, w = -1.
        package var found: Bool
        package var excluded: Int
        package var flags: [Int32]
        package var scores: [Double]
        /// 0 / 1: the two clusters of the chosen w (all 0 when nothing was found).
        package var labels: [Int32]
        /// Stability of cluster 0 and cluster 1 of the chosen w (NaN when nothing was found).
        package var stability: [Double]
        /// L x 2 row-major: the stabilities of each w's two clusters, NaN where w gives no split.
        package var table: [Double]
        /// The flagged cluster (0 or 1; -1 when nothing was found).
        package var flagged: Int
    }

    /// Where the bootstrap resamples come from.
    package enum Resamples {
        /// `count` resamples, resample b drawn from Xoshiro256(seed: seed, stream: b).
        case seeded(seed: UInt64, count: Int)
        /// The caller's row indices, B x n row-major, each in 0..<n (checked by the caller).
        case given(UnsafeBufferPointer<Int64>)
    }

    package static func checkParameters(rows n: Int, cols L: Int, resamples: Int, maxIterations: Int) throws {
        if n < 4 { throw LaminaError.invalid("n is \(n); expected >= 4 rows (samples)") }
        if L < 1 { throw LaminaError.invalid("n_layers is \(L); expected >= 1 (one column per layer)") }
        if resamples < 1 { throw LaminaError.invalid("n_boot is \(resamples); expected >= 1 bootstrap resamples") }
        if maxIterations < 1 { throw LaminaError.invalid("max_iter is \(maxIterations); expected >= 1") }
    }

    /// features: n x L float64, finite.
    package static func detect(_ features: [Double], rows n: Int, cols L: Int, resamples: Resamples,
                               maxIterations: Int) throws -> Detection {
        let count: Int
        switch resamples {
        case .seeded(_, let b): count = b
        case .given(let p): count = p.count / max(n, 1)
        }
        try checkParameters(rows: n, cols: L, resamples: count, maxIterations: maxIterations)
        var table = [Double](repeating: .nan, count: L * 2)
        var best: (score: Double, w: Int, labels: [Int32], centres: [Double], z: [Double])? = nil
        for w in 0..<L {
            let d = L - w
            let z = FLARE.standardised(features, rows: n, cols: L, keep: d)
            var labels = [Int32](repeating: 0, count: n)
            var centres = [Double](repeating: 0, count: 2 * d)
            let split = try z.withUnsafeBufferPointer { zp in
                try labels.withUnsafeMutableBufferPointer { lp in
                    try centres.withUnsafeMutableBufferPointer { cp in
                        try twoMeans(zp.baseAddress!, rows: n, cols: d, weights: nil, maxIterations: maxIterations,
                                     labels: lp.baseAddress!, centres: cp.baseAddress!)
                    }
                }
            }
            if !split { continue }
            let g = try stability(z, rows: n, cols: d, labels: labels, resamples: resamples, count: count,
                                  maxIterations: maxIterations)
            table[2 * w] = g[0]; table[2 * w + 1] = g[1]
            let score = min(g[0], g[1])
            if best == nil || score > best!.score { best = (score, w, labels, centres, z) }
        }
        guard let chosen = best else {
            return Detection(found: false, excluded: -1, flags: [Int32](repeating: 0, count: n),
                             scores: [Double](repeating: .nan, count: n), labels: [Int32](repeating: 0, count: n),
                             stability: [.nan, .nan], table: table, flagged: -1)
        }
        let g = [table[2 * chosen.w], table[2 * chosen.w + 1]]
        let flagged: Int
        if g[0] != g[1] { flagged = g[0] > g[1] ? 0 : 1 } else {
            let ones = chosen.labels.reduce(0) { $0 + Int($1) }
            flagged = ones < n - ones ? 1 : 0
        }
        let d = L - chosen.w
        var scores = [Double](repeating: 0, count: n)
        chosen.z.withUnsafeBufferPointer { zp in
            chosen.centres.withUnsafeBufferPointer { cp in
                let mine = cp.baseAddress! + flagged * d, other = cp.baseAddress! + (1 - flagged) * d
                for i in 0..<n {
                    let row = zp.baseAddress! + i * d
                    scores[i] = squaredDistance(row, other, d) - squaredDistance(row, mine, d)
                }
            }
        }
        return Detection(found: true, excluded: chosen.w, flags: chosen.labels.map { Int32($0 == Int32(flagged) ? 1 : 0) },
                         scores: scores, labels: chosen.labels, stability: g, table: table, flagged: flagged)
    }

    @inline(__always)
    static func squaredDistance(_ x: UnsafePointer<Double>, _ c: UnsafePointer<Double>, _ d: Int) -> Double {
        var s = 0.0
        for j in 0..<d { let u = x[j] - c[j]; s += u * u }
        return s
    }

    /// The PC-started weighted 2-means of m rows of z (row-major m x d; weights > 0, nil = 1), as the type's
    /// comment states. Writes labels (m, 0 / 1) and the centres (2 x d) of the last update; returns false
    /// when a side is empty at a centre update (no split).
    static func twoMeans(_ z: UnsafePointer<Double>, rows m: Int, cols d: Int, weights: UnsafePointer<Double>?,
                         maxIterations: Int, labels: UnsafeMutablePointer<Int32>,
                         centres: UnsafeMutablePointer<Double>) throws -> Bool {
        // Scratch: mean (d), centred row (d), centre sums (2 d).
        let scratch = UnsafeMutablePointer<Double>.allocate(capacity: 4 * d)
        defer { scratch.deallocate() }
        scratch.initialize(repeating: 0, count: 4 * d)
        let mean = scratch, c = scratch + d, sums = scratch + 2 * d
        // Weighted mean and scatter (upper triangle, row-major) of the rows.
        var total = 0.0
        for i in 0..<m {
            let w = weights?[i] ?? 1, row = z + i * d
            total += w
            for j in 0..<d { mean[j] += w * row[j] }
        }
        for j in 0..<d { mean[j] /= total }
        var scatter = [Double](repeating: 0, count: d * d)
        scatter.withUnsafeMutableBufferPointer { sp in
            let s = sp.baseAddress!
            for i in 0..<m {
                let w = weights?[i] ?? 1, row = z + i * d
                for j in 0..<d { c[j] = row[j] - mean[j] }
                for a in 0..<d {
                    let wa = w * c[a], out = s + a * d
                    for b in a..<d { out[b] += wa * c[b] }
                }
            }
        }
        var v = try PCA.topEigenvectors(of: &scatter, dimension: d, count: 1)
        var largest = 0
        for j in 1..<max(d, 1) where abs(v[j]) > abs(v[largest]) { largest = j }
        if v[largest] < 0 { for j in 0..<d { v[j] = -v[j] } }
        v.withUnsafeBufferPointer { vp in
            for i in 0..<m {
                let row = z + i * d
                var p = 0.0
                for j in 0..<d { p += (row[j] - mean[j]) * vp[j] }
                labels[i] = p > 0 ? 1 : 0
            }
        }
        // Lloyd to a fixed point.
        let centre1 = centres + d
        for _ in 0..<maxIterations {
            sums.update(repeating: 0, count: 2 * d)
            var mass0 = 0.0, mass1 = 0.0
            for i in 0..<m {
                let w = weights?[i] ?? 1, row = z + i * d
                let k = Int(labels[i])
                if k == 0 { mass0 += w } else { mass1 += w }
                let acc = sums + k * d
                for j in 0..<d { acc[j] += w * row[j] }
            }
            if !(mass0 > 0) || !(mass1 > 0) { return false }
            for j in 0..<d { centres[j] = sums[j] / mass0; centre1[j] = sums[d + j] / mass1 }
            var changed = false
            for i in 0..<m {
                let row = z + i * d
                let label: Int32 = squaredDistance(row, centre1, d) < squaredDistance(row, centres, d) ? 1 : 0
                if label != labels[i] { labels[i] = label; changed = true }
            }
            if !changed { break }
        }
        return true
    }

    /// Stability of the two clusters of `labels` on z (n x d): Hennig's clusterwise Jaccard bootstrap.
    static func stability(_ z: [Double], rows n: Int, cols d: Int, labels: [Int32], resamples: Resamples, count: Int,
                          maxIterations: Int) throws -> [Double] {
        let gammas: [(Double, Double)] = try ProbeTasks.parallelItems(count) { b in
            // Multiplicities of resample b.
            var multiplicity = [Int](repeating: 0, count: n)
            switch resamples {
            case .seeded(let seed, _):
                var rng = Xoshiro256(seed: seed, stream: b)
                for _ in 0..<n { multiplicity[Int(rng.nextUnit() * Double(n))] += 1 }
            case .given(let rows):
                for t in 0..<n { multiplicity[Int(rows[b * n + t])] += 1 }
            }
            // The drawn rows, compacted, with their multiplicities as weights.
            var rowsDrawn: [Int] = []
            rowsDrawn.reserveCapacity(n)
            for i in 0..<n where multiplicity[i] > 0 { rowsDrawn.append(i) }
            let m = rowsDrawn.count
            var zb = [Double](repeating: 0, count: m * d), wb = [Double](repeating: 0, count: m)
            z.withUnsafeBufferPointer { zp in
                for (r, i) in rowsDrawn.enumerated() {
                    wb[r] = Double(multiplicity[i])
                    for j in 0..<d { zb[r * d + j] = zp[i * d + j] }
                }
            }
            var boot = [Int32](repeating: 0, count: m), centres = [Double](repeating: 0, count: 2 * d)
            let split = try zb.withUnsafeBufferPointer { zp in
                try wb.withUnsafeBufferPointer { wp in
                    try boot.withUnsafeMutableBufferPointer { bp in
                        try centres.withUnsafeMutableBufferPointer { cp in
                            try twoMeans(zp.baseAddress!, rows: m, cols: d, weights: wp.baseAddress!,
                                         maxIterations: maxIterations, labels: bp.baseAddress!, centres: cp.baseAddress!)
                        }
                    }
                }
            }
            if !split { for r in 0..<m { boot[r] = 0 } }
            // counts[k][j]: multiplicity-weighted rows in cluster k of the data and cluster j of the resample.
            var counts = (0.0, 0.0, 0.0, 0.0)
            for r in 0..<m {
                let w = wb[r]
                switch (labels[rowsDrawn[r]], boot[r]) {
                case (0, 0): counts.0 += w
                case (0, _): counts.1 += w
                case (_, 0): counts.2 += w
                default: counts.3 += w
                }
            }
            let inK = (counts.0 + counts.1, counts.2 + counts.3), inJ = (counts.0 + counts.2, counts.1 + counts.3)
            func gamma(_ size: Double, _ a: Double, _ b: Double) -> Double {
                if size == 0 { return .nan }
                return max(a / (size + inJ.0 - a), b / (size + inJ.1 - b))
            }
            return (gamma(inK.0, counts.0, counts.1), gamma(inK.1, counts.2, counts.3))
        }
        var sum = (0.0, 0.0), present = (0, 0)
        for g in gammas {
            if !g.0.isNaN { sum.0 += g.0; present.0 += 1 }
            if !g.1.isNaN { sum.1 += g.1; present.1 += 1 }
        }
        return [sum.0 / Double(max(present.0, 1)), sum.1 / Double(max(present.1, 1))]
    }
}

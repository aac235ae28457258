import CBLAS

/// Representational similarity analysis (Kriegeskorte, Mur & Bandettini 2008): a representational
/// dissimilarity matrix (RDM) per representation, compared on its condensed upper triangle (scipy's
/// order: (0,1), (0,2), ..., (1,2), ...).
package enum RSA {
    package enum Metric: Int32, Sendable, CaseIterable {
        /// ||x_i - x_j||_2 (scipy.spatial.distance.pdist "euclidean").
        case euclidean = 0
        /// 1 - Pearson correlation of the two rows (pdist "correlation").
        case correlation = 1
        /// 1 - x_i.x_j / (||x_i|| ||x_j||) (pdist "cosine").
        case cosine = 2
    }

    package enum Method: Int32, Sendable, CaseIterable {
        /// Pearson correlation of the rank vectors, ties given their average rank (scipy.stats.spearmanr).
        case spearman = 0
        /// Pearson correlation (scipy.stats.pearsonr).
        case pearson = 1
        /// Kendall's tau-a, (concordant - discordant) / (m (m - 1) / 2), tied pairs counting as neither
        /// (rsatoolbox's "tau-a"; scipy.stats.kendalltau offers only tau-b and tau-c).
        case kendallTauA = 2
        /// Cosine similarity of the two condensed vectors, sum a_k b_k / sqrt(sum a_k^2 sum b_k^2) (Pearson
        /// without the centring; rsatoolbox.rdm.compare(method="cosine")).
        case cosine = 3

        /// Spearman and Kendall rank the pairs (materialised, capped); Pearson and cosine are product
        /// moments (streamed by tiles in `rsa`, no cap).
        package var ranks: Bool { self == .spearman || self == .kendallTauA }
    }

    /// Largest condensed vector the exact (materialised) paths accept: 2^26 pairs (n <= 11585). Spearman
    /// and Kendall keep both pair vectors (16 bytes per pair), the radix-sorted (value, index) records of
    /// both (32) and the ranks (8): about 56 bytes per pair at the peak (3.5 GiB at the cap). Pearson and
    /// cosine are streamed by tiles and have no cap.
    package static let pairCap = 1 << 26
    static let tile = 256

    /// Rows of x prepared for the metric, float64: euclidean -> column-centred (distances unchanged);
    /// correlation -> each row centred on its own mean and scaled to unit norm; cosine -> unit norm.
    struct Prepared {
        let values: [Double]
        let norms: [Double]
        let rows: Int
        let cols: Int
        let metric: Metric
        let source: MatrixView
    }

    static func prepare(_ x: MatrixView, _ metric: Metric, _ name: String) throws -> Prepared {
        let n = x.rows, d = x.cols
        var values = [Double](repeating: 0, count: n * d)
        var norms = [Double](repeating: 0, count: n)
        var mean = [Double](repeating: 0, count: d)
        if metric == .euclidean {
            mean.withUnsafeMutableBufferPointer { a in
                for r in 0..<n { Reduce.accumulate(x.row(r), into: a.baseAddress!, d) }
                for c in 0..<d { a[c] /= Double(n) }
            }
        }
        for r in 0..<n {
            let src = x.row(r)
            var shift = 0.0
            if metric == .correlation { shift = Reduce.sum(src, d) / Double(d) }
            var s = 0.0
            for c in 0..<d {
                let t = Double(src[c]) - (metric == .euclidean ? mean[c] : shift)
                values[r * d + c] = t
                s += t * t
            }
            if metric != .euclidean {
                if s == 0 {
                    let what = metric == .cosine ? "is all zeros" : "is constant"
                    throw LaminaError.invalid("row \(r) of \(name) \(what); its \(metric == .cosine ? "cosine" : "correlation") distance is undefined (0/0)")
                }
                let inv = 1 / s.squareRoot()
                for c in 0..<d { values[r * d + c] *= inv }
                s = 1
            }
            norms[r] = s
        }
        return Prepared(values: values, norms: norms, rows: n, cols: d, metric: metric, source: x)
    }

    /// Dissimilarities of rows i0..<i1 against columns j0..<j1 into out (ld j1 - j0).
    static func dissimilarityTile(_ p: Prepared, _ i0: Int, _ i1: Int, _ j0: Int, _ j1: Int, _ out: UnsafeMutablePointer<Double>) {
        let mi = i1 - i0, mj = j1 - j0, d = p.cols
        p.values.withUnsafeBufferPointer { v in
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(mi), Int32(mj), Int32(d), 1,
                        v.baseAddress! + i0 * d, Int32(d), v.baseAddress! + j0 * d, Int32(d), 0, out, Int32(mj))
        }
        switch p.metric {
        case .euclidean:
            for a in 0..<mi {
                let ni = p.norms[i0 + a]
                for b in 0..<mj {
                    let nj = p.norms[j0 + b]
                    var t = ni + nj - 2 * out[a * mj + b]; _ = t
                    // The float64 difference of the float32 inputs, scipy's value: the gemm form rounds
                    // differently, which would split exact ties and change the ranks.
                    do {
                        let xi = p.source.row(i0 + a), xj = p.source.row(j0 + b)
                        var s = 0.0
                        var acc = SIMD8<Double>()
                        var c = 0
                        while c + 8 <= d {
                            let u = SIMD8<Double>(UnsafeRawPointer(xi + c).loadUnaligned(as: SIMD8<Float>.self))
                                - SIMD8<Double>(UnsafeRawPointer(xj + c).loadUnaligned(as: SIMD8<Float>.self))
                            acc.addProduct(u, u)
                            c += 8
                        }
                        s = acc.sum()
                        while c < d { let u = Double(xi[c]) - Double(xj[c]); s += u * u; c += 1 }
                        t = s
                    }
                    out[a * mj + b] = max(0, t).squareRoot()
                }
            }
        case .correlation, .cosine:
            // 1 - u.v of the unit rows. Near 0 that difference is all rounding (identical rows would get
            // ~1e-16 instead of scipy's exact 0, so an RDM of identical rows would not be all zeros, nor
            // equal rows tie with the exact zeros of other pairs): below `near`, ||u - v||^2 / 2 (equal for
            // unit rows) is computed directly, accurate to its last bits and exactly 0 for identical rows.
            let near = 0x1p-20
            p.values.withUnsafeBufferPointer { v in
                for a in 0..<mi {
                    let u = v.baseAddress! + (i0 + a) * d
                    for b in 0..<mj {
                        let t = 1 - out[a * mj + b]
                        out[a * mj + b] = t
                        if t >= near || j0 + b <= i0 + a { continue }
                        out[a * mj + b] = Reduce.squaredDistance(u, v.baseAddress! + (j0 + b) * d, d) / 2
                    }
                }
            }
        }
    }

    static func condensedCount(_ n: Int) -> Int { n * (n - 1) / 2 }

    /// Refuses keeping the n (n - 1) / 2 pairs of n rows over `pairCap`: an RDM (`ranking` nil) or the
    /// ranked pairs of a Spearman / tau-a RSA. Decided from n alone (any Int64, no overflow), so the C
    /// boundary calls it before reading a row.
    package static func checkPairCap(rows n: Int64, ranking: Method? = nil) throws {
        if n < 2 { return }
        let (product, overflow) = n.multipliedReportingOverflow(by: n - 1)
        if !overflow && product / 2 <= Int64(pairCap) { return }
        let pairs = overflow ? "more than \(Int64.max / 2)" : "\(product / 2)"
        if let ranking {
            throw LaminaError(.outOfMemory, "\(ranking == .spearman ? "spearman" : "kendall_tau_a") RSA of n = \(n) rows ranks \(pairs) pairs; the cap is \(pairCap) (n <= 11585); use pearson or cosine (streamed) for larger n")
        }
        throw LaminaError(.outOfMemory, "the RDM of n = \(n) rows has \(pairs) pairs; the cap is \(pairCap) (n <= 11585)")
    }

    /// The condensed RDM (n (n - 1) / 2 values, scipy order).
    package static func rdm(_ x: MatrixView, metric: Metric) throws -> [Double] {
        let n = x.rows
        if n < 2 { throw LaminaError.invalid("n is \(n); an RDM needs n >= 2 rows") }
        try checkPairCap(rows: Int64(n))
        return try condensed(prepare(x, metric, "x"))
    }

    static func condensed(_ p: Prepared) -> [Double] {
        let n = p.rows
        let blocks = (n + tile - 1) / tile
        var out = [Double](repeating: 0, count: condensedCount(n))
        out.withUnsafeMutableBufferPointer { o in
            let op = o.baseAddress!
            Parallel.forEachTask(blocks) { bi in
                let i0 = bi * tile, i1 = min(n, i0 + tile)
                let buf = UnsafeMutablePointer<Double>.allocate(capacity: tile * (n - i0))
                defer { buf.deallocate() }
                dissimilarityTile(p, i0, i1, i0, n, buf)
                let ld = n - i0
                for i in i0..<i1 {
                    let base = i * n - i * (i + 1) / 2 - i - 1
                    for j in (i + 1)..<max(n, i + 1) { op[base + j] = buf[(i - i0) * ld + (j - i0)] }
                }
            }
        }
        return out
    }

    /// RSA of two representations of the same n inputs: compare their RDMs.
    package static func rsa(_ x: MatrixView, _ y: MatrixView, metric: Metric, method: Method) throws -> Double {
        let n = x.rows
        if y.rows != n { throw LaminaError.shape("y has \(y.rows) rows; expected \(n) (the rows of x: the same inputs)") }
        if n < 3 { throw LaminaError.invalid("n is \(n); RSA needs n >= 3 rows (at least 3 pairs to correlate)") }
        let px = try prepare(x, metric, "x"), py = try prepare(y, metric, "y")
        if !method.ranks { return try streamedProductMoment(px, py, centred: method == .pearson) }
        try checkPairCap(rows: Int64(n), ranking: method)
        let a = condensed(px), b = condensed(py)
        return try a.withUnsafeBufferPointer { ap in try b.withUnsafeBufferPointer { bp in try correlate(ap, bp, method: method) } }
    }

    /// Correlation of two condensed RDMs, read in place (no copy: a caller's m of any size costs no
    /// allocation for Pearson and cosine).
    package static func compare(_ a: UnsafeBufferPointer<Double>, _ b: UnsafeBufferPointer<Double>,
                                method: Method) throws -> Double {
        if a.count != b.count { throw LaminaError.shape("the RDMs have \(a.count) and \(b.count) entries; expected equal lengths") }
        if a.count < 2 { throw LaminaError.invalid("the RDMs have \(a.count) entries; expected >= 2") }
        if method.ranks && a.count > pairCap {
            throw LaminaError(.outOfMemory, "m is \(a.count); ranking methods accept at most \(pairCap) pairs")
        }
        for (k, v) in a.enumerated() where !v.isFinite { throw LaminaError(.nonFinite, "rdm1 contains \(v) at \(k); expected finite values") }
        for (k, v) in b.enumerated() where !v.isFinite { throw LaminaError(.nonFinite, "rdm2 contains \(v) at \(k); expected finite values") }
        return try correlate(a, b, method: method)
    }

    /// Correlation of two condensed RDMs of equal length with finite values. Spearman and Kendall rank
    /// by an exact radix sort of the values (RankSort), the two vectors as two tasks.
    static func correlate(_ ap: UnsafeBufferPointer<Double>, _ bp: UnsafeBufferPointer<Double>,
                          method: Method) throws -> Double {
        let m = ap.count
        let va = RankSort.Values(base: ap.baseAddress!), vb = RankSort.Values(base: bp.baseAddress!)
        switch method {
        case .pearson, .cosine: return try productMoment(ap, bp, centred: method == .pearson)
        case .spearman:
            let (rho, constant) = try RankSort.spearman(va, vb, count: m)
            if let constant {
                throw LaminaError.invalid("the ranks of the \(constant == 0 ? "first" : "second") RDM are constant; the correlation is undefined")
            }
            return rho
        case .kendallTauA: return try RankSort.kendallTauA(va, vb, count: m)
        }
    }

    /// The error for a zero second moment: a constant RDM (Pearson: centred) or an all-zero RDM (cosine).
    static func undefinedComparison(first: Bool, centred: Bool) -> LaminaError {
        let which = first ? "first" : "second"
        if centred {
            return LaminaError.invalid("the \(which) RDM is constant (all pairs equally dissimilar); the correlation is undefined")
        }
        return LaminaError.invalid("the \(which) RDM is all zeros (no pair is dissimilar, e.g. all rows identical); the cosine similarity is undefined (0/0)")
    }

    /// A power of two that brings the largest |v| of v near 1 (2^-e for 2^e <= max |v| < 2^(e+1), e kept
    /// in [-1000, 1000]): multiplying by it is exact and leaves Pearson and cosine unchanged, and the sums
    /// of squares of the scaled values can neither overflow nor underflow whatever the RDM's units.
    static func unitScale(_ v: UnsafeBufferPointer<Double>) -> Double {
        var largest = 0.0
        for x in v { largest = max(largest, abs(x)) }
        if largest == 0 { return 1 }
        return Double(sign: .plus, exponent: -min(1000, max(-1000, largest.exponent)), significand: 1)
    }

    /// Pearson correlation (centred: the vectors minus their means) or cosine similarity (not centred)
    /// of two given condensed RDMs: sum u_k v_k / sqrt(sum u_k^2 sum v_k^2), float64, each vector first
    /// scaled by `unitScale` (exact).
    static func productMoment(_ ap: UnsafeBufferPointer<Double>, _ bp: UnsafeBufferPointer<Double>,
                              centred: Bool) throws -> Double {
        let m = ap.count
        let ka = unitScale(ap), kb = unitScale(bp)
        var ma = 0.0, mb = 0.0
        if centred {
            for k in 0..<m { ma += ap[k] * ka; mb += bp[k] * kb }
            ma /= Double(m); mb /= Double(m)
        }
        var sab = 0.0, saa = 0.0, sbb = 0.0
        for k in 0..<m {
            let u = ap[k] * ka - ma, v = bp[k] * kb - mb
            sab += u * v; saa += u * u; sbb += v * v
        }
        if saa == 0 || sbb == 0 { throw undefinedComparison(first: saa == 0, centred: centred) }
        return min(1, max(-1, sab / (saa * sbb).squareRoot()))
    }

    /// Pearson correlation (centred) or cosine similarity (not centred) of two RDMs computed tile by tile
    /// (no pair vector): per block row, the count, means and centred second moments of its pairs, merged
    /// in block order (Chan, Golub & LeVeque 1979). Cosine is the same code with the means taken as 0
    /// (raw second moments; the merge then reduces to plain sums).
    static func streamedProductMoment(_ px: Prepared, _ py: Prepared, centred: Bool) throws -> Double {
        let n = px.rows
        let blocks = (n + tile - 1) / tile
        var parts = [Double](repeating: 0, count: blocks * 6)
        parts.withUnsafeMutableBufferPointer { pp in
            let pb = pp.baseAddress!
            Parallel.forEachTask(blocks) { bi in
                let i0 = bi * tile, i1 = min(n, i0 + tile)
                let ld = n - i0
                let bx = UnsafeMutablePointer<Double>.allocate(capacity: tile * ld)
                let by = UnsafeMutablePointer<Double>.allocate(capacity: tile * ld)
                defer { bx.deallocate(); by.deallocate() }
                dissimilarityTile(px, i0, i1, i0, n, bx)
                dissimilarityTile(py, i0, i1, i0, n, by)
                var cnt = 0.0, sa = 0.0, sb = 0.0
                for i in i0..<i1 { for j in (i + 1)..<max(n, i + 1) {
                    sa += bx[(i - i0) * ld + (j - i0)]; sb += by[(i - i0) * ld + (j - i0)]; cnt += 1 } }
                if cnt == 0 { return }
                let ma = centred ? sa / cnt : 0, mb = centred ? sb / cnt : 0
                var caa = 0.0, cbb = 0.0, cab = 0.0
                for i in i0..<i1 { for j in (i + 1)..<max(n, i + 1) {
                    let u = bx[(i - i0) * ld + (j - i0)] - ma, v = by[(i - i0) * ld + (j - i0)] - mb
                    caa += u * u; cbb += v * v; cab += u * v } }
                pb[bi * 6] = cnt; pb[bi * 6 + 1] = ma; pb[bi * 6 + 2] = mb
                pb[bi * 6 + 3] = caa; pb[bi * 6 + 4] = cbb; pb[bi * 6 + 5] = cab
            }
        }
        var cnt = 0.0, ma = 0.0, mb = 0.0, caa = 0.0, cbb = 0.0, cab = 0.0
        for b in 0..<blocks where parts[b * 6] > 0 {
            let c2 = parts[b * 6], ma2 = parts[b * 6 + 1], mb2 = parts[b * 6 + 2]
            let total = cnt + c2
            let da = ma2 - ma, db = mb2 - mb
            caa += parts[b * 6 + 3] + da * da * cnt * c2 / total
            cbb += parts[b * 6 + 4] + db * db * cnt * c2 / total
            cab += parts[b * 6 + 5] + da * db * cnt * c2 / total
            ma += da * c2 / total; mb += db * c2 / total
            cnt = total
        }
        if caa == 0 || cbb == 0 { throw undefinedComparison(first: caa == 0, centred: centred) }
        return min(1, max(-1, cab / (caa * cbb).squareRoot()))
    }
}

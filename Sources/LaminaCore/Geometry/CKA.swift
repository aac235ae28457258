import CBLAS

/// Centred kernel alignment (CKA) between representations of the same n inputs.
///
/// Linear CKA (Kornblith, Norouzi, Lee & Hinton 2019, "Similarity of Neural Network Representations
/// Revisited") is computed in feature space: with X, Y centred by their float64 column means,
///     CKA(X, Y) = ||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F),
/// from d1 x d2 cross-products (float64 gemm), never an n x n Gram matrix.
///
/// Debiased CKA replaces each HSIC by the unbiased estimator of Song, Smola, Gretton, Bedo & Borgwardt
/// (2012), for K = X X^T and L = Y Y^T with zeroed diagonals (K~, L~):
///     HSIC_u(K, L) = [tr(K~ L~) + (1^T K~ 1)(1^T L~ 1) / ((n-1)(n-2)) - 2/(n-2) 1^T K~ L~ 1] / (n (n-3)).
/// HSIC_u does not change when a constant is added to the features, so X and Y are centred; then
/// K 1 = 0, and with r_i = ||x_i||^2, s_i = ||y_i||^2 (rows of the centred data):
///     tr(K~ L~) = ||X^T Y||_F^2 - r.s,  1^T K~ 1 = -sum r,  1^T L~ 1 = -sum s,  1^T K~ L~ 1 = r.s,
/// so that n (n-3) HSIC_u = ||X^T Y||_F^2 - n/(n-2) r.s + (sum r)(sum s)/((n-1)(n-2)) -- the form of
/// Kornblith et al.'s feature-space code. HSIC_u is an inner product of U-centred kernel matrices
/// (Szekely & Rizzo 2014), so debiased CKA lies in [-1, 1] (it can be slightly negative for unrelated
/// representations).
package enum CKA {
    /// Largest float64 working buffer for one chunk of rows of all layers (bytes).
    static let chunkBytes = 64 << 20

    /// The CKA matrix between the layers `a` (la of them) and `b` (lb), row-major la x lb; with `b` nil,
    /// the symmetric la x la matrix of `a` with itself. Each layer is centred once (float64 column
    /// means) and every self-Gram and cross-product is computed once, in chunks of rows, so the memory is
    /// O(sum of d_i d_j over the pairs + chunk x sum d).
    package static func matrix(_ a: [MatrixView], _ b: [MatrixView]? = nil, debiased: Bool,
                              names: ((Int) -> String)? = nil) throws -> [Double] {
        if a.isEmpty { throw LaminaError.invalid("the first list of layers is empty; expected at least one layer") }
        if let b, b.isEmpty { throw LaminaError.invalid("the second list of layers is empty; expected at least one layer") }
        let layers = a + (b ?? [])
        let la = a.count, lb = b?.count ?? a.count
        let n = layers[0].rows
        let name = names ?? { k in k < la ? "layer \(k) of the first list" : "layer \(k - la) of the second list" }
        for (k, layer) in layers.enumerated() where layer.rows != n {
            let which = name(k)
            throw LaminaError.shape("\(which) has \(layer.rows) rows; expected \(n) (the same inputs in every representation)")
        }
        if debiased && n < 4 {
            throw LaminaError.invalid("n is \(n); debiased CKA needs n >= 4 (the unbiased HSIC divides by n (n - 3))")
        }
        if n < 2 { throw LaminaError.invalid("n is \(n); CKA needs n >= 2 samples") }

        // Pairs of layers whose cross-product is needed: every diagonal, then the requested off-diagonals.
        var pairs: [(Int, Int)] = (0..<layers.count).map { ($0, $0) }
        if b == nil {
            for i in 0..<la { for j in (i + 1)..<max(la, i + 1) { pairs.append((i, j)) } }
        } else {
            for i in 0..<la { for j in 0..<lb { pairs.append((i, la + j)) } }
        }
        let stats = try accumulate(layers, pairs: pairs, wantRowNorms: debiased)

        var selfTerm = [Double](repeating: 0, count: layers.count)
        for k in 0..<layers.count {
            if stats.total[k] == 0 {
                let which = name(k)
                throw LaminaError.invalid("\(which) is constant (every feature has zero variance); CKA is undefined for it")
            }
            var h = stats.frob[k]
            if debiased { h = debiasedHSIC(h, stats, k, k, n) }
            if !(h > 0) {
                let which = name(k)
                throw LaminaError.invalid("the unbiased HSIC of \(which) with itself is \(h); expected > 0 (the representation is degenerate for debiased CKA)")
            }
            selfTerm[k] = h.squareRoot()
        }
        func value(_ p: Int) -> Double {
            let (i, j) = pairs[p]
            var h = stats.frob[p]
            if debiased { h = debiasedHSIC(h, stats, i, j, n) }
            let v = h / (selfTerm[i] * selfTerm[j])
            return debiased ? min(1, max(-1, v)) : min(1, max(0, v))
        }
        var out = [Double](repeating: 0, count: la * lb)
        for p in 0..<pairs.count {
            let (i, j) = pairs[p]
            if b == nil {
                if i == j { out[i * la + i] = 1 } else { let v = value(p); out[i * la + j] = v; out[j * la + i] = v }
            } else if i != j {
                out[i * lb + (j - la)] = value(p)
            }
        }
        return out
    }

    /// Linear (or debiased linear) CKA of two representations.
    package static func linear(_ x: MatrixView, _ y: MatrixView, debiased: Bool) throws -> Double {
        try matrix([x], [y], debiased: debiased, names: { $0 == 0 ? "x" : "y" })[0]
    }

    static func debiasedHSIC(_ frob: Double, _ s: Stats, _ i: Int, _ j: Int, _ n: Int) -> Double {
        let nd = Double(n)
        var dot = 0.0
        s.rowNorms.withUnsafeBufferPointer { all in
            let ri = all.baseAddress! + i * n, rj = all.baseAddress! + j * n
            do {
                var a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0
                var t = 0
                while t + 4 <= n {
                    a0 += ri[t] * rj[t]; a1 += ri[t + 1] * rj[t + 1]; a2 += ri[t + 2] * rj[t + 2]; a3 += ri[t + 3] * rj[t + 3]
                    t += 4
                }
                while t < n { a0 += ri[t] * rj[t]; t += 1 }
                dot = (a0 + a1) + (a2 + a3)
            }
        }
        return unbiasedHSIC(frob: frob, rowDot: dot, totalI: s.total[i], totalJ: s.total[j], n: nd)
    }

    struct Stats {
        /// ||X_i^T X_j||_F^2 per pair, in pair order.
        var frob: [Double]
        /// ||X_k||_F^2 of each centred layer.
        var total: [Double]
        /// Squared norms of the centred rows of each layer, layer-major (debiased only).
        var rowNorms: [Double]
    }

    /// Column means, then the cross-products of the requested pairs accumulated over chunks of centred
    /// float64 rows. Each pair's block is owned by one task and accumulated in chunk order, so results do
    /// not depend on the thread count.
    static func accumulate(_ layers: [MatrixView], pairs: [(Int, Int)], wantRowNorms: Bool) throws -> Stats {
        let n = layers[0].rows
        let widths = layers.map(\.cols)
        let totalWidth = widths.reduce(0, +)
        // Column means (float64), one task per layer.
        var means = [[Double]](repeating: [], count: layers.count)
        means.withUnsafeMutableBufferPointer { m in
            let mp = m.baseAddress!
            Parallel.forEachTask(layers.count) { k in
                let layer = layers[k]
                var acc = [Double](repeating: 0, count: layer.cols)
                acc.withUnsafeMutableBufferPointer { a in
                    for r in 0..<n { Reduce.accumulate(layer.row(r), into: a.baseAddress!, layer.cols) }
                    for c in 0..<layer.cols { a[c] /= Double(n) }
                }
                (mp + k).pointee = acc
            }
        }
        let chunk = max(1, min(n, chunkBytes / max(1, 8 * totalWidth)))
        var offsets = [Int](repeating: 0, count: layers.count)
        for k in 1..<max(1, layers.count) { offsets[k] = offsets[k - 1] + chunk * widths[k - 1] }
        let buffer = UnsafeMutablePointer<Double>.allocate(capacity: chunk * totalWidth)
        defer { buffer.deallocate() }
        var blockOffsets = [Int](), blockSize = 0
        for (i, j) in pairs { blockOffsets.append(blockSize); blockSize += widths[i] * widths[j] }
        let (blocksCount, overflow) = blockSize.multipliedReportingOverflow(by: 8)
        if overflow || blocksCount > Int.max / 4 {
            throw LaminaError(.outOfMemory, "the cross-products need \(blockSize) float64 values; too large")
        }
        let blocks = UnsafeMutablePointer<Double>.allocate(capacity: max(1, blockSize))
        defer { blocks.deallocate() }
        blocks.initialize(repeating: 0, count: max(1, blockSize))
        var rowNorms = [Double](repeating: 0, count: wantRowNorms ? n * layers.count : 0)
        var total = [Double](repeating: 0, count: layers.count)

        var start = 0
        while start < n {
            let m = min(chunk, n - start)
            // Centre this chunk of every layer (float64), one task per layer.
            rowNorms.withUnsafeMutableBufferPointer { rn in
                total.withUnsafeMutableBufferPointer { tot in
                    let rnp = wantRowNorms ? rn.baseAddress : nil, totp = tot.baseAddress!
                    Parallel.forEachTask(layers.count) { k in
                        let layer = layers[k], d = layer.cols
                        let dst = buffer + offsets[k]
                        means[k].withUnsafeBufferPointer { mean in
                            var chunkTotal = 0.0
                            for r in 0..<m {
                                let src = layer.row(start + r), row = dst + r * d
                                var s = 0.0
                                for c in 0..<d { let v = Double(src[c]) - mean[c]; row[c] = v; s += v * v }
                                if let rnp { rnp[k * n + start + r] = s }
                                chunkTotal += s
                            }
                            totp[k] += chunkTotal
                        }
                    }
                }
            }
            // Accumulate every pair's block (single-threaded BLAS inside each task).
            Parallel.forEachTask(pairs.count) { p in
                let (i, j) = pairs[p]
                let c = blocks + blockOffsets[p]
                if i == j {
                    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(widths[i]), Int32(m), 1,
                                buffer + offsets[i], Int32(widths[i]), 1, c, Int32(widths[i]))
                } else {
                    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(widths[i]), Int32(widths[j]), Int32(m), 1,
                                buffer + offsets[i], Int32(widths[i]), buffer + offsets[j], Int32(widths[j]), 1,
                                c, Int32(widths[j]))
                }
            }
            start += m
        }
        var frob = [Double](repeating: 0, count: pairs.count)
        frob.withUnsafeMutableBufferPointer { f in
            let fp = f.baseAddress!
            Parallel.forEachTask(pairs.count) { p in
                let (i, j) = pairs[p]
                let c = blocks + blockOffsets[p]
                var s = 0.0
                if i == j {
                    let d = widths[i]
                    for r in 0..<d {
                        s += c[r * d + r] * c[r * d + r]
                        var off = 0.0
                        for q in (r + 1)..<max(d, r + 1) { off += c[r * d + q] * c[r * d + q] }
                        s += 2 * off
                    }
                } else {
                    s = sumSquares(c, widths[i] * widths[j])
                }
                fp[p] = s
            }
        }
        return Stats(frob: frob, total: total, rowNorms: rowNorms)
    }

    @inline(__always)
    static func sumSquares(_ p: UnsafePointer<Double>, _ count: Int) -> Double {
        var a0 = SIMD4<Double>(), a1 = SIMD4<Double>()
        var i = 0
        while i + 8 <= count {
            let v0 = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD4<Double>.self)
            let v1 = UnsafeRawPointer(p + i + 4).loadUnaligned(as: SIMD4<Double>.self)
            a0.addProduct(v0, v0); a1.addProduct(v1, v1)
            i += 8
        }
        var tail = 0.0
        while i < count { tail += p[i] * p[i]; i += 1 }
        return (a0 + a1).sum() + tail
    }
}

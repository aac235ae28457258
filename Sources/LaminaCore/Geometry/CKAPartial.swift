import CBLAS

/// Mergeable (partial / merge / finalize) linear and debiased CKA (header section 16).
///
/// A shard's partial is one float64 array of sums over its rows of the shifted data z = x - shift_x,
/// w = y - shift_y (the same shifts on every shard; a zero shift gives the raw sums), with a_i = ||z_i||^2,
/// b_i = ||w_i||^2 (see `Layout`):
///     n, S_x = sum z_i, S_y = sum w_i, Z^T Z, W^T W, Z^T W,
///   debiased only:  sum a_i^2, sum b_i^2, sum a_i b_i, sum a_i z_i, sum b_i z_i, sum a_i w_i, sum b_i w_i.
/// Partials of disjoint shards add up elementwise. With m_x = S_x / n, m_y = S_y / n the column-centred
/// cross-products are C_xy = Z^T W - n m_x m_y^T (likewise C_xx, C_yy), and the squared row norms of the
/// centred data, r_i = a_i - 2 z_i.m_x + |m_x|^2 (s_i likewise), give
///     sum r = tr(Z^T Z) - n |m_x|^2,
///     r.s = sum a b - 2 m_y.(sum a w) - 2 m_x.(sum b z) + 4 m_x^T (Z^T W) m_y + |m_y|^2 tr(Z^T Z)
///           + |m_x|^2 tr(W^T W) - 3 n |m_x|^2 |m_y|^2,
///     r.r = sum a^2 - 4 m_x.(sum a z) + 4 m_x^T (Z^T Z) m_x + 2 |m_x|^2 tr(Z^T Z) - 3 n |m_x|^4,
/// which are what CKA.swift's feature-space formulas need (linear: ||C_xy||_F^2 / (||C_xx||_F ||C_yy||_F);
/// debiased: n (n-3) HSIC_u = ||C_xy||_F^2 - n/(n-2) r.s + (sum r)(sum s)/((n-1)(n-2))). The corrections
/// cancel: with the column means as shifts (a first pass of column sums) they are ~0 and the result equals
/// the one-machine CKA to ~1e-15 relative; with zero shifts the relative error grows like
/// (|mean| / spread)^2 (linear) or ^4 (debiased).
package enum CKAPartial {
    /// Largest float64 working buffer for one chunk of shifted rows (bytes), as CKA.chunkBytes.
    static let chunkBytes = 64 << 20

    /// Offsets of the parts of a partial for d1 x d2 (row-major matrices; Z^T Z and W^T W full symmetric).
    package struct Layout {
        package let d1: Int, d2: Int, debiased: Bool
        package var n: Int { 0 }
        package var sumX: Int { 1 }
        package var sumY: Int { 1 + d1 }
        package var xx: Int { sumY + d2 }
        package var yy: Int { xx + d1 * d1 }
        package var xy: Int { yy + d2 * d2 }
        package var linearEnd: Int { xy + d1 * d2 }
        package var aa: Int { linearEnd }          // debiased: sum a^2, sum b^2, sum a b at aa, aa + 1, aa + 2
        package var ax: Int { linearEnd + 3 }      // sum a_i z_i (d1)
        package var bx: Int { ax + d1 }            // sum b_i z_i (d1)
        package var ay: Int { bx + d1 }            // sum a_i w_i (d2)
        package var by: Int { ay + d2 }            // sum b_i w_i (d2)
        package var length: Int { debiased ? by + d2 : linearEnd }

        package init(d1: Int, d2: Int, debiased: Bool) { self.d1 = d1; self.d2 = d2; self.debiased = debiased }

        /// The length, or nil when it overflows Int.
        package static func checkedLength(d1: Int, d2: Int, debiased: Bool) -> Int? {
            var total = 1 + 3 + 2 * (d1 + d2)
            for (a, b) in [(d1, d1), (d2, d2), (d1, d2)] {
                let (p, o1) = a.multipliedReportingOverflow(by: b)
                let (s, o2) = total.addingReportingOverflow(p)
                if o1 || o2 || s > Int.max / 16 { return nil }
                total = s
            }
            return Layout(d1: d1, d2: d2, debiased: debiased).length
        }
    }

    /// Adds the sums of the rows of x (n x d1) and y (n x d2) into `out` (Layout(d1, d2, debiased).length
    /// float64), each shifted by its shift vector (nil: no shift). Chunks of rows are shifted into float64
    /// and accumulated with dsyrk / dgemm / dgemv, in row order.
    package static func accumulate(_ x: MatrixView, _ y: MatrixView, shiftX: UnsafePointer<Double>?, shiftY: UnsafePointer<Double>?,
                                   debiased: Bool, into out: UnsafeMutablePointer<Double>) {
        let n = x.rows, d1 = x.cols, d2 = y.cols
        let lay = Layout(d1: d1, d2: d2, debiased: debiased)
        let chunk = max(1, min(n, chunkBytes / max(1, 8 * (d1 + d2 + 2))))
        let zx = UnsafeMutablePointer<Double>.allocate(capacity: chunk * d1)
        let zy = UnsafeMutablePointer<Double>.allocate(capacity: chunk * d2)
        let a = UnsafeMutablePointer<Double>.allocate(capacity: chunk)
        let b = UnsafeMutablePointer<Double>.allocate(capacity: chunk)
        // dsyrk fills the upper triangle only: accumulate there, mirror into `out` at the end.
        let gx = UnsafeMutablePointer<Double>.allocate(capacity: d1 * d1)
        let gy = UnsafeMutablePointer<Double>.allocate(capacity: d2 * d2)
        gx.initialize(repeating: 0, count: d1 * d1)
        gy.initialize(repeating: 0, count: d2 * d2)
        defer { zx.deallocate(); zy.deallocate(); a.deallocate(); b.deallocate(); gx.deallocate(); gy.deallocate() }

        func shifted(_ v: MatrixView, _ shift: UnsafePointer<Double>?, _ start: Int, _ m: Int,
                     _ dst: UnsafeMutablePointer<Double>, _ norms: UnsafeMutablePointer<Double>, _ sums: UnsafeMutablePointer<Double>) {
            let d = v.cols
            for r in 0..<m {
                let src = v.row(start + r), row = dst + r * d
                var s = 0.0
                if let shift {
                    for c in 0..<d { let t = Double(src[c]) - shift[c]; row[c] = t; s += t * t }
                } else {
                    for c in 0..<d { let t = Double(src[c]); row[c] = t; s += t * t }
                }
                norms[r] = s
            }
            for r in 0..<m { let row = dst + r * d; for c in 0..<d { sums[c] += row[c] } }
        }

        var start = 0
        while start < n {
            let m = min(chunk, n - start)
            shifted(x, shiftX, start, m, zx, a, out + lay.sumX)
            shifted(y, shiftY, start, m, zy, b, out + lay.sumY)
            cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(d1), Int32(m), 1, zx, Int32(d1), 1, gx, Int32(d1))
            cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(d2), Int32(m), 1, zy, Int32(d2), 1, gy, Int32(d2))
            cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(d1), Int32(d2), Int32(m), 1, zx, Int32(d1),
                        zy, Int32(d2), 1, out + lay.xy, Int32(d2))
            if debiased {
                var aa = 0.0, bb = 0.0, ab = 0.0
                for r in 0..<m { aa += a[r] * a[r]; bb += b[r] * b[r]; ab += a[r] * b[r] }
                out[lay.aa] += aa; out[lay.aa + 1] += bb; out[lay.aa + 2] += ab
                cblas_dgemv(CblasRowMajor, CblasTrans, Int32(m), Int32(d1), 1, zx, Int32(d1), a, 1, 1, out + lay.ax, 1)
                cblas_dgemv(CblasRowMajor, CblasTrans, Int32(m), Int32(d1), 1, zx, Int32(d1), b, 1, 1, out + lay.bx, 1)
                cblas_dgemv(CblasRowMajor, CblasTrans, Int32(m), Int32(d2), 1, zy, Int32(d2), a, 1, 1, out + lay.ay, 1)
                cblas_dgemv(CblasRowMajor, CblasTrans, Int32(m), Int32(d2), 1, zy, Int32(d2), b, 1, 1, out + lay.by, 1)
            }
            start += m
        }
        out[lay.n] += Double(n)
        for (g, d, at) in [(gx, d1, lay.xx), (gy, d2, lay.yy)] {
            let dst = out + at
            for i in 0..<d {
                dst[i * d + i] += g[i * d + i]
                for j in (i + 1)..<max(d, i + 1) { let v = g[i * d + j]; dst[i * d + j] += v; dst[j * d + i] += v }
            }
        }
    }

    /// Linear (or debiased) CKA from a merged partial; the values and errors of CKA.linear on the union of
    /// the shards' rows. `xName` / `yName` name the representations in errors.
    package static func finalize(_ p: UnsafePointer<Double>, d1: Int, d2: Int, debiased: Bool,
                                 xName: String = "x", yName: String = "y") throws -> Double {
        let lay = Layout(d1: d1, d2: d2, debiased: debiased)
        let nd = p[lay.n]
        if !(nd >= 0) || nd != nd.rounded() || nd > 9_007_199_254_740_992 {
            throw LaminaError.invalid("the partial's row count (element 0) is \(nd); expected a whole number >= 0")
        }
        if debiased && nd < 4 {
            throw LaminaError.invalid("n is \(Int(nd)); debiased CKA needs n >= 4 (the unbiased HSIC divides by n (n - 3))")
        }
        if nd < 2 { throw LaminaError.invalid("n is \(Int(nd)); CKA needs n >= 2 samples") }
        for i in 0..<lay.length where !p[i].isFinite {
            throw LaminaError(.nonFinite, "partial[\(i)] is \(p[i]); expected finite sums")
        }
        let sx = p + lay.sumX, sy = p + lay.sumY
        /// ||S - s t^T / n||_F^2 and the raw trace (square S only).
        func centred(_ s: UnsafePointer<Double>, _ u: UnsafePointer<Double>, _ v: UnsafePointer<Double>, _ r: Int, _ c: Int) -> Double {
            var f0 = 0.0, f1 = 0.0
            for i in 0..<r {
                let row = s + i * c, ui = u[i] / nd
                var j = 0
                while j + 2 <= c {
                    let t0 = row[j] - ui * v[j], t1 = row[j + 1] - ui * v[j + 1]
                    f0 += t0 * t0; f1 += t1 * t1
                    j += 2
                }
                if j < c { let t = row[j] - ui * v[j]; f0 += t * t }
            }
            return f0 + f1
        }
        func dot(_ u: UnsafePointer<Double>, _ v: UnsafePointer<Double>, _ d: Int) -> Double {
            var s = 0.0
            for i in 0..<d { s += u[i] * v[i] }
            return s
        }
        func trace(_ s: UnsafePointer<Double>, _ d: Int) -> Double {
            var t = 0.0
            for i in 0..<d { t += s[i * d + i] }
            return t
        }
        let trX = trace(p + lay.xx, d1), trY = trace(p + lay.yy, d2)
        let alpha = dot(sx, sx, d1) / (nd * nd), beta = dot(sy, sy, d2) / (nd * nd)   // |m_x|^2, |m_y|^2
        let sumR = trX - nd * alpha, sumS = trY - nd * beta
        // A representation whose centred total is 0 (or lost in the cancellation of unshifted sums).
        for (total, raw, name, shift) in [(sumR, trX, xName, "shift_x"), (sumS, trY, yName, "shift_y")]
        where !(total > 64 * Double.ulpOfOne * raw) {
            throw LaminaError.invalid("\(name) is constant (every feature has zero variance; or its variance is lost to cancellation in unshifted sums: pass the column means as \(shift)); CKA is undefined for it")
        }
        let fXY = centred(p + lay.xy, sx, sy, d1, d2)
        let fXX = centred(p + lay.xx, sx, sx, d1, d1), fYY = centred(p + lay.yy, sy, sy, d2, d2)
        if !debiased {
            return min(1, max(0, fXY / (fXX.squareRoot() * fYY.squareRoot())))
        }
        // m^T S m' for the raw cross-product S (r x c) and the means m = u / n, m' = v / n.
        func form(_ s: UnsafePointer<Double>, _ u: UnsafePointer<Double>, _ v: UnsafePointer<Double>, _ r: Int, _ c: Int) -> Double {
            var t = 0.0
            for i in 0..<r { t += u[i] * dot(s + i * c, v, c) }
            return t / (nd * nd)
        }
        let aa = p[lay.aa], bb = p[lay.aa + 1], ab = p[lay.aa + 2]
        let rs = ab - 2 * dot(sy, p + lay.ay, d2) / nd - 2 * dot(sx, p + lay.bx, d1) / nd + 4 * form(p + lay.xy, sx, sy, d1, d2)
            + beta * trX + alpha * trY - 3 * nd * alpha * beta
        let rr = aa - 4 * dot(sx, p + lay.ax, d1) / nd + 4 * form(p + lay.xx, sx, sx, d1, d1) + 2 * alpha * trX - 3 * nd * alpha * alpha
        let ss = bb - 4 * dot(sy, p + lay.by, d2) / nd + 4 * form(p + lay.yy, sy, sy, d2, d2) + 2 * beta * trY - 3 * nd * beta * beta
        let hXY = CKA.unbiasedHSIC(frob: fXY, rowDot: rs, totalI: sumR, totalJ: sumS, n: nd)
        let hXX = CKA.unbiasedHSIC(frob: fXX, rowDot: rr, totalI: sumR, totalJ: sumR, n: nd)
        let hYY = CKA.unbiasedHSIC(frob: fYY, rowDot: ss, totalI: sumS, totalJ: sumS, n: nd)
        for (h, name) in [(hXX, xName), (hYY, yName)] where !(h > 0) {
            throw LaminaError.invalid("the unbiased HSIC of \(name) with itself is \(h); expected > 0 (the representation is degenerate for debiased CKA)")
        }
        return min(1, max(-1, hXY / (hXX.squareRoot() * hYY.squareRoot())))
    }
}

extension CKA {
    /// n (n-3) HSIC_u = ||X^T Y||_F^2 - n/(n-2) r.s + (sum r)(sum s)/((n-1)(n-2)) from its feature-space
    /// parts (frob = ||X^T Y||_F^2, rowDot = r.s, totalI = sum r, totalJ = sum s; see CKA's doc). The final
    /// step of both CKA.debiasedHSIC (one machine) and the mergeable partials' finalize.
    static func unbiasedHSIC(frob: Double, rowDot: Double, totalI: Double, totalJ: Double, n: Double) -> Double {
        frob - n / (n - 2) * rowDot + totalI * totalJ / ((n - 1) * (n - 2))
    }
}

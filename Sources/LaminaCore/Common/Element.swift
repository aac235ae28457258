import CBLAS

/// The element types of the data kernels: float32 (Lamina's storage type) and float64 (float64 input
/// is computed in float64 throughout, as scikit-learn does). The clustering metrics and their tiled
/// kernels are generic over `LaminaFloat` and specialised for each type (`@_specialize` on the entry
/// points the C boundary calls; inside the module the optimiser specialises the rest). A conformance
/// supplies BLAS (sgemm / dgemm) and the few hot loops where float32 needs explicit SIMD to be fast
/// (generic SIMD code compiles to scalar code): float32 overrides them with its SIMD16 paths, float64
/// runs the generic implementations below.
package protocol LaminaFloat: BinaryFloatingPoint, SIMDScalar, Sendable {
    /// C[m x n] = A[m x k] B[n x k]^T (row-major, leading dimensions given).
    static func gemmABt(m: Int, n: Int, k: Int, a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
                        c: UnsafeMutablePointer<Self>, ldc: Int)
    /// Sum of a run, accumulated in float64.
    static func sum(_ p: UnsafePointer<Self>, _ count: Int) -> Double
    /// acc[j] += Double(p[j]).
    static func accumulate(_ p: UnsafePointer<Self>, into acc: UnsafeMutablePointer<Double>, _ count: Int)
    /// acc[j] -= Double(p[j]).
    static func subtract(_ p: UnsafePointer<Self>, from acc: UnsafeMutablePointer<Double>, _ count: Int)
    /// x . c in float64.
    static func dot(_ x: UnsafePointer<Self>, _ c: UnsafePointer<Double>, _ d: Int) -> Double
    /// ||x - c||^2 in float64.
    static func squaredDistance(_ x: UnsafePointer<Self>, _ c: UnsafePointer<Double>, _ d: Int) -> Double
    /// (min, max, float64 sum) of a non-empty run.
    static func minMaxSum(_ p: UnsafePointer<Self>, _ count: Int) -> (Self, Self, Double)
    /// low[j] = min(low[j], row[j]), high[j] = max(high[j], row[j]).
    static func widenRange(_ row: UnsafePointer<Self>, low: UnsafeMutablePointer<Self>, high: UnsafeMutablePointer<Self>, _ d: Int)
    /// Offset of the first non-finite value in p[range], if any.
    static func firstNonFinite(_ p: UnsafePointer<Self>, _ range: Range<Int>) -> Int?
    /// row[j] = (src[j] - mu[j]) * factor[j] (computed in float64, rounded to Self); returns ||row||^2.
    static func affine(_ src: UnsafePointer<Self>, _ row: UnsafeMutablePointer<Self>, _ d: Int,
                       _ mu: UnsafePointer<Double>, _ factor: UnsafePointer<Double>) -> Self
    /// The distance transform of one tile row (see PairwisePoints.toDistances): for j in `range`,
    /// v = max(out[j] * gain + (rowTerm + colTerm[j]), 0); v < near is replaced by exact(j); then the
    /// square root (euclidean), the clip to [0, 2] (cosine) or nothing (sqeuclidean); stored to out[j].
    static func distanceRow(_ out: UnsafeMutablePointer<Self>, _ colTerm: UnsafePointer<Self>, _ range: Range<Int>,
                            rowTerm: Self, gain: Self, near: Self, metric: DistanceMetric, exact: (Int) -> Self)
    /// k-means: dot products of `count` rows (stride d) with `t` centers (stride d) into out (count x t).
    /// Every (row, center) pair is summed the same way by centerDots (t <= 32), dotOne and dotRow.
    static func centerDots(_ rows: UnsafePointer<Self>, _ count: Int, _ d: Int, _ centers: UnsafePointer<Self>, _ t: Int,
                           _ out: UnsafeMutablePointer<Self>)
    static func dotOne(_ x: UnsafePointer<Self>, _ c: UnsafePointer<Self>, _ d: Int) -> Self
    static func dotRow(_ x: UnsafePointer<Self>, _ d: Int, _ c: UnsafePointer<Self>, _ t: Int, _ out: UnsafeMutablePointer<Self>)
    /// k-means statistics of one row: sums[j] += row[j], widens [low, high], returns ||row||^2 (float64).
    static func rowStatistics(_ row: UnsafePointer<Self>, _ d: Int, _ sums: UnsafeMutablePointer<Double>,
                              _ low: UnsafeMutablePointer<Self>, _ high: UnsafeMutablePointer<Self>) -> Double
}

extension LaminaFloat {
    /// Unit roundoff (2^-24 for float32, 2^-53 for float64).
    @inline(__always) package static var unitRoundoff: Double { Double(ulpOfOne) / 2 }

    package static func sum(_ p: UnsafePointer<Self>, _ count: Int) -> Double {
        var a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0
        var i = 0
        while i + 4 <= count {
            a0 += Double(p[i]); a1 += Double(p[i + 1]); a2 += Double(p[i + 2]); a3 += Double(p[i + 3])
            i += 4
        }
        while i < count { a0 += Double(p[i]); i += 1 }
        return (a0 + a1) + (a2 + a3)
    }

    package static func accumulate(_ p: UnsafePointer<Self>, into acc: UnsafeMutablePointer<Double>, _ count: Int) {
        for j in 0..<count { acc[j] += Double(p[j]) }
    }

    package static func subtract(_ p: UnsafePointer<Self>, from acc: UnsafeMutablePointer<Double>, _ count: Int) {
        for j in 0..<count { acc[j] -= Double(p[j]) }
    }

    package static func dot(_ x: UnsafePointer<Self>, _ c: UnsafePointer<Double>, _ d: Int) -> Double {
        var a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0
        var j = 0
        while j + 4 <= d {
            a0 += Double(x[j]) * c[j]; a1 += Double(x[j + 1]) * c[j + 1]
            a2 += Double(x[j + 2]) * c[j + 2]; a3 += Double(x[j + 3]) * c[j + 3]
            j += 4
        }
        while j < d { a0 += Double(x[j]) * c[j]; j += 1 }
        return (a0 + a1) + (a2 + a3)
    }

    package static func squaredDistance(_ x: UnsafePointer<Self>, _ c: UnsafePointer<Double>, _ d: Int) -> Double {
        var a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0
        var j = 0
        while j + 4 <= d {
            let t0 = Double(x[j]) - c[j], t1 = Double(x[j + 1]) - c[j + 1]
            let t2 = Double(x[j + 2]) - c[j + 2], t3 = Double(x[j + 3]) - c[j + 3]
            a0 += t0 * t0; a1 += t1 * t1; a2 += t2 * t2; a3 += t3 * t3
            j += 4
        }
        while j < d { let t = Double(x[j]) - c[j]; a0 += t * t; j += 1 }
        return (a0 + a1) + (a2 + a3)
    }

    package static func minMaxSum(_ p: UnsafePointer<Self>, _ count: Int) -> (Self, Self, Double) {
        var lo = p[0], hi = p[0]
        for i in 1..<Swift.max(1, count) { let v = p[i]; if v < lo { lo = v }; if v > hi { hi = v } }
        return (lo, hi, sum(p, count))
    }

    package static func widenRange(_ row: UnsafePointer<Self>, low: UnsafeMutablePointer<Self>, high: UnsafeMutablePointer<Self>, _ d: Int) {
        for j in 0..<d { let v = row[j]; if v < low[j] { low[j] = v }; if v > high[j] { high[j] = v } }
    }

    package static func firstNonFinite(_ p: UnsafePointer<Self>, _ range: Range<Int>) -> Int? {
        for i in range where !p[i].isFinite { return i }
        return nil
    }

    package static func affine(_ src: UnsafePointer<Self>, _ row: UnsafeMutablePointer<Self>, _ d: Int,
                               _ mu: UnsafePointer<Double>, _ factor: UnsafePointer<Double>) -> Self {
        var sq = 0.0
        for j in 0..<d { let v = (Double(src[j]) - mu[j]) * factor[j]; sq += v * v; row[j] = Self(v) }
        return Self(sq)
    }

    package static func distanceRow(_ out: UnsafeMutablePointer<Self>, _ colTerm: UnsafePointer<Self>, _ range: Range<Int>,
                                    rowTerm: Self, gain: Self, near: Self, metric: DistanceMetric, exact: (Int) -> Self) {
        for j in range {
            var v = Swift.max(out[j] * gain + (rowTerm + colTerm[j]), 0)
            if v < near { v = exact(j) }
            switch metric {
            case .euclidean: v = v.squareRoot()
            case .cosine, .correlation: v = Swift.min(v, 2)
            case .sqeuclidean, .manhattan, .chebyshev: break
            }
            out[j] = v
        }
    }
}

extension LaminaFloat {
    package static func centerDots(_ rows: UnsafePointer<Self>, _ count: Int, _ d: Int, _ centers: UnsafePointer<Self>, _ t: Int,
                                   _ out: UnsafeMutablePointer<Self>) {
        if t > 32 {
            gemmABt(m: count, n: t, k: d, a: rows, lda: d, b: centers, ldb: d, c: out, ldc: t)
            return
        }
        for r in 0..<count { dotRow(rows + r * d, d, centers, t, out + r * t) }
    }

    package static func dotOne(_ x: UnsafePointer<Self>, _ c: UnsafePointer<Self>, _ d: Int) -> Self {
        var a0: Self = 0, a1: Self = 0, a2: Self = 0, a3: Self = 0
        var j = 0
        while j + 4 <= d {
            a0 += x[j] * c[j]; a1 += x[j + 1] * c[j + 1]; a2 += x[j + 2] * c[j + 2]; a3 += x[j + 3] * c[j + 3]
            j += 4
        }
        while j < d { a0 += x[j] * c[j]; j += 1 }
        return (a0 + a1) + (a2 + a3)
    }

    package static func dotRow(_ x: UnsafePointer<Self>, _ d: Int, _ c: UnsafePointer<Self>, _ t: Int, _ out: UnsafeMutablePointer<Self>) {
        for m in 0..<t { out[m] = dotOne(x, c + m * d, d) }
    }

    package static func rowStatistics(_ row: UnsafePointer<Self>, _ d: Int, _ sums: UnsafeMutablePointer<Double>,
                                      _ low: UnsafeMutablePointer<Self>, _ high: UnsafeMutablePointer<Self>) -> Double {
        var sq = 0.0
        for j in 0..<d {
            let v = row[j], w = Double(v)
            sums[j] += w
            sq += w * w
            if v < low[j] { low[j] = v }
            if v > high[j] { high[j] = v }
        }
        return sq
    }
}

extension Double: LaminaFloat {
    /// One 8-lane accumulator over the row, then the scalar tail: the same order for every pair
    /// (centerDots with t <= 32 and dotRow call this), so fit and predict agree.
    @inline(__always)
    package static func dotOne(_ x: UnsafePointer<Double>, _ c: UnsafePointer<Double>, _ d: Int) -> Double {
        var acc = SIMD8<Double>()
        var j = 0
        while j + 8 <= d {
            acc.addProduct(UnsafeRawPointer(x + j).loadUnaligned(as: SIMD8<Double>.self),
                           UnsafeRawPointer(c + j).loadUnaligned(as: SIMD8<Double>.self))
            j += 8
        }
        var tail = 0.0
        while j < d { tail += x[j] * c[j]; j += 1 }
        return acc.sum() + tail
    }

    @inline(__always)
    package static func gemmABt(m: Int, n: Int, k: Int, a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
                                c: UnsafeMutablePointer<Double>, ldc: Int) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k), 1,
                    a, Int32(lda), b, Int32(ldb), 0, c, Int32(ldc))
    }
}

extension Float: LaminaFloat {
    @inline(__always)
    package static func centerDots(_ rows: UnsafePointer<Float>, _ count: Int, _ d: Int, _ centers: UnsafePointer<Float>, _ t: Int,
                                   _ out: UnsafeMutablePointer<Float>) {
        CenterDots.dots(rows, count, d, centers, t, out)
    }

    @inline(__always)
    package static func dotOne(_ x: UnsafePointer<Float>, _ c: UnsafePointer<Float>, _ d: Int) -> Float { CenterDots.one(x, c, d) }

    @inline(__always)
    package static func dotRow(_ x: UnsafePointer<Float>, _ d: Int, _ c: UnsafePointer<Float>, _ t: Int, _ out: UnsafeMutablePointer<Float>) {
        CenterDots.oneRow(x, d, c, t, out)
    }

    @inline(__always)
    package static func rowStatistics(_ row: UnsafePointer<Float>, _ d: Int, _ sums: UnsafeMutablePointer<Double>,
                                      _ low: UnsafeMutablePointer<Float>, _ high: UnsafeMutablePointer<Float>) -> Double {
        KMeans.rowStatistics(row, d, sums, low, high)
    }

    @inline(__always)
    package static func gemmABt(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                                c: UnsafeMutablePointer<Float>, ldc: Int) {
        Gemm.abT(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc)
    }

    @inline(__always) package static func sum(_ p: UnsafePointer<Float>, _ count: Int) -> Double { Reduce.sum(p, count) }

    @inline(__always)
    package static func accumulate(_ p: UnsafePointer<Float>, into acc: UnsafeMutablePointer<Double>, _ count: Int) {
        Reduce.accumulate(p, into: acc, count)
    }

    @inline(__always)
    package static func subtract(_ p: UnsafePointer<Float>, from acc: UnsafeMutablePointer<Double>, _ count: Int) {
        Reduce.accumulate(p, into: acc, count, weight: -1)
    }

    @inline(__always)
    package static func dot(_ x: UnsafePointer<Float>, _ c: UnsafePointer<Double>, _ d: Int) -> Double { Reduce.dot(x, c, d) }

    @inline(__always)
    package static func squaredDistance(_ x: UnsafePointer<Float>, _ c: UnsafePointer<Double>, _ d: Int) -> Double {
        Reduce.squaredDistance(x, c, d)
    }

    @inline(__always)
    package static func minMaxSum(_ p: UnsafePointer<Float>, _ count: Int) -> (Float, Float, Double) { Reduce.minMaxSum(p, count) }

    @inline(__always)
    package static func widenRange(_ row: UnsafePointer<Float>, low: UnsafeMutablePointer<Float>, high: UnsafeMutablePointer<Float>, _ d: Int) {
        var j = 0
        while j + 16 <= d {
            let v = UnsafeRawPointer(row + j).loadUnaligned(as: SIMD16<Float>.self)
            let l = UnsafeMutableRawPointer(low + j), h = UnsafeMutableRawPointer(high + j)
            l.storeBytes(of: SIMDOps.min(l.loadUnaligned(as: SIMD16<Float>.self), v), as: SIMD16<Float>.self)
            h.storeBytes(of: SIMDOps.max(h.loadUnaligned(as: SIMD16<Float>.self), v), as: SIMD16<Float>.self)
            j += 16
        }
        while j < d { low[j] = Swift.min(low[j], row[j]); high[j] = Swift.max(high[j], row[j]); j += 1 }
    }

    package static func firstNonFinite(_ p: UnsafePointer<Float>, _ range: Range<Int>) -> Int? {
        var i = range.lowerBound
        // x - x is 0 for finite x and NaN for NaN/Inf: one check per 16 lanes.
        while i + 16 <= range.upperBound {
            let v = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self)
            if v - v != SIMD16<Float>(repeating: 0) { break }
            i += 16
        }
        while i < range.upperBound {
            if !p[i].isFinite { return i }
            i += 1
        }
        return nil
    }

    @inline(__always)
    package static func affine(_ src: UnsafePointer<Float>, _ row: UnsafeMutablePointer<Float>, _ d: Int,
                               _ mu: UnsafePointer<Double>, _ factor: UnsafePointer<Double>) -> Float {
        var acc = SIMD8<Double>()
        var j = 0
        while j + 8 <= d {
            let x = SIMD8<Double>(UnsafeRawPointer(src + j).loadUnaligned(as: SIMD8<Float>.self))
            let v = (x - UnsafeRawPointer(mu + j).loadUnaligned(as: SIMD8<Double>.self))
                * UnsafeRawPointer(factor + j).loadUnaligned(as: SIMD8<Double>.self)
            acc.addProduct(v, v)
            UnsafeMutableRawPointer(row + j).storeBytes(of: SIMD8<Float>(v), as: SIMD8<Float>.self)
            j += 8
        }
        var sq = acc.sum()
        while j < d { let v = (Double(src[j]) - mu[j]) * factor[j]; sq += v * v; row[j] = Float(v); j += 1 }
        return Float(sq)
    }

    @inline(__always)
    package static func distanceRow(_ out: UnsafeMutablePointer<Float>, _ colTerm: UnsafePointer<Float>, _ range: Range<Int>,
                                    rowTerm: Float, gain: Float, near: Float, metric: DistanceMetric, exact: (Int) -> Float) {
        let zero = SIMD16<Float>(repeating: 0), gainV = SIMD16<Float>(repeating: gain)
        let nearV = SIMD16<Float>(repeating: near), rt = SIMD16<Float>(repeating: rowTerm)
        var j = range.lowerBound
        while j + 16 <= range.upperBound {
            let g = UnsafeRawPointer(out + j).loadUnaligned(as: SIMD16<Float>.self)
            let ct = UnsafeRawPointer(colTerm + j).loadUnaligned(as: SIMD16<Float>.self)
            var v = SIMDOps.max(g * gainV + (rt + ct), zero)
            if any(v .< nearV) {
                for lane in 0..<16 where v[lane] < near { v[lane] = exact(j + lane) }
            }
            switch metric {
            case .euclidean: v = v.squareRoot()
            case .cosine, .correlation: v = SIMDOps.min(v, SIMD16<Float>(repeating: 2))
            case .sqeuclidean, .manhattan, .chebyshev: break
            }
            UnsafeMutableRawPointer(out + j).storeBytes(of: v, as: SIMD16<Float>.self)
            j += 16
        }
        while j < range.upperBound {
            var v = Swift.max(out[j] * gain + (rowTerm + colTerm[j]), 0)
            if v < near { v = exact(j) }
            switch metric {
            case .euclidean: v = v.squareRoot()
            case .cosine, .correlation: v = Swift.min(v, 2)
            case .sqeuclidean, .manhattan, .chebyshev: break
            }
            out[j] = v
            j += 1
        }
    }
}

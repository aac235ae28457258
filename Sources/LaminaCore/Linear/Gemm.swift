import CBLAS

/// Thin, typed wrappers over the CBLAS calls the core uses (row-major throughout).
public enum Gemm {
    /// C[m x n] = alpha * A[m x k] * B[n x k]^T + beta * C, all row-major with the given leading dims.
    @inline(__always)
    public static func abT(m: Int, n: Int, k: Int, alpha: Float = 1,
                           a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                           beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k), alpha,
                    a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}

/// Float64-accumulating reductions over float32 runs (several independent accumulators so the adds
/// pipeline; the order is fixed, so results are deterministic).
public enum Reduce {
    @inline(__always)
    public static func sum(_ p: UnsafePointer<Float>, _ count: Int) -> Double {
        var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
        var i = 0
        while i + 4 <= count {
            s0 += Double(p[i]); s1 += Double(p[i + 1]); s2 += Double(p[i + 2]); s3 += Double(p[i + 3])
            i += 4
        }
        while i < count { s0 += Double(p[i]); i += 1 }
        return (s0 + s1) + (s2 + s3)
    }

    /// (min, max, sum) of a non-empty run.
    @inline(__always)
    public static func minMaxSum(_ p: UnsafePointer<Float>, _ count: Int) -> (Float, Float, Double) {
        var lo = p[0], hi = p[0]
        var i = 0
        if count >= 16 {
            var vlo = UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self), vhi = vlo
            i = 16
            while i + 16 <= count {
                let v = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self)
                vlo = pointwiseMin(vlo, v)
                vhi = pointwiseMax(vhi, v)
                i += 16
            }
            lo = vlo.min(); hi = vhi.max()
        }
        while i < count { lo = Swift.min(lo, p[i]); hi = Swift.max(hi, p[i]); i += 1 }
        return (lo, hi, sum(p, count))
    }

    /// Squared Euclidean distance between a float32 row and a float64 point, in float64.
    @inline(__always)
    public static func squaredDistance(_ x: UnsafePointer<Float>, _ c: UnsafePointer<Double>, _ d: Int) -> Double {
        var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
        var j = 0
        while j + 4 <= d {
            let t0 = Double(x[j]) - c[j], t1 = Double(x[j + 1]) - c[j + 1]
            let t2 = Double(x[j + 2]) - c[j + 2], t3 = Double(x[j + 3]) - c[j + 3]
            s0 += t0 * t0; s1 += t1 * t1; s2 += t2 * t2; s3 += t3 * t3
            j += 4
        }
        while j < d { let t = Double(x[j]) - c[j]; s0 += t * t; j += 1 }
        return (s0 + s1) + (s2 + s3)
    }

    /// Squared Euclidean distance between two float64 points.
    @inline(__always)
    public static func squaredDistance(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ d: Int) -> Double {
        var s = 0.0
        for j in 0..<d { let t = a[j] - b[j]; s += t * t }
        return s
    }
}

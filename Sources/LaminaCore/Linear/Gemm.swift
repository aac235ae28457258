import CBLAS

/// Thin, typed wrappers over the CBLAS calls the core uses (row-major throughout).
package enum Gemm {
    /// C[m x n] = alpha * A[m x k] * B[n x k]^T + beta * C, all row-major with the given leading dims.
    @inline(__always)
    package static func abT(m: Int, n: Int, k: Int, alpha: Float = 1,
                           a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                           beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k), alpha,
                    a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}

extension Gemm {
    /// C[m x n] = alpha * A[m x k] * B[k x n] + beta * C (row-major).
    @inline(__always)
    package static func ab(m: Int, n: Int, k: Int, alpha: Float = 1,
                          a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                          beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), alpha,
                    a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// C[m x n] = alpha * A[k x m]^T * B[k x n] + beta * C (row-major).
    @inline(__always)
    package static func aTb(m: Int, n: Int, k: Int, alpha: Float = 1,
                           a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                           beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), alpha,
                    a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}

/// Float64-accumulating reductions over float32 runs (several independent accumulators so the adds
/// pipeline; the order is fixed, so results are deterministic).
package enum Reduce {
    @inline(__always)
    package static func sum(_ p: UnsafePointer<Float>, _ count: Int) -> Double {
        var a0 = SIMD8<Double>(), a1 = SIMD8<Double>()
        var i = 0
        while i + 16 <= count {
            a0 += SIMD8<Double>(UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self))
            a1 += SIMD8<Double>(UnsafeRawPointer(p + i + 8).loadUnaligned(as: SIMD8<Float>.self))
            i += 16
        }
        var tail = 0.0
        while i < count { tail += Double(p[i]); i += 1 }
        return (a0 + a1).sum() + tail
    }

    /// acc[j] += weight * Double(p[j]) for j in 0..<count, weight +1 or -1 (element-wise, vectorised).
    @inline(__always)
    package static func accumulate(_ p: UnsafePointer<Float>, into acc: UnsafeMutablePointer<Double>, _ count: Int,
                                  weight: Double = 1) {
        let w = SIMD8<Double>(repeating: weight)
        var j = 0
        while j + 8 <= count {
            let v = SIMD8<Double>(UnsafeRawPointer(p + j).loadUnaligned(as: SIMD8<Float>.self))
            let a = UnsafeMutableRawPointer(acc + j)
            a.storeBytes(of: a.loadUnaligned(as: SIMD8<Double>.self) + w * v, as: SIMD8<Double>.self)
            j += 8
        }
        while j < count { acc[j] += weight * Double(p[j]); j += 1 }
    }

    /// (min, max, sum) of a non-empty run.
    @inline(__always)
    package static func minMaxSum(_ p: UnsafePointer<Float>, _ count: Int) -> (Float, Float, Double) {
        var lo = p[0], hi = p[0]
        var i = 0
        if count >= 16 {
            var vlo = UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self), vhi = vlo
            i = 16
            while i + 16 <= count {
                let v = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self)
                vlo = SIMDOps.min(vlo, v)
                vhi = SIMDOps.max(vhi, v)
                i += 16
            }
            lo = vlo.min(); hi = vhi.max()
        }
        while i < count { lo = Swift.min(lo, p[i]); hi = Swift.max(hi, p[i]); i += 1 }
        return (lo, hi, sum(p, count))
    }

    /// Dot product of a float32 row and a float64 vector, in float64.
    @inline(__always)
    package static func dot(_ x: UnsafePointer<Float>, _ c: UnsafePointer<Double>, _ d: Int) -> Double {
        var a0 = SIMD8<Double>(), a1 = SIMD8<Double>()
        var j = 0
        while j + 16 <= d {
            a0 += SIMD8<Double>(UnsafeRawPointer(x + j).loadUnaligned(as: SIMD8<Float>.self)) * UnsafeRawPointer(c + j).loadUnaligned(as: SIMD8<Double>.self)
            a1 += SIMD8<Double>(UnsafeRawPointer(x + j + 8).loadUnaligned(as: SIMD8<Float>.self)) * UnsafeRawPointer(c + j + 8).loadUnaligned(as: SIMD8<Double>.self)
            j += 16
        }
        var tail = 0.0
        while j < d { tail += Double(x[j]) * c[j]; j += 1 }
        return (a0 + a1).sum() + tail
    }

    /// Squared Euclidean distance between a float32 row and a float64 point, in float64.
    @inline(__always)
    package static func squaredDistance(_ x: UnsafePointer<Float>, _ c: UnsafePointer<Double>, _ d: Int) -> Double {
        var a0 = SIMD8<Double>(), a1 = SIMD8<Double>()
        var j = 0
        while j + 16 <= d {
            let t0 = SIMD8<Double>(UnsafeRawPointer(x + j).loadUnaligned(as: SIMD8<Float>.self)) - UnsafeRawPointer(c + j).loadUnaligned(as: SIMD8<Double>.self)
            let t1 = SIMD8<Double>(UnsafeRawPointer(x + j + 8).loadUnaligned(as: SIMD8<Float>.self)) - UnsafeRawPointer(c + j + 8).loadUnaligned(as: SIMD8<Double>.self)
            a0.addProduct(t0, t0)
            a1.addProduct(t1, t1)
            j += 16
        }
        var tail = 0.0
        while j < d { let t = Double(x[j]) - c[j]; tail += t * t; j += 1 }
        return (a0 + a1).sum() + tail
    }

    /// Squared Euclidean distance between two float64 points.
    @inline(__always)
    package static func squaredDistance(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ d: Int) -> Double {
        var s = 0.0
        for j in 0..<d { let t = a[j] - b[j]; s += t * t }
        return s
    }
}

/// Lane-wise min/max as compare + blend. The standard library's pointwiseMin/pointwiseMax follow
/// Swift.min's NaN rules lane by lane and compile to scalar code with stack spills (measured 5x slower
/// in the pair-statistics kernel); inputs here are never NaN.
package enum SIMDOps {
    @inline(__always)
    package static func min(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> { a.replacing(with: b, where: b .< a) }

    @inline(__always)
    package static func max(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> { a.replacing(with: b, where: b .> a) }

    @inline(__always)
    package static func min(_ a: SIMD4<Double>, _ b: SIMD4<Double>) -> SIMD4<Double> { a.replacing(with: b, where: b .< a) }

    @inline(__always)
    package static func max(_ a: SIMD4<Double>, _ b: SIMD4<Double>) -> SIMD4<Double> { a.replacing(with: b, where: b .> a) }
}

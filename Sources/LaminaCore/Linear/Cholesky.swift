/// Dense symmetric positive definite solves in float64 (ridge regression's normal equations).
enum DenseLinearAlgebra {
    /// Solves A X = B for symmetric positive definite A (d x d), B (d x t), both row-major, by Cholesky.
    static func choleskySolve(_ a: [Double], _ d: Int, _ b: [Double], _ t: Int) throws -> [Double] {
        var l = a   // lower triangle overwritten with L (row-major, rows contiguous)
        try l.withUnsafeMutableBufferPointer { p in
            let base = p.baseAddress!
            for i in 0..<d {
                let ri = base + i * d
                for j in 0...i {
                    let rj = base + j * d
                    let s = ri[j] - simdDot(ri, rj, j)
                    if i == j {
                        if !(s > 0) {
                            throw LaminaError.invalid("the ridge system is singular (pivot \(s) at feature \(i)); use alpha > 0")
                        }
                        ri[i] = s.squareRoot()
                    } else {
                        ri[j] = s / rj[j]
                    }
                }
            }
        }
        // Forward and back substitution for each column of B.
        var x = b
        for c in 0..<t {
            var z = [Double](repeating: 0, count: d)
            for i in 0..<d {
                var s = x[i * t + c]
                for j in 0..<i { s -= l[i * d + j] * z[j] }
                z[i] = s / l[i * d + i]
            }
            for i in stride(from: d - 1, through: 0, by: -1) {
                var s = z[i]
                for j in (i + 1)..<d { s -= l[j * d + i] * x[j * t + c] }
                x[i * t + c] = s / l[i * d + i]
            }
        }
        return x
    }

    @inline(__always)
    static func simdDot(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ count: Int) -> Double {
        var s0 = SIMD4<Double>(), s1 = SIMD4<Double>()
        var i = 0
        while i + 8 <= count {
            s0 += UnsafeRawPointer(a + i).loadUnaligned(as: SIMD4<Double>.self) * UnsafeRawPointer(b + i).loadUnaligned(as: SIMD4<Double>.self)
            s1 += UnsafeRawPointer(a + i + 4).loadUnaligned(as: SIMD4<Double>.self) * UnsafeRawPointer(b + i + 4).loadUnaligned(as: SIMD4<Double>.self)
            i += 8
        }
        var tail = 0.0
        while i < count { tail += a[i] * b[i]; i += 1 }
        return (s0 + s1).sum() + tail
    }
}

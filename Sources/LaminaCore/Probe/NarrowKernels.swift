/// Register-blocked float32 kernels for the logistic pass, where the "gemm" has only K (the number of
/// classes, padded to a multiple of 4) columns: OpenBLAS's sgemm reaches ~15 GFLOP/s on such narrow
/// shapes (packing dominates); these keep the tile of X in L1/L2 and use explicit 8-lane FMAs.
enum NarrowKernels {
    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    /// z (rows x kp) = x (rows x d) * w^T, w kp x d (kp a multiple of 4).
    static func forward(x: UnsafePointer<Float>, rows: Int, d: Int, w: UnsafePointer<Float>, kp: Int,
                        z: UnsafeMutablePointer<Float>) {
        var r = 0
        while r < rows {
            let two = r + 1 < rows
            let x0 = x + r * d, x1 = two ? x0 + d : x0
            var cb = 0
            while cb < kp {
                let w0 = w + cb * d, w1 = w0 + d, w2 = w1 + d, w3 = w2 + d
                var a00 = SIMD8<Float>(), a01 = SIMD8<Float>(), a02 = SIMD8<Float>(), a03 = SIMD8<Float>()
                var a10 = SIMD8<Float>(), a11 = SIMD8<Float>(), a12 = SIMD8<Float>(), a13 = SIMD8<Float>()
                var j = 0
                while j + 8 <= d {
                    let v0 = load(x0 + j), v1 = load(x1 + j)
                    let u0 = load(w0 + j), u1 = load(w1 + j), u2 = load(w2 + j), u3 = load(w3 + j)
                    a00.addProduct(v0, u0); a01.addProduct(v0, u1); a02.addProduct(v0, u2); a03.addProduct(v0, u3)
                    a10.addProduct(v1, u0); a11.addProduct(v1, u1); a12.addProduct(v1, u2); a13.addProduct(v1, u3)
                    j += 8
                }
                var t00: Float = 0, t01: Float = 0, t02: Float = 0, t03: Float = 0
                var t10: Float = 0, t11: Float = 0, t12: Float = 0, t13: Float = 0
                while j < d {
                    let v0 = x0[j], v1 = x1[j]
                    t00 += v0 * w0[j]; t01 += v0 * w1[j]; t02 += v0 * w2[j]; t03 += v0 * w3[j]
                    t10 += v1 * w0[j]; t11 += v1 * w1[j]; t12 += v1 * w2[j]; t13 += v1 * w3[j]
                    j += 1
                }
                let z0 = z + r * kp + cb
                z0[0] = a00.sum() + t00; z0[1] = a01.sum() + t01; z0[2] = a02.sum() + t02; z0[3] = a03.sum() + t03
                if two {
                    let z1 = z0 + kp
                    z1[0] = a10.sum() + t10; z1[1] = a11.sum() + t11; z1[2] = a12.sum() + t12; z1[3] = a13.sum() + t13
                }
                cb += 4
            }
            r += 2
        }
    }

    /// out (kp x d) = g^T (kp x rows) * x (rows x d), g rows x kp; out is overwritten.
    static func backward(g: UnsafePointer<Float>, x: UnsafePointer<Float>, rows: Int, d: Int, kp: Int,
                         out: UnsafeMutablePointer<Float>) {
        out.update(repeating: 0, count: kp * d)
        var r = 0
        while r < rows {
            let m = min(4, rows - r)
            let x0 = x + r * d
            let x1 = m > 1 ? x0 + d : x0, x2 = m > 2 ? x0 + 2 * d : x0, x3 = m > 3 ? x0 + 3 * d : x0
            for c in 0..<kp {
                let s0 = g[r * kp + c]
                let s1 = m > 1 ? g[(r + 1) * kp + c] : 0
                let s2 = m > 2 ? g[(r + 2) * kp + c] : 0
                let s3 = m > 3 ? g[(r + 3) * kp + c] : 0
                if s0 == 0 && s1 == 0 && s2 == 0 && s3 == 0 { continue }
                let b0 = SIMD8<Float>(repeating: s0), b1 = SIMD8<Float>(repeating: s1)
                let b2 = SIMD8<Float>(repeating: s2), b3 = SIMD8<Float>(repeating: s3)
                let o = out + c * d
                var j = 0
                while j + 8 <= d {
                    var acc = load(o + j)
                    acc.addProduct(b0, load(x0 + j))
                    acc.addProduct(b1, load(x1 + j))
                    acc.addProduct(b2, load(x2 + j))
                    acc.addProduct(b3, load(x3 + j))
                    UnsafeMutableRawPointer(o + j).storeBytes(of: acc, as: SIMD8<Float>.self)
                    j += 8
                }
                while j < d {
                    o[j] += s0 * x0[j] + s1 * x1[j] + s2 * x2[j] + s3 * x3[j]
                    j += 1
                }
            }
            r += 4
        }
    }
}

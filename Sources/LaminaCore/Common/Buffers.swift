/// An owned, fixed-size, zero-initialised buffer with a stable address: kernels running on several
/// threads write disjoint parts of it through `p` (no copy-on-write, no exclusivity checks).
package final class Buffer<T>: @unchecked Sendable {
    package let p: UnsafeMutablePointer<T>
    package let count: Int

    package init(_ count: Int, zero: T) {
        self.count = count
        p = UnsafeMutablePointer<T>.allocate(capacity: max(count, 1))
        p.initialize(repeating: zero, count: max(count, 1))
    }

    package convenience init(_ values: [T], zero: T) {
        self.init(values.count, zero: zero)
        for i in 0..<values.count { p[i] = values[i] }
    }

    /// Takes ownership of `count` initialised values at `p` (from Memory.allocate or .allocate).
    package init(adopting p: UnsafeMutablePointer<T>, count: Int) {
        self.p = p
        self.count = count
    }

    deinit { p.deallocate() }  // free(): also right for Memory.allocate's posix_memalign on Linux

    package var array: [T] { Array(UnsafeBufferPointer(start: p, count: count)) }

    package func copy(from other: Buffer<T>) {
        precondition(other.count == count)
        p.update(from: other.p, count: count)
    }

    package func clone(zero: T) -> Buffer<T> {
        let b = Buffer<T>(count, zero: zero)
        b.copy(from: self)
        return b
    }

    @inline(__always) package subscript(i: Int) -> T {
        get { p[i] }
        set { p[i] = newValue }
    }
}

package typealias FloatBuffer = Buffer<Float>

/// Small SIMD vector kernels over float32 runs (AVX2 when built with -march=x86-64-v3).
package enum Vec {
    typealias V = SIMD16<Float>

    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
    @inline(__always) static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self) }

    /// y += a * x
    @inline(__always)
    package static func axpy(_ a: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        let va = V(repeating: a)
        var i = 0
        while i + 32 <= n {
            var y0 = load(y + i), y1 = load(y + i + 16)
            y0.addProduct(va, load(x + i))
            y1.addProduct(va, load(x + i + 16))
            store(y0, y + i); store(y1, y + i + 16)
            i += 32
        }
        while i + 16 <= n {
            var y0 = load(y + i)
            y0.addProduct(va, load(x + i))
            store(y0, y + i)
            i += 16
        }
        while i < n { y[i] = y[i] + a * x[i]; i += 1 }
    }

    /// ya += a * xa and yb += b * xb in one pass.
    @inline(__always)
    package static func axpy2(_ a: Float, _ xa: UnsafePointer<Float>, _ ya: UnsafeMutablePointer<Float>,
                             _ b: Float, _ xb: UnsafePointer<Float>, _ yb: UnsafeMutablePointer<Float>, _ n: Int) {
        let va = V(repeating: a), vb = V(repeating: b)
        var i = 0
        while i + 16 <= n {
            var y0 = load(ya + i), y1 = load(yb + i)
            y0.addProduct(va, load(xa + i))
            y1.addProduct(vb, load(xb + i))
            store(y0, ya + i); store(y1, yb + i)
            i += 16
        }
        while i < n { ya[i] = ya[i] + a * xa[i]; yb[i] = yb[i] + b * xb[i]; i += 1 }
    }

    /// x . y in float32 (four SIMD accumulators, fixed order).
    @inline(__always)
    package static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) -> Float {
        var a0 = V(), a1 = V(), a2 = V(), a3 = V()
        var i = 0
        while i + 64 <= n {
            a0.addProduct(load(x + i), load(y + i))
            a1.addProduct(load(x + i + 16), load(y + i + 16))
            a2.addProduct(load(x + i + 32), load(y + i + 32))
            a3.addProduct(load(x + i + 48), load(y + i + 48))
            i += 64
        }
        while i + 16 <= n { a0.addProduct(load(x + i), load(y + i)); i += 16 }
        var s = ((a0 + a1) + (a2 + a3)).sum()
        while i < n { s += x[i] * y[i]; i += 1 }
        return s
    }

    /// Sum of squares in float64.
    @inline(__always)
    package static func sumSquares(_ x: UnsafePointer<Float>, _ n: Int) -> Double {
        var a0 = SIMD8<Double>(), a1 = SIMD8<Double>()
        var i = 0
        while i + 16 <= n {
            let v0 = SIMD8<Double>(UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self))
            let v1 = SIMD8<Double>(UnsafeRawPointer(x + i + 8).loadUnaligned(as: SIMD8<Float>.self))
            a0.addProduct(v0, v0); a1.addProduct(v1, v1)
            i += 16
        }
        var s = (a0 + a1).sum()
        while i < n { s += Double(x[i]) * Double(x[i]); i += 1 }
        return s
    }

    /// out = a - b
    @inline(__always)
    package static func sub(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        while i + 16 <= n { store(load(a + i) - load(b + i), out + i); i += 16 }
        while i < n { out[i] = a[i] - b[i]; i += 1 }
    }

    /// y *= a
    @inline(__always)
    package static func scale(_ y: UnsafeMutablePointer<Float>, _ a: Float, _ n: Int) {
        var i = 0
        let va = V(repeating: a)
        while i + 16 <= n { store(load(y + i) * va, y + i); i += 16 }
        while i < n { y[i] *= a; i += 1 }
    }
}

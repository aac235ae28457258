#if canImport(Glibc)
import Glibc
#endif

/// Adam (Kingma & Ba 2015) exactly as torch.optim.Adam computes it (no weight decay, no amsgrad):
///   m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2
///   p <- p - (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
/// State is float32 like PyTorch's for float32 parameters. One `AdamState` holds the moments of one
/// flat parameter buffer; a model with several tensors keeps one per tensor (or one over a packed
/// buffer). Sparse trainers call `stepFactors` once per step and `apply` on the runs they update
/// (the SAE trainer fuses it into its per-latent gradient pass).
package struct AdamConfig: Sendable, Equatable {
    package var beta1: Float
    package var beta2: Float
    package var epsilon: Float

    package init(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
    }

    /// Nil when valid, else what is wrong (for the boundary's messages).
    package var problem: String? {
        if !(beta1 >= 0 && beta1 < 1) { return "beta1 is \(beta1); expected 0 <= beta1 < 1" }
        if !(beta2 >= 0 && beta2 < 1) { return "beta2 is \(beta2); expected 0 <= beta2 < 1" }
        if !(epsilon > 0 && epsilon.isFinite) { return "eps is \(epsilon); expected a finite value > 0" }
        return nil
    }
}

package struct AdamState: Sendable {
    package var m: [Float]
    package var v: [Float]
    /// Number of steps taken (t in the bias corrections).
    package var step: Int

    package init(count: Int) {
        m = [Float](repeating: 0, count: count)
        v = [Float](repeating: 0, count: count)
        step = 0
    }

    /// The step's factors: stepSize = lr / (1 - b1^t) and 1 / sqrt(1 - b2^t).
    package static func stepFactors(step t: Int, learningRate lr: Float, config: AdamConfig)
        -> (stepSize: Float, invSqrtBias2: Float) {
        let bias1 = 1 - pow(Double(config.beta1), Double(t))
        let bias2 = 1 - pow(Double(config.beta2), Double(t))
        return (Float(Double(lr) / bias1), 1 / Float(bias2.squareRoot()))
    }

    /// One step on a run of `count` parameters p with moments m, v and gradient g * gradientScale;
    /// a nil gradient is a zero gradient (the moments only decay; the parameters still move by the
    /// remaining momentum, as torch's dense Adam does). Touches only p, m, v in the run, so disjoint
    /// runs may be updated from several threads.
    @inline(__always)
    package static func apply(_ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>?, _ m: UnsafeMutablePointer<Float>,
                             _ v: UnsafeMutablePointer<Float>, _ count: Int, _ stepSize: Float, _ invSqrtBias2: Float,
                             _ config: AdamConfig, _ gradientScale: Float = 1) {
        let b1 = config.beta1, b2 = config.beta2, eps = config.epsilon
        let c1 = 1 - b1, c2 = 1 - b2
        typealias V = SIMD16<Float>
        @inline(__always) func load(_ q: UnsafePointer<Float>) -> V { UnsafeRawPointer(q).loadUnaligned(as: V.self) }
        @inline(__always) func store(_ x: V, _ q: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(q).storeBytes(of: x, as: V.self) }
        var i = 0
        if let g {
            while i + 16 <= count {
                var gv = load(g + i)
                if gradientScale != 1 { gv = gv * gradientScale }
                var mi = load(m + i), vi = load(v + i)
                mi = b1 * mi + c1 * gv
                vi = b2 * vi + c2 * (gv * gv)
                let denom = vi.squareRoot() * invSqrtBias2 + eps
                store(load(p + i) - stepSize * (mi / denom), p + i)
                store(mi, m + i); store(vi, v + i)
                i += 16
            }
            while i < count {
                var gi = g[i]
                if gradientScale != 1 { gi = gi * gradientScale }
                m[i] = b1 * m[i] + c1 * gi
                v[i] = b2 * v[i] + c2 * (gi * gi)
                p[i] -= stepSize * (m[i] / (v[i].squareRoot() * invSqrtBias2 + eps))
                i += 1
            }
        } else {
            while i + 16 <= count {
                var mi = load(m + i), vi = load(v + i)
                mi = b1 * mi
                vi = b2 * vi
                let denom = vi.squareRoot() * invSqrtBias2 + eps
                store(load(p + i) - stepSize * (mi / denom), p + i)
                store(mi, m + i); store(vi, v + i)
                i += 16
            }
            while i < count {
                m[i] = b1 * m[i]
                v[i] = b2 * v[i]
                p[i] -= stepSize * (m[i] / (v[i].squareRoot() * invSqrtBias2 + eps))
                i += 1
            }
        }
    }

    /// One full dense step over `params` (count == m.count), split over the worker threads.
    package mutating func update(_ params: UnsafeMutablePointer<Float>, gradient grad: UnsafePointer<Float>,
                                learningRate lr: Float, config: AdamConfig) {
        step += 1
        let (stepSize, invSqrtBias2) = AdamState.stepFactors(step: step, learningRate: lr, config: config)
        let count = m.count
        if count == 0 { return }
        m.withUnsafeMutableBufferPointer { mb in
            v.withUnsafeMutableBufferPointer { vb in
                let mp = mb.baseAddress!, vp = vb.baseAddress!
                let chunk = 1 << 16
                Parallel.forEachTask((count + chunk - 1) / chunk) { task in
                    let lo = task * chunk, n = min(chunk, count - lo)
                    AdamState.apply(params + lo, grad + lo, mp + lo, vp + lo, n, stepSize, invSqrtBias2, config)
                }
            }
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// Adam (Kingma & Ba 2015) exactly as torch.optim.Adam computes it (no weight decay, no amsgrad):
///   m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2
///   p <- p - (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
/// State is float32 like PyTorch's for float32 parameters. One `AdamState` holds the moments of one
/// flat parameter buffer; a model with several tensors keeps one per tensor (or one over a packed
/// buffer). `rows`/`update(rows:)` update only some rows of a row-major tensor, for sparse steps where
/// the other rows' gradient is zero -- note that torch's dense Adam would still decay m and v there.
public struct AdamConfig: Sendable, Equatable {
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float

    public init(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
    }

    /// Nil when valid, else what is wrong (for the boundary's messages).
    public var problem: String? {
        if !(beta1 >= 0 && beta1 < 1) { return "beta1 is \(beta1); expected 0 <= beta1 < 1" }
        if !(beta2 >= 0 && beta2 < 1) { return "beta2 is \(beta2); expected 0 <= beta2 < 1" }
        if !(epsilon > 0 && epsilon.isFinite) { return "eps is \(epsilon); expected a finite value > 0" }
        return nil
    }
}

public struct AdamState: Sendable {
    public var m: [Float]
    public var v: [Float]
    /// Number of steps taken (t in the bias corrections).
    public var step: Int

    public init(count: Int) {
        m = [Float](repeating: 0, count: count)
        v = [Float](repeating: 0, count: count)
        step = 0
    }

    /// Starts a new step: increments t and returns the (stepSize, sqrtBias2) pair for `apply`.
    public mutating func beginStep(learningRate lr: Float, config: AdamConfig) -> (stepSize: Float, sqrtBias2: Float) {
        step += 1
        let t = Double(step)
        let bias1 = 1 - pow(Double(config.beta1), t)
        let bias2 = 1 - pow(Double(config.beta2), t)
        return (Float(Double(lr) / bias1), Float(bias2.squareRoot()))
    }

    /// Applies one step to params[range] with gradient grad[range - range.lowerBound + gradOffset].
    /// Call `beginStep` once per step first; `apply` may then be called on disjoint ranges from
    /// several threads (it touches only m, v and params in its range).
    @inline(__always)
    public static func apply(params: UnsafeMutablePointer<Float>, grad: UnsafePointer<Float>,
                             m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, count: Int,
                             stepSize: Float, sqrtBias2: Float, config: AdamConfig) {
        let b1 = config.beta1, b2 = config.beta2, eps = config.epsilon
        let c1 = 1 - b1, c2 = 1 - b2
        let invSqrtBias2 = 1 / sqrtBias2
        var i = 0
        typealias V = SIMD8<Float>
        while i + 8 <= count {
            let g = UnsafeRawPointer(grad + i).loadUnaligned(as: V.self)
            var mi = UnsafeRawPointer(m + i).loadUnaligned(as: V.self)
            var vi = UnsafeRawPointer(v + i).loadUnaligned(as: V.self)
            mi = b1 * mi + c1 * g
            vi = b2 * vi + c2 * (g * g)
            let denom = vi.squareRoot() * invSqrtBias2 + eps
            let p = UnsafeRawPointer(params + i).loadUnaligned(as: V.self) - stepSize * (mi / denom)
            UnsafeMutableRawPointer(m + i).storeBytes(of: mi, as: V.self)
            UnsafeMutableRawPointer(v + i).storeBytes(of: vi, as: V.self)
            UnsafeMutableRawPointer(params + i).storeBytes(of: p, as: V.self)
            i += 8
        }
        while i < count {
            let g = grad[i]
            m[i] = b1 * m[i] + c1 * g
            v[i] = b2 * v[i] + c2 * (g * g)
            params[i] -= stepSize * (m[i] / (v[i].squareRoot() * invSqrtBias2 + eps))
            i += 1
        }
    }

    /// One full dense step over `params` (count == m.count), split over the worker threads.
    public mutating func update(_ params: UnsafeMutablePointer<Float>, gradient grad: UnsafePointer<Float>,
                                learningRate lr: Float, config: AdamConfig) {
        let (stepSize, sqrtBias2) = beginStep(learningRate: lr, config: config)
        let count = m.count
        if count == 0 { return }
        m.withUnsafeMutableBufferPointer { mb in
            v.withUnsafeMutableBufferPointer { vb in
                let mp = mb.baseAddress!, vp = vb.baseAddress!
                let chunk = 1 << 16
                Parallel.forEachTask((count + chunk - 1) / chunk) { task in
                    let lo = task * chunk, n = min(chunk, count - lo)
                    AdamState.apply(params: params + lo, grad: grad + lo, m: mp + lo, v: vp + lo, count: n,
                                    stepSize: stepSize, sqrtBias2: sqrtBias2, config: config)
                }
            }
        }
    }
}

import CBLAS

/// The link of a logistic model: softmax over K classes (multinomial) or K independent sigmoids
/// (binary with K = 1, one-vs-rest multi-label with K labels).
package enum LogisticLink: Sendable {
    case softmax
    case sigmoid
}

/// scikit-learn's L2-penalised logistic objective (LinearModelLoss with HalfMultinomialLoss or
/// HalfBinomialLoss, as LogisticRegression's lbfgs solver minimises it):
///
///     f(W, b) = sum_i s_i l_i(W x_i + b) / S  +  ||W||^2 / (2 C S),     S = sum_i s_i
///
/// with s_i the sample weight times the class weight of y_i (S = n without weights) and the intercept b
/// unpenalised. The parameter vector is [W row-major (K x d), b (K)] in float64.
///
/// One evaluation makes a single pass over X: rows are cut into fixed tiles; for each tile a float32
/// register-blocked kernel (NarrowKernels) gives the logits Z = X_t W^T, the softmax/sigmoid, the loss and G = s (p - y) / S are computed
/// in float64, and a second sgemm on the same (cache-resident) tile adds G^T X_t to the gradient, which
/// is accumulated in float64 per fixed group of tiles and summed in group order (deterministic for any
/// thread count).
struct LogisticObjective {
    /// Rows per tile: 128 rows of d = 768 float32 (384 KB) stay in a 512 KB L2 between the logits
    /// pass and the gradient pass over the same tile.
    static let tileRows = 256
    static let tilesPerTask = 8

    let x: MatrixView
    let link: LogisticLink
    let outputs: Int                      // K
    let classOf: [Int32]                  // softmax: class code per row (empty for sigmoid)
    let targets: [Float]                  // sigmoid: n x K 0/1 targets (empty for softmax)
    let rowWeight: [Double]               // s_i / S
    let l2: Double                        // 1 / (C S)
    let fitIntercept: Bool
    let parallel: Bool
    /// float64 gemms on float64 copies of the row tiles (the polishing phase near the optimum, where
    /// float32 logits limit how small the gradient can be made).
    var precise = false
    var thetaForPrecise: UnsafePointer<Double>? = nil

    var dims: Int { x.cols }
    var parameterCount: Int { outputs * (x.cols + 1) }

    private struct Partial {
        var loss: Double
        var grad: [Double]                // K x d then K
    }

    /// Loss at theta; the gradient is written to `grad` (parameterCount values).
    func evaluate(_ theta: UnsafeBufferPointer<Double>, _ grad: UnsafeMutableBufferPointer<Double>) -> Double {
        let k = outputs, d = x.cols, n = x.rows
        let kp = (k + 3) / 4 * 4
        let wf = [Float](unsafeUninitializedCapacity: kp * d) { buf, count in
            for i in 0..<(k * d) { buf[i] = Float(theta[i]) }
            for i in (k * d)..<(kp * d) { buf[i] = 0 }
            count = kp * d
        }
        let bias = Array(theta[(k * d)..<(k * d + k)])
        let objective = { var o = self; o.thetaForPrecise = theta.baseAddress; return o }()
        let taskRows = Self.tileRows * Self.tilesPerTask
        let body: (Range<Int>) -> Partial = { range in
            objective.partial(range, wf, bias)
        }
        let partials: [Partial]
        if parallel {
            partials = Parallel.mapChunks(count: n, chunk: taskRows, body)
        } else {
            var list: [Partial] = []
            var start = 0
            while start < n { list.append(body(start..<min(n, start + taskRows))); start += taskRows }
            partials = list
        }
        for i in 0..<parameterCount { grad[i] = 0 }
        var loss = 0.0
        for p in partials {
            loss += p.loss
            p.grad.withUnsafeBufferPointer { g in
                for i in 0..<parameterCount { grad[i] += g[i] }
            }
        }
        var norm2 = 0.0
        for i in 0..<(k * d) {
            norm2 += theta[i] * theta[i]
            grad[i] += l2 * theta[i]
        }
        if !fitIntercept { for c in 0..<k { grad[k * d + c] = 0 } }
        return loss + 0.5 * l2 * norm2
    }

    private func partial(_ range: Range<Int>, _ wf: [Float], _ bias: [Double]) -> Partial {
        if precise { return precisePartial(range, bias) }
        let k = outputs, d = x.cols
        let tile = Self.tileRows
        var grad = [Double](repeating: 0, count: k * (d + 1))
        var loss = 0.0
        let kp = (k + 3) / 4 * 4   // padded class count of the narrow kernels (padding rows of w are 0)
        let z = UnsafeMutablePointer<Float>.allocate(capacity: tile * kp)
        let g = UnsafeMutablePointer<Float>.allocate(capacity: tile * kp)
        g.initialize(repeating: 0, count: tile * kp)
        let tileGrad = UnsafeMutablePointer<Float>.allocate(capacity: kp * d)
        let zrow = UnsafeMutablePointer<Double>.allocate(capacity: k)
        defer { z.deallocate(); g.deallocate(); tileGrad.deallocate(); zrow.deallocate() }
        wf.withUnsafeBufferPointer { w in
            grad.withUnsafeMutableBufferPointer { acc in
                var start = range.lowerBound
                while start < range.upperBound {
                    let rows = min(tile, range.upperBound - start)
                    let xt = x.row(start)
                    NarrowKernels.forward(x: xt, rows: rows, d: d, w: w.baseAddress!, kp: kp, z: z)
                    for r in 0..<rows {
                        for c in 0..<k { zrow[c] = Double(z[r * kp + c]) + bias[c] }
                        loss += rowTerms(start + r, zrow, acc.baseAddress! + k * d) { c, gc in g[r * kp + c] = Float(gc) }
                    }
                    // tileGrad (K x d) = G^T (K x rows) * X_t (rows x d)
                    NarrowKernels.backward(g: g, x: xt, rows: rows, d: d, kp: kp, out: tileGrad)
                    Reduce.accumulate(tileGrad, into: acc.baseAddress!, k * d)
                    start += rows
                }
            }
        }
        return Partial(loss: loss, grad: grad)
    }

    /// The loss of row i given its logits (zrow, overwritten); writes d loss / d z_c to `store` and adds
    /// it to the intercept gradient.
    @inline(__always)
    private func rowTerms(_ i: Int, _ zrow: UnsafeMutablePointer<Double>, _ biasGrad: UnsafeMutablePointer<Double>,
                          _ store: (Int, Double) -> Void) -> Double {
        let k = outputs
        let wi = rowWeight[i]
        var loss = 0.0
        switch link {
        case .softmax:
            var m = zrow[0]
            for c in 1..<max(k, 1) where zrow[c] > m { m = zrow[c] }
            let y = Int(classOf[i])
            let zy = zrow[y] - m
            var s = 0.0
            for c in 0..<k { let e = _exp(zrow[c] - m); zrow[c] = e; s += e }
            // loss = logsumexp(z) - z_y = log s - (z_y - m); zrow now holds exp(z - m)
            loss += wi * (_log(s) - zy)
            let inv = 1 / s
            for c in 0..<k {
                var gc = zrow[c] * inv
                if c == y { gc -= 1 }
                gc *= wi
                biasGrad[c] += gc
                store(c, gc)
            }
        case .sigmoid:
            for c in 0..<k {
                let zc = zrow[c]
                let t = Double(targets[i * k + c])
                // log(1 + exp(z)) - t z, stably; p = sigmoid(z)
                let e = _exp(-Swift.abs(zc))
                loss += wi * (Swift.max(zc, 0) + _log1p(e) - t * zc)
                let p = zc >= 0 ? 1 / (1 + e) : e / (1 + e)
                let gc = wi * (p - t)
                biasGrad[c] += gc
                store(c, gc)
            }
        }
        return loss
    }

    private func precisePartial(_ range: Range<Int>, _ bias: [Double]) -> Partial {
        let k = outputs, d = x.cols
        let tile = Self.tileRows
        var grad = [Double](repeating: 0, count: k * (d + 1))
        var loss = 0.0
        let xd = UnsafeMutablePointer<Double>.allocate(capacity: tile * d)
        let z = UnsafeMutablePointer<Double>.allocate(capacity: tile * k)
        let g = UnsafeMutablePointer<Double>.allocate(capacity: tile * k)
        let zrow = UnsafeMutablePointer<Double>.allocate(capacity: k)
        defer { xd.deallocate(); z.deallocate(); g.deallocate(); zrow.deallocate() }
        let w = thetaForPrecise!
        grad.withUnsafeMutableBufferPointer { acc in
            var start = range.lowerBound
            while start < range.upperBound {
                let rows = min(tile, range.upperBound - start)
                let src = x.row(start)
                for e in 0..<(rows * d) { xd[e] = Double(src[e]) }
                cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(k), Int32(d), 1,
                            xd, Int32(d), w, Int32(d), 0, z, Int32(k))
                for r in 0..<rows {
                    for c in 0..<k { zrow[c] = z[r * k + c] + bias[c] }
                    loss += rowTerms(start + r, zrow, acc.baseAddress! + k * d) { c, gc in g[r * k + c] = gc }
                }
                cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(k), Int32(d), Int32(rows), 1,
                            g, Int32(k), xd, Int32(d), 1, acc.baseAddress!, Int32(d))
                start += rows
            }
        }
        return Partial(loss: loss, grad: grad)
    }
}

#if canImport(Glibc)
import Glibc
@inline(__always) func _exp(_ v: Double) -> Double { Glibc.exp(v) }
@inline(__always) func _log(_ v: Double) -> Double { Glibc.log(v) }
@inline(__always) func _log1p(_ v: Double) -> Double { Glibc.log1p(v) }
#endif

#if canImport(Glibc)
import Glibc
#endif

/// Design (model / trainer split):
///  - `SparseAutoencoder` holds the parameters and does inference.
///  - The encoder (SAEEncoder.swift) turns a batch into `SparseCodes` with a fused gemm + activation
///    tile pass; activation rules are TileSelectors (TopK, threshold rules). A distance-based encoder
///    (VL-SAE) is another tile pass producing the same codes.
///  - The decoder kernels (SAEDecoder.swift) decode and back-propagate sparsely; a model with one
///    decoder per modality (VL-SAE) runs them once per decoder and sums the per-latent gradients.
///  - `SAETrainer` owns everything about optimisation: the objective (fvu + AuxK, MSE + L1, MSE + L0),
///    Adam moments, lr schedule, gradient clipping, dead-latent tracking, the BatchTopK threshold
///    estimate, the data position, and `gradientReducer`: a hook called once per step with every
///    gradient buffer (densified) before clipping and the optimizer step -- data-parallel training
///    plugs an allreduce in there, and every worker then applies the same update.
/// One step (`step(batch:)`):
///  1 xc = x - b_dec;  2 fused encode -> codes;  3 sparse decode x_hat;  4 AuxK codes over the dead
///  latents (gemm over the dead rows only) and its decode;  5 loss terms and G = dL/dx_hat;
///  6 dz per entry (sparse dots);  7 per-latent gradients over the transposed codes, the decoder
///  gradient's component along its row removed (unit-norm rows);  8 reducer hook, clipping;
///  9 one fused pass per latent row: Adam on W_enc and W_dec rows (zero-gradient rows decay their
///  moments exactly as torch's dense Adam), W_dec row renormalised;  10 dead counters, threshold.
public protocol SAEGradientReducer: AnyObject {
    /// Called once per step with the gradient of every parameter (dense, float32): sum them across
    /// workers in place (an allreduce). The losses in `terms` may be reduced too (for reporting).
    func reduce(_ gradients: [(name: String, pointer: UnsafeMutablePointer<Float>, count: Int)]) throws
}

public struct SAEStepStats: Sendable {
    public var loss = 0.0
    public var fvu = 0.0
    public var auxk = 0.0
    public var mse = 0.0
    public var sparsity = 0.0
    public var l0 = 0.0
    public var deadFraction = 0.0
    public var lr = 0.0
}

public final class SAETrainer: @unchecked Sendable {
    public let model: SparseAutoencoder
    public var config: SAEConfig { model.config }
    public weak var gradientReducer: SAEGradientReducer?

    // Optimizer state (torch.optim.Adam, float32 moments).
    let mWenc, vWenc, mWdec, vWdec: FloatBuffer
    let mBenc, vBenc, mBdec, vBdec, mThr, vThr: FloatBuffer
    public internal(set) var adamStep = 0
    /// JumpReLU parameter log(theta); the model's threshold is exp of it.
    let logThreshold: FloatBuffer
    /// Tokens since each latent last fired.
    let sinceFired: Buffer<Int64>
    /// Data position: completed steps, epoch and batch within the epoch, tokens seen.
    public internal(set) var stepsDone = 0
    public internal(set) var epoch = 0
    public internal(set) var batchInEpoch = 0
    public internal(set) var tokensSeen = 0
    /// Whether b_dec (and the input scale) were initialised from data.
    public internal(set) var dataInitialised = false
    /// BatchTopK running threshold estimate.
    public internal(set) var batchThreshold: Double = 0
    /// Per-step training history.
    public internal(set) var history: [HistoryRow] = []

    // Gradients.
    let gWenc, gWdec: FloatBuffer
    let gBenc, gBdec, gThr: FloatBuffer
    let touched: Buffer<UInt8>
    /// ||W_dec,j|| (kept current by the optimizer pass; used by the ReLU L1 penalty).
    let decNorm: FloatBuffer

    public init(model: SparseAutoencoder) {
        self.model = model
        let n = model.nLatents, d = model.dIn
        mWenc = FloatBuffer(n * d, zero: 0); vWenc = FloatBuffer(n * d, zero: 0)
        mWdec = FloatBuffer(n * d, zero: 0); vWdec = FloatBuffer(n * d, zero: 0)
        mBenc = FloatBuffer(n, zero: 0); vBenc = FloatBuffer(n, zero: 0)
        mBdec = FloatBuffer(d, zero: 0); vBdec = FloatBuffer(d, zero: 0)
        mThr = FloatBuffer(n, zero: 0); vThr = FloatBuffer(n, zero: 0)
        logThreshold = FloatBuffer(n, zero: 0)
        // JumpReLU learns log(theta); a threshold <= 0 (e.g. set by the user) starts at log(1e-30).
        for j in 0..<n { logThreshold[j] = Float(log(max(Double(model.threshold[j]), 1e-30))) }
        sinceFired = Buffer<Int64>(n, zero: 0)
        gWenc = FloatBuffer(n * d, zero: 0); gWdec = FloatBuffer(n * d, zero: 0)
        gBenc = FloatBuffer(n, zero: 0); gBdec = FloatBuffer(d, zero: 0); gThr = FloatBuffer(n, zero: 0)
        touched = Buffer<UInt8>(n, zero: 0)
        decNorm = FloatBuffer(n, zero: 0)
        batchThreshold = model.config.architecture == .batchTopK ? Double(model.threshold[0]) : 0
        refreshDecoderNorms()
    }

    /// For a model whose parameters were given (loaded): training keeps b_dec and the input scale.
    public func markDataInitialised() { dataInitialised = true }

    func refreshDecoderNorms() {
        let d = model.dIn, wd = model.wDec.p, dn = decNorm.p
        for j in 0..<model.nLatents { dn[j] = Float(Vec.sumSquares(wd + j * d, d).squareRoot()) }
    }

    // MARK: - Data initialisation

    /// b_dec from a sample (mean or Weiszfeld geometric median) and the input scale
    /// s = sqrt(d) / mean ||x|| when normalize_input (the sample is scaled before b_dec is computed).
    public func initialiseFromData(sample: UnsafePointer<Float>, rows: Int) {
        let d = model.dIn
        if config.normalizeInput {
            var total = 0.0
            for r in 0..<rows { total += Vec.sumSquares(sample + r * d, d).squareRoot() }
            let meanNorm = total / Double(max(rows, 1))
            model.inputScale = meanNorm > 0 ? Float(Double(d).squareRoot() / meanNorm) : 1
        }
        let s = Double(model.inputScale)
        var center = [Double](repeating: 0, count: d)
        center.withUnsafeMutableBufferPointer { c in
            for r in 0..<rows { Reduce.accumulate(sample + r * d, into: c.baseAddress!, d) }
        }
        for i in 0..<d { center[i] = center[i] / Double(max(rows, 1)) * s }
        if config.bDecInit == .geometricMedian {
            center = SAETrainer.geometricMedian(sample, rows: rows, d: d, scale: s, start: center)
        }
        if config.bDecInit == .zero { for i in 0..<d { center[i] = 0 } }
        for i in 0..<d { model.bDec[i] = Float(center[i]) }
        dataInitialised = true
    }

    /// Weiszfeld's algorithm: y <- sum_i w_i x_i / sum_i w_i, w_i = 1 / max(||x_i - y||, 1e-8), from the
    /// mean, until the objective sum_i ||x_i - y|| improves by less than 1e-9 relative (at most 100
    /// iterations) -- the form of SAELens' compute_geometric_median.
    static func geometricMedian(_ x: UnsafePointer<Float>, rows n: Int, d: Int, scale s: Double, start: [Double]) -> [Double] {
        var y = start
        var previous = Double.infinity
        for _ in 0..<100 {
            let chunk = 1024
            let parts = y.withUnsafeBufferPointer { yb in
                Parallel.mapChunks(count: n, chunk: chunk) { range -> ([Double], Double, Double) in
                    var num = [Double](repeating: 0, count: d)
                    var den = 0.0, obj = 0.0
                    for r in range {
                        let row = x + r * d
                        var dist2 = 0.0
                        for i in 0..<d { let t = Double(row[i]) * s - yb[i]; dist2 += t * t }
                        let dist = dist2.squareRoot()
                        obj += dist
                        let w = 1 / max(dist, 1e-8)
                        den += w
                        for i in 0..<d { num[i] += w * Double(row[i]) * s }
                    }
                    return (num, den, obj)
                }
            }
            var num = [Double](repeating: 0, count: d)
            var den = 0.0, obj = 0.0
            for p in parts {
                for i in 0..<d { num[i] += p.0[i] }
                den += p.1; obj += p.2
            }
            for i in 0..<d { y[i] = num[i] / den }
            if previous.isFinite && abs(previous - obj) <= 1e-9 * previous { break }
            previous = obj
        }
        return y
    }

    // MARK: - One step

    // Batch-sized scratch (reallocated when the batch size changes).
    var scratchRows = 0
    var xc = FloatBuffer(0, zero: 0), xhat = FloatBuffer(0, zero: 0), aux = FloatBuffer(0, zero: 0)
    var resid = FloatBuffer(0, zero: 0)
    let codes = SparseCodes(), auxCodes = SparseCodes()

    func ensureScratch(_ rows: Int) {
        if scratchRows == rows { return }
        let d = model.dIn
        xc = FloatBuffer(rows * d, zero: 0); xhat = FloatBuffer(rows * d, zero: 0); aux = FloatBuffer(rows * d, zero: 0)
        resid = FloatBuffer(rows * d, zero: 0)
        scratchRows = rows
    }

    /// One training step on a batch (rows x d, already multiplied by the input scale). `totalSteps`
    /// is the length of the schedule. On a thrown error the parameters are unchanged.
    public func step(batch x: UnsafePointer<Float>, rows B: Int, totalSteps: Int) throws -> SAEStepStats {
        let cfg = config, arch = cfg.architecture
        let d = model.dIn, nl = model.nLatents
        let t = stepsDone + 1
        let lr = cfg.effectiveLearningRate * cfg.lrMultiplier(step: t, total: totalSteps)
        // Without clipping or a reduction hook, the optimizer runs fused into the per-latent gradient
        // pass (each latent's gradient rows are applied while hot and never stored).
        let dense = useDensePath()
        let fused = cfg.gradClip == 0 && gradientReducer == nil && !dense
        var stats = dense ? try denseGradients(batch: x, rows: B)
                          : try computeGradients(batch: x, rows: B, fusedLearningRate: fused ? Float(lr) : nil)
        stats.lr = lr
        var normSq = lastNormSq
        if !fused {

        // 8. Reduction hook, clipping.
        if let reducer = gradientReducer {
            densify()
            try reducer.reduce([("W_enc", gWenc.p, gWenc.count), ("W_dec", gWdec.p, gWdec.count),
                                ("b_enc", gBenc.p, nl), ("b_dec", gBdec.p, d), ("log_threshold", gThr.p, nl)])
            normSq = 0
            for j in 0..<nl { normSq += Vec.sumSquares(gWenc.p + j * d, d) + Vec.sumSquares(gWdec.p + j * d, d) }
            normSq += Vec.sumSquares(gBenc.p, nl) + Vec.sumSquares(gBdec.p, d) + Vec.sumSquares(gThr.p, nl)
        }
        var clip: Float = 1
        if cfg.gradClip > 0 {
            let total = normSq.squareRoot()
            let coef = cfg.gradClip / (total + 1e-6)
            if coef < 1 { clip = Float(coef) }
        }

        // 9. Optimizer.
        optimizerStep(lr: Float(lr), clip: clip)
        }

        // 10. Dead tracking, thresholds, position.
        let fired = Buffer<UInt8>(nl, zero: 0)
        if dense {
            for j in 0..<nl { fired[j] = denseFired[j] }
        } else {
            codes.value.withUnsafeBufferPointer { val in
                codes.latent.withUnsafeBufferPointer { lat in
                    for e in 0..<val.count where val[e] > 0 { fired[Int(lat[e])] = 1 }
                }
            }
        }
        lastDensity = stats.l0 / Double(nl)
        var deadNow = 0
        let limit = Int64(cfg.deadTokens)
        for j in 0..<nl {
            if fired[j] != 0 { sinceFired[j] = 0 } else { sinceFired[j] += Int64(B) }
            if sinceFired[j] > limit { deadNow += 1 }
        }
        stats.deadFraction = Double(deadNow) / Double(nl)
        if arch == .batchTopK {
            var minPositive = Float.infinity
            for v in codes.value where v > 0 { minPositive = min(minPositive, v) }
            if minPositive.isFinite {
                batchThreshold = (1 - cfg.thresholdRate) * batchThreshold + cfg.thresholdRate * Double(minPositive)
            }
            for j in 0..<nl { model.threshold[j] = Float(batchThreshold) }
        }
        stepsDone = t
        tokensSeen += B
        return stats
    }


    /// Squared global gradient norm of the last computeGradients.
    var lastNormSq = 0.0
    /// Fraction of non-zero codes in the last step (chooses the dense or sparse path of ReLU/JumpReLU).
    public internal(set) var lastDensity = 1.0
    var denseFired = Buffer<UInt8>(0, zero: 0)
    var denseA = FloatBuffer(0, zero: 0), denseB = FloatBuffer(0, zero: 0)

    /// ReLU and JumpReLU codes start dense (about half the latents active): while the last step had
    /// more than 5% non-zero codes, a step runs as dense gemms (the sparse products cost ~15x more per
    /// entry than a gemm does per element); TopK/BatchTopK are always sparse.
    /// (LAMINA_SAE_PATH=dense|sparse forces a path, for tests.)
    func useDensePath() -> Bool {
        if config.architecture.isTopKFamily { return false }
        if let forced = getenv("LAMINA_SAE_PATH").map({ String(cString: $0) }) {
            if forced == "dense" { return true }
            if forced == "sparse" { return false }
        }
        return lastDensity > 0.05
    }

    /// The gradients of a ReLU or JumpReLU step with dense codes: pre, z, x_hat, dL/dW_dec = z^T G,
    /// dz = G W_dec^T, dL/dW_enc = dpre^T xc as sgemms split in fixed tasks over rows or latents.
    func denseGradients(batch x: UnsafePointer<Float>, rows B: Int) throws -> SAEStepStats {
        let cfg = config, arch = cfg.architecture
        let d = model.dIn, nl = model.nLatents
        ensureScratch(B)
        if denseA.count != B * nl {
            denseA = FloatBuffer(0, zero: 0); denseB = FloatBuffer(0, zero: 0)
            denseA = FloatBuffer(B * nl, zero: 0); denseB = FloatBuffer(B * nl, zero: 0)
        }
        if denseFired.count != nl { denseFired = Buffer<UInt8>(nl, zero: 0) }
        let t = stepsDone + 1
        var stats = SAEStepStats()
        let wEnc = model.wEnc.p, wDec = model.wDec.p, bEnc = model.bEnc.p, bDec = model.bDec.p
        let theta = model.threshold.p
        let xcp = xc.p, g = xhat.p, A = denseA.p, Z = denseB.p
        let rowBlock = 256, latBlock = 512
        let latTasks = (nl + latBlock - 1) / latBlock
        let sparsityCoef = cfg.l1Coefficient * cfg.sparsityMultiplier(step: t)
        let isJump = arch == .jumpReLU
        // xc, pre (A), z (Z), per-row-block: active counts, L1 and per-latent sums in float64.
        let dn = decNorm.p
        let parts = Parallel.mapChunks(count: B, chunk: rowBlock) { range -> (Int, Double) in
            let r0 = range.lowerBound, nr = range.count
            for r in range { Vec.sub(x + r * d, bDec, xcp + r * d, d) }
            Gemm.abT(m: nr, n: nl, k: d, a: xcp + r0 * d, lda: d, b: wEnc, ldb: d, c: A + r0 * nl, ldc: nl)
            var active = 0, l1 = 0.0
            for r in range {
                let a = A + r * nl, z = Z + r * nl
                for j in 0..<nl {
                    let v = a[j] + bEnc[j]
                    a[j] = v
                    let on = isJump ? v > theta[j] : v > 0
                    z[j] = on ? v : 0
                    if on { active += 1; if !isJump { l1 += Double(v) * Double(dn[j]) } }
                }
            }
            return (active, l1)
        }
        var active = 0, l1 = 0.0
        for p in parts { active += p.0; l1 += p.1 }
        // x_hat = z W_dec + b_dec; G = (2/B)(x_hat - x).
        let gScale = Float(2 / Double(B))
        let sse = Parallel.mapChunks(count: B, chunk: rowBlock) { range -> Double in
            let r0 = range.lowerBound, nr = range.count
            Gemm.ab(m: nr, n: d, k: nl, a: Z + r0 * nl, lda: nl, b: wDec, ldb: d, c: g + r0 * d, ldc: d)
            var s = 0.0
            for r in range {
                let o = g + r * d
                var i = 0
                while i < d { o[i] = o[i] + bDec[i]; i += 1 }
                Vec.sub(o, x + r * d, o, d)
                s += Vec.sumSquares(o, d)
                Vec.scale(o, gScale, d)
            }
            return s
        }.reduce(0, +)
        let variance = SAETrainer.totalVariance(x, rows: B, cols: d)
        stats.mse = sse / Double(B)
        stats.fvu = variance > 0 ? sse / variance : 0
        stats.l0 = Double(active) / Double(B)
        stats.sparsity = isJump ? stats.l0 : l1 / Double(B)
        stats.loss = stats.mse + sparsityCoef * stats.sparsity
        if !stats.loss.isFinite {
            throw LaminaError(.nonFinite, "training diverged at step \(t): the loss is \(stats.loss); lower lr or enable grad_clip (the model keeps step \(t - 1))")
        }
        // dL/dW_dec = z^T G, per latent block; column sums of z (fired, ReLU norm term).
        let gd = gWdec.p, ge = gWenc.p, gbe = gBenc.p, gth = gThr.p
        let l1Coef = Float(sparsityCoef / Double(B))
        let eps = Float(cfg.jumpReLUBandwidth), l0Coef = Float(sparsityCoef / Double(B))
        let fired = denseFired.p
        Parallel.forEachTask(latTasks) { task in
            let j0 = task * latBlock, nj = min(latBlock, nl - j0)
            Gemm.aTb(m: nj, n: d, k: B, a: Z + j0, lda: nl, b: g, ldb: d, c: gd + j0 * d, ldc: d)
            if !isJump {
                var zsum = [Double](repeating: 0, count: nj)
                for r in 0..<B {
                    let z = Z + r * nl + j0
                    for q in 0..<nj { zsum[q] += Double(z[q]) }
                }
                for q in 0..<nj {
                    let j = j0 + q
                    fired[j] = zsum[q] > 0 ? 1 : 0
                    if zsum[q] != 0 && dn[j] > 0 { Vec.axpy(l1Coef * Float(zsum[q]) / dn[j], wDec + j * d, gd + j * d, d) }
                }
            }
        }
        // dz = G W_dec^T (into Z), then dpre in place, with the JumpReLU threshold terms per row block.
        let thrParts = Parallel.mapChunks(count: B, chunk: rowBlock) { range -> [Float] in
            let r0 = range.lowerBound, nr = range.count
            Gemm.abT(m: nr, n: nl, k: d, a: g + r0 * d, lda: d, b: wDec, ldb: d, c: Z + r0 * nl, ldc: nl)
            var dth = [Float](repeating: 0, count: isJump ? nl : 0)
            var firedLocal = [UInt8](repeating: 0, count: isJump ? nl : 0)
            for r in range {
                let a = A + r * nl, z = Z + r * nl
                if isJump {
                    for j in 0..<nl {
                        let th = theta[j], pre = a[j], dz = z[j]
                        let u = (pre - th) / eps
                        if u > -0.5 && u < 0.5 { dth[j] += dz * (-(th / eps)) + l0Coef * (-1 / eps) }
                        if pre > th { firedLocal[j] = 1 } else { z[j] = 0 }
                    }
                } else {
                    for j in 0..<nl { z[j] = a[j] > 0 ? z[j] + l1Coef * dn[j] : 0 }
                }
            }
            return isJump ? dth + firedLocal.map { Float($0) } : []
        }
        // dL/dW_enc = dpre^T xc, db_enc = column sums of dpre, per latent block.
        let encParts = Parallel.mapChunks(count: nl, chunk: latBlock) { range -> [Double] in
            let j0 = range.lowerBound, nj = range.count
            Gemm.aTb(m: nj, n: d, k: B, a: Z + j0, lda: nl, b: xcp, ldb: d, c: ge + j0 * d, ldc: d)
            var colsum = [Double](repeating: 0, count: nj)
            for r in 0..<B {
                let z = Z + r * nl + j0
                for q in 0..<nj { colsum[q] += Double(z[q]) }
            }
            var enc = [Double](repeating: 0, count: d)
            for q in 0..<nj {
                let j = j0 + q
                gbe[j] = Float(colsum[q])
                let w = wEnc + j * d
                if colsum[q] != 0 { for i in 0..<d { enc[i] += colsum[q] * Double(w[i]) } }
            }
            return enc
        }
        for j in 0..<nl { gth[j] = 0 }
        if isJump {
            for j in 0..<nl { fired[j] = 0 }
            for p in thrParts {
                for j in 0..<nl { gth[j] += p[j]; if p[nl + j] != 0 { fired[j] = 1 } }
            }
            for j in 0..<nl { gth[j] = gth[j] * theta[j] }
        }
        var gbd = [Double](repeating: 0, count: d)
        gbd.withUnsafeMutableBufferPointer { c in
            for r in 0..<B { Reduce.accumulate(g + r * d, into: c.baseAddress!, d) }
        }
        for p in encParts { for i in 0..<d { gbd[i] -= p[i] } }
        var normSq = 0.0
        for j in 0..<nl {
            touched[j] = 1
            normSq += Vec.sumSquares(gd + j * d, d) + Vec.sumSquares(ge + j * d, d) + Double(gbe[j]) * Double(gbe[j]) + Double(gth[j]) * Double(gth[j])
        }
        for i in 0..<d { gBdec[i] = Float(gbd[i]); normSq += gbd[i] * gbd[i] }
        lastNormSq = normSq
        return stats
    }

    /// Steps 1-7: forward, loss terms and the gradients of every parameter (touched rows only) at the
    /// current parameters, for the next step t = stepsDone + 1. Parameters are not changed.
    public func computeGradients(batch x: UnsafePointer<Float>, rows B: Int, fusedLearningRate: Float? = nil) throws -> SAEStepStats {
        let cfg = config, arch = cfg.architecture
        let d = model.dIn, nl = model.nLatents
        ensureScratch(B)
        let t = stepsDone + 1
        var stats = SAEStepStats()
        let wEnc = model.wEnc.p, wDec = model.wDec.p, bEnc = model.bEnc.p, bDec = model.bDec.p
        let xcp = xc.p, xhp = xhat.p, auxp = aux.p
        let blocks = (B + 63) / 64

        // 1. xc = x - b_dec
        Parallel.forEachTask(blocks) { tb in
            for r in (tb * 64)..<min(B, tb * 64 + 64) { Vec.sub(x + r * d, bDec, xcp + r * d, d) }
        }

        // Dead latents (before this step).
        var dead: [Int32] = []
        if arch.isTopKFamily && cfg.auxkAlpha > 0 {
            let limit = Int64(cfg.deadTokens)
            for j in 0..<nl where sinceFired[j] > limit { dead.append(Int32(j)) }
        }

        // 2. Encode.
        let sparsityCoef = cfg.l1Coefficient * cfg.sparsityMultiplier(step: t)
        let eps = Float(cfg.jumpReLUBandwidth)
        var lower = FloatBuffer(0, zero: 0)
        switch arch {
        case .topK:
            SAEEncoderKernel.run(xc: xcp, rows: B, d: d, wEnc: wEnc, bEnc: bEnc, nl: nl,
                                 selector: TopKSelector(cap: cfg.k), into: codes)
        case .batchTopK:
            try encodeBatchTopK(B: B)
        case .relu:
            lower = FloatBuffer(nl, zero: 0)
            SAEEncoderKernel.run(xc: xcp, rows: B, d: d, wEnc: wEnc, bEnc: bEnc, nl: nl,
                                 selector: ThresholdSelector(lower: lower.p, active: lower.p), into: codes)
        case .jumpReLU:
            lower = FloatBuffer(nl, zero: 0)
            for j in 0..<nl { lower[j] = model.threshold[j] - eps / 2 }
            SAEEncoderKernel.run(xc: xcp, rows: B, d: d, wEnc: wEnc, bEnc: bEnc, nl: nl,
                                 selector: ThresholdSelector(lower: lower.p, active: model.threshold.p), into: codes)
        }

        // 3.-6. Loss scale from x alone (fvu's denominator), then one pass per row: decode x_hat_b,
        // its squared error, (the residual x - x_hat for AuxK), G_b = dL/dx_hat_b in place of x_hat_b,
        // and dz_e = W_dec[j] . G_b for the row's entries while those decoder rows are still in cache.
        let variance = SAETrainer.totalVariance(x, rows: B, cols: d)
        let gScale: Float
        if arch.isTopKFamily {
            gScale = Float(2 / (variance > 0 ? variance : 1))
        } else {
            gScale = Float(2 / Double(B))
        }
        var extra: FloatBuffer? = nil
        if arch == .relu {
            let e = FloatBuffer(nl, zero: 0)
            let c = Float(sparsityCoef / Double(B))
            for j in 0..<nl { e[j] = c * decNorm[j] }
            extra = e
        }
        let extraP = extra.map { UnsafePointer($0.p) }
        let keepResidual = !dead.isEmpty
        let rp = resid.p
        let sse: Double = codes.latent.withUnsafeBufferPointer { lat in
            codes.value.withUnsafeBufferPointer { val in
                codes.rowStart.withUnsafeBufferPointer { rs in
                    codes.grad.withUnsafeMutableBufferPointer { gr in
                        let gp = gr.baseAddress!
                        return Parallel.mapChunks(count: B, chunk: 64) { range -> Double in
                            var sse = 0.0
                            for r in range {
                                let o = xhp + r * d, xr = x + r * d
                                o.update(from: bDec, count: d)
                                for e in rs[r]..<rs[r + 1] where val[e] != 0 {
                                    Vec.axpy(val[e], wDec + Int(lat[e]) * d, o, d)
                                }
                                Vec.sub(o, xr, o, d)             // x_hat - x
                                sse += Vec.sumSquares(o, d)
                                if keepResidual {
                                    let rr = rp + r * d
                                    for i in 0..<d { rr[i] = -o[i] }
                                }
                                Vec.scale(o, gScale, d)          // G_b
                                for e in rs[r]..<rs[r + 1] {
                                    let j = Int(lat[e])
                                    var v = Vec.dot(wDec + j * d, o, d)
                                    if let extraP { v += extraP[j] }
                                    gp[e] = v
                                }
                            }
                            return sse
                        }.reduce(0, +)
                    }
                }
            }
        }
        if arch.isTopKFamily {
            stats.fvu = sse / (variance > 0 ? variance : 1)
            stats.loss = stats.fvu
            stats.mse = sse / Double(B * d)
        } else {
            stats.mse = sse / Double(B)
            stats.loss = stats.mse
            stats.fvu = variance > 0 ? sse / variance : 0
        }

        var auxScale = 0.0
        if !dead.isEmpty {
            auxScale = try auxK(dead: dead, B: B, stats: &stats)
            if auxScale > 0 { SAEDecoderKernel.codeGradients(auxCodes, wDec: wDec, g: auxp, d: d) }
        }

        // Sparsity terms and L0.
        var active = 0, l1 = 0.0
        codes.value.withUnsafeBufferPointer { val in
            codes.latent.withUnsafeBufferPointer { lat in
                for e in 0..<val.count where val[e] != 0 {
                    active += 1
                    if arch == .relu { l1 += Double(val[e]) * Double(decNorm[Int(lat[e])]) }
                }
            }
        }
        stats.l0 = Double(active) / Double(B)
        if arch == .relu {
            stats.sparsity = l1 / Double(B)
            stats.loss += sparsityCoef * stats.sparsity
        } else if arch == .jumpReLU {
            stats.sparsity = stats.l0
            stats.loss += sparsityCoef * stats.l0
        }
        stats.loss += cfg.auxkAlpha * stats.auxk

        if !stats.loss.isFinite {
            throw LaminaError(.nonFinite, "training diverged at step \(t): the loss is \(stats.loss); lower lr or enable grad_clip (the model keeps step \(t - 1))")
        }

        // 7. Per-latent gradients.
        var fusedAdam: (Float, Float)? = nil
        if let lr = fusedLearningRate { fusedAdam = beginAdam(lr: lr) }
        let clipPartials = latentGradients(B: B, sparsityCoef: sparsityCoef, auxUsed: auxScale > 0, fusedAdam: fusedAdam)
        // b_dec: sum_b G_b - sum_j db_enc[j] W_enc[j]
        var gbd = ColumnStats.sums(xhp, rows: B, cols: d, chunk: 64)
        for p in clipPartials.encTerm { for i in 0..<d { gbd[i] -= p[i] } }
        var normSq = clipPartials.normSq
        for i in 0..<d { gBdec[i] = Float(gbd[i]); normSq += gbd[i] * gbd[i] }
        lastNormSq = normSq
        if let (stepSize, invSqrtBias2) = fusedAdam {
            AdamState.apply(model.bDec.p, gBdec.p, mBdec.p, vBdec.p, d, stepSize, invSqrtBias2, cfg.adam, 1)
        }
        return stats
    }

    /// BatchTopK: per-row candidates (top `cap` of ReLU(pre)), then the top k*B of the batch
    /// (ties by row, then latent order). A row whose every candidate is kept may hide more: the
    /// encode reruns with a wider cap until no row is saturated (exact batch top-k).
    func encodeBatchTopK(B: Int) throws {
        let cfg = config, nl = model.nLatents, d = model.dIn
        var cap = min(nl, 4 * cfg.k)
        while true {
            SAEEncoderKernel.run(xc: xc.p, rows: B, d: d, wEnc: model.wEnc.p, bEnc: model.bEnc.p, nl: nl,
                                 selector: TopKSelector(cap: cap), into: codes)
            let keep = cfg.k * B
            let total = codes.count
            if total <= keep { return }
            var vals = codes.value
            let t = SAETrainer.kthLargest(&vals, keep)
            var above = 0
            for v in codes.value where v > t { above += 1 }
            var tiesLeft = keep - above
            // Saturation check.
            var saturated = false
            if cap < nl {
                for r in 0..<B where codes.rowStart[r + 1] - codes.rowStart[r] == cap {
                    var mn = Float.infinity
                    for e in codes.rowStart[r]..<codes.rowStart[r + 1] { mn = min(mn, codes.value[e]) }
                    if mn >= t { saturated = true; break }
                }
            }
            if saturated { cap = min(nl, cap * 4); continue }
            // Filter (rows in order, entries kept in row order; ties in entry order).
            var newStart = [Int](repeating: 0, count: B + 1)
            var lat: [Int32] = [], val: [Float] = [], pre: [Float] = []
            lat.reserveCapacity(keep); val.reserveCapacity(keep); pre.reserveCapacity(keep)
            for r in 0..<B {
                for e in codes.rowStart[r]..<codes.rowStart[r + 1] {
                    let v = codes.value[e]
                    var take = v > t
                    if !take && v == t && tiesLeft > 0 { take = true; tiesLeft -= 1 }
                    if take { lat.append(codes.latent[e]); val.append(v); pre.append(codes.pre[e]) }
                }
                newStart[r + 1] = lat.count
            }
            codes.rowStart = newStart
            codes.latent = lat; codes.value = val; codes.pre = pre
            codes.grad = [Float](repeating: 0, count: lat.count)
            codes.rowOf = [Int32](repeating: 0, count: lat.count)
            for r in 0..<B { for e in newStart[r]..<newStart[r + 1] { codes.rowOf[e] = Int32(r) } }
            return
        }
    }

    /// The k-th largest value (1-based) of v (reordered), by quickselect with median-of-three pivots.
    static func kthLargest(_ v: inout [Float], _ k: Int) -> Float {
        var lo = 0, hi = v.count - 1
        let target = k - 1
        return v.withUnsafeMutableBufferPointer { a in
            while lo < hi {
                let mid = lo + (hi - lo) / 2
                let x = a[lo], y = a[mid], z = a[hi]
                let pivot = max(min(x, y), min(max(x, y), z))
                var i = lo, j = hi
                while i <= j {
                    while a[i] > pivot { i += 1 }
                    while a[j] < pivot { j -= 1 }
                    if i <= j { a.swapAt(i, j); i += 1; j -= 1 }
                }
                if target <= j { hi = j } else if target >= i { lo = i } else { return a[target] }
            }
            return a[target]
        }
    }

    /// AuxK (Gao et al. 2024): e = x - x_hat; e_hat = W_dec^T TopK_{k_aux'}(ReLU(pre) over dead latents)
    /// with k_aux' = min(k_aux, n_dead); auxk = min(n_dead / k_aux, 1) sum||e_hat - e||^2 /
    /// sum||e - mean(e)||^2. Leaves alpha * dauxk/de_hat in `aux`; returns the scale (0 if unused).
    func auxK(dead: [Int32], B: Int, stats: inout SAEStepStats) throws -> Double {
        let cfg = config, d = model.dIn
        let nDead = dead.count
        let kAux = cfg.effectiveKAux
        let scale = min(Double(nDead) / Double(kAux), 1)
        let cap = min(kAux, nDead)
        let we = FloatBuffer(nDead * d, zero: 0), be = FloatBuffer(nDead, zero: 0)
        for (i, j) in dead.enumerated() {
            (we.p + i * d).update(from: model.wEnc.p + Int(j) * d, count: d)
            be[i] = model.bEnc[Int(j)]
        }
        let rp = resid.p, auxp = aux.p
        dead.withUnsafeBufferPointer { map in
            SAEEncoderKernel.run(xc: xc.p, rows: B, d: d, wEnc: we.p, bEnc: be.p, nl: nDead,
                                 selector: TopKSelector(cap: cap, map: map.baseAddress!), into: auxCodes)
        }
        SAEDecoderKernel.decode(auxCodes, wDec: model.wDec.p, bDec: nil, d: d, into: auxp)
        // e = x - x_hat; its batch mean and variance; sum ||e_hat - e||^2.
        let parts = Parallel.mapChunks(count: B, chunk: 64) { range -> ([Double], Double) in
            var col = [Double](repeating: 0, count: d)
            var s = 0.0
            for r in range {
                for i in 0..<d {
                    let e = Double(rp[r * d + i])
                    col[i] += e
                    let diff = Double(auxp[r * d + i]) - e
                    s += diff * diff
                }
            }
            return (col, s)
        }
        var mean = [Double](repeating: 0, count: d)
        var sq = 0.0
        for p in parts { sq += p.1; for i in 0..<d { mean[i] += p.0[i] } }
        for i in 0..<d { mean[i] /= Double(B) }
        let ve = Parallel.mapChunks(count: B, chunk: 64) { range -> Double in
            var s = 0.0
            for r in range {
                for i in 0..<d {
                    let c = Double(rp[r * d + i]) - mean[i]
                    s += c * c
                }
            }
            return s
        }.reduce(0, +)
        if !(ve > 0) { return 0 }
        stats.auxk = scale * sq / ve
        let g = Float(cfg.auxkAlpha * scale * 2 / ve)
        Parallel.forEachTask((B + 63) / 64) { tb in
            for r in (tb * 64)..<min(B, tb * 64 + 64) {
                for i in 0..<d { auxp[r * d + i] = g * (auxp[r * d + i] - rp[r * d + i]) }
            }
        }
        return scale
    }

    struct LatentPartials {
        var normSq: Double
        var encTerm: [[Double]]
    }

    static let latentChunk = 64

    /// Per-latent gradients over the transposed codes (main and AuxK), one task per chunk of latents.
    func latentGradients(B: Int, sparsityCoef: Double, auxUsed: Bool, fusedAdam: (Float, Float)?) -> LatentPartials {
        let cfg = config, arch = cfg.architecture
        let d = model.dIn, nl = model.nLatents
        let main = SAEDecoderKernel.transpose(codes, latents: nl)
        let auxT = auxUsed ? SAEDecoderKernel.transpose(auxCodes, latents: nl) : nil
        let wEnc = model.wEnc.p, wDec = model.wDec.p, theta = model.threshold.p
        let g = xhat.p, ga = aux.p, xcp = xc.p
        let ge = gWenc.p, gd = gWdec.p, gbe = gBenc.p, gth = gThr.p, touch = touched.p, dn = decNorm.p
        let eps = Float(cfg.jumpReLUBandwidth)
        // The L1 (ReLU) and L0 (JumpReLU) penalties share one coefficient per row.
        let l1Coef = Float(sparsityCoef / Double(B)), l0Coef = l1Coef
        let parts: [(Double, [Double])] = main.start.withUnsafeBufferPointer { ms in
            main.entry.withUnsafeBufferPointer { me in
                codes.value.withUnsafeBufferPointer { val in
                    codes.grad.withUnsafeBufferPointer { grad in
                        codes.pre.withUnsafeBufferPointer { pre in
                            codes.rowOf.withUnsafeBufferPointer { rowOf in
                                auxCodes.value.withUnsafeBufferPointer { aval in
                                    auxCodes.grad.withUnsafeBufferPointer { agrad in
                                        auxCodes.rowOf.withUnsafeBufferPointer { arow in
            Parallel.mapChunks(count: nl, chunk: SAETrainer.latentChunk) { range -> (Double, [Double]) in
                var normSq = 0.0
                let enc = UnsafeMutablePointer<Double>.allocate(capacity: d)
                enc.initialize(repeating: 0, count: d)
                defer { enc.deallocate() }
                let local = fusedAdam == nil ? nil : UnsafeMutablePointer<Float>.allocate(capacity: 2 * d)
                defer { local?.deallocate() }
                for j in range {
                    let m0 = ms[j], m1 = ms[j + 1]
                    var a0 = 0, a1 = 0
                    if let auxT { a0 = auxT.start[j]; a1 = auxT.start[j + 1] }
                    if m0 == m1 && a0 == a1 {
                        touch[j] = 0
                        gbe[j] = 0; gth[j] = 0
                        if let (stepSize, invSqrtBias2) = fusedAdam {
                            self.applyRow(j, nil, nil, stepSize, invSqrtBias2)
                        }
                        continue
                    }
                    touch[j] = 1
                    let gdr = local ?? (gd + j * d), ger = local.map { $0 + d } ?? (ge + j * d)
                    gdr.initialize(repeating: 0, count: d)
                    ger.initialize(repeating: 0, count: d)
                    var db = Float(0), dth = Float(0), zsum = Float(0)
                    for q in m0..<m1 {
                        let e = Int(me[q])
                        let r = Int(rowOf[e])
                        let z = val[e]
                        if z != 0 {
                            let dp = grad[e]
                            Vec.axpy2(z, g + r * d, gdr, dp, xcp + r * d, ger, d)
                            db += dp
                            zsum += z
                        }
                        if arch == .jumpReLU {
                            let th = theta[j]
                            let u = (pre[e] - th) / eps
                            if u > -0.5 && u < 0.5 {
                                // d/dtheta of JumpReLU (recon term) and of the Heaviside step (L0 term).
                                dth += grad[e] * (-(th / eps)) + l0Coef * (-1 / eps)
                            }
                        }
                    }
                    if let auxT {
                        for q in a0..<a1 {
                            let e = Int(auxT.entry[q])
                            let r = Int(arow[e])
                            let z = aval[e]
                            let dp = agrad[e]
                            Vec.axpy2(z, ga + r * d, gdr, dp, xcp + r * d, ger, d)
                            db += dp
                        }
                    }
                    let wdr = wDec + j * d
                    if arch.isTopKFamily {
                        // Remove the component parallel to the (unit-norm) decoder row.
                        let par = Vec.dot(wdr, gdr, d)
                        Vec.axpy(-par, wdr, gdr, d)
                    } else if arch == .relu && zsum != 0 && dn[j] > 0 {
                        // d/dW_dec,j of lambda/B sum_b z_bj ||W_dec,j||.
                        Vec.axpy(l1Coef * zsum / dn[j], wdr, gdr, d)
                    }
                    gbe[j] = db
                    // log-threshold parameterisation: d/dlog(theta) = theta d/dtheta.
                    gth[j] = arch == .jumpReLU ? dth * theta[j] : 0
                    if fusedAdam == nil {  // the norm is for clipping, which the fused path does not do
                        normSq += Vec.sumSquares(gdr, d) + Vec.sumSquares(ger, d) + Double(db) * Double(db) + Double(gth[j]) * Double(gth[j])
                    }
                    if db != 0 { Reduce.accumulate(wEnc + j * d, into: enc, d, weight: Double(db)) }
                    if let (stepSize, invSqrtBias2) = fusedAdam {
                        self.applyRow(j, UnsafePointer(ger), UnsafePointer(gdr), stepSize, invSqrtBias2)
                    }
                }
                if let (stepSize, invSqrtBias2) = fusedAdam {
                    self.applySmall(range, stepSize, invSqrtBias2, 1)
                }
                return (normSq, Array(UnsafeBufferPointer(start: enc, count: d)))
            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        var normSq = 0.0
        for p in parts { normSq += p.0 }
        return LatentPartials(normSq: normSq, encTerm: parts.map { $0.1 })
    }

    /// Zero-fills the rows of untouched latents (for the reduction hook, which sees dense buffers).
    func densify() {
        let d = model.dIn
        for j in 0..<model.nLatents where touched[j] == 0 {
            (gWenc.p + j * d).initialize(repeating: 0, count: d)
            (gWdec.p + j * d).initialize(repeating: 0, count: d)
            touched[j] = 1
        }
    }

    /// Adam (torch's rule, as AdamState.apply) on every parameter, fused per latent row: W_enc row,
    /// W_dec row (then renormalised for TopK/BatchTopK), b_enc, log-threshold; then b_dec.
    func optimizerStep(lr: Float, clip: Float) {
        let (stepSize, invSqrtBias2) = beginAdam(lr: lr)
        let nl = model.nLatents, d = model.dIn
        let ge = gWenc.p, gd = gWdec.p, touch = touched.p
        let chunk = SAETrainer.latentChunk
        Parallel.forEachTask((nl + chunk - 1) / chunk) { task in
            let range = (task * chunk)..<min(nl, task * chunk + chunk)
            for j in range {
                let hasGrad = touch[j] != 0
                self.applyRow(j, hasGrad ? UnsafePointer(ge + j * d) : nil, hasGrad ? UnsafePointer(gd + j * d) : nil,
                              stepSize, invSqrtBias2, clip)
            }
            self.applySmall(range, stepSize, invSqrtBias2, clip)
        }
        AdamState.apply(model.bDec.p, gBdec.p, mBdec.p, vBdec.p, d, stepSize, invSqrtBias2, config.adam, clip)
    }

    /// Starts an Adam step: t += 1, returns (lr / (1 - b1^t), 1 / sqrt(1 - b2^t)).
    func beginAdam(lr: Float) -> (Float, Float) {
        adamStep += 1
        return AdamState.stepFactors(step: adamStep, learningRate: lr, config: config.adam)
    }

    /// Adam on the W_enc and W_dec rows of latent j (nil gradient = zero), then the W_dec row
    /// renormalised (TopK family) and its norm recorded.
    @inline(__always)
    func applyRow(_ j: Int, _ gEnc: UnsafePointer<Float>?, _ gDec: UnsafePointer<Float>?, _ stepSize: Float,
                  _ invSqrtBias2: Float, _ clip: Float = 1) {
        let d = model.dIn, o = j * d, a = config.adam
        let wd = model.wDec.p
        AdamState.apply(model.wEnc.p + o, gEnc, mWenc.p + o, vWenc.p + o, d, stepSize, invSqrtBias2, a, clip)
        AdamState.apply(wd + o, gDec, mWdec.p + o, vWdec.p + o, d, stepSize, invSqrtBias2, a, clip)
        let norm = Vec.sumSquares(wd + o, d).squareRoot()
        if config.architecture.isTopKFamily {
            Vec.scale(wd + o, Float(1 / (norm + Double(Float.ulpOfOne))), d)
            decNorm[j] = Float(Vec.sumSquares(wd + o, d).squareRoot())
        } else {
            decNorm[j] = Float(norm)
        }
    }

    /// Adam on b_enc (and the JumpReLU log-thresholds) of a range of latents.
    func applySmall(_ range: Range<Int>, _ stepSize: Float, _ invSqrtBias2: Float, _ clip: Float) {
        let j0 = range.lowerBound, cnt = range.count, a = config.adam
        AdamState.apply(model.bEnc.p + j0, gBenc.p + j0, mBenc.p + j0, vBenc.p + j0, cnt, stepSize, invSqrtBias2, a, clip)
        if config.architecture == .jumpReLU {
            AdamState.apply(logThreshold.p + j0, gThr.p + j0, mThr.p + j0, vThr.p + j0, cnt, stepSize, invSqrtBias2, a, clip)
            for j in range { model.threshold[j] = Float(exp(Double(logThreshold[j]))) }
        }
    }
}

extension SAETrainer {
    /// sum_b ||x_b - mean_batch(x)||^2 in float64: fvu's denominator (fixed chunks, deterministic).
    static func totalVariance(_ x: UnsafePointer<Float>, rows: Int, cols d: Int) -> Double {
        var mean = ColumnStats.sums(x, rows: rows, cols: d, chunk: 64)
        for i in 0..<d { mean[i] /= Double(rows) }
        return mean.withUnsafeBufferPointer { m in
            Parallel.mapChunks(count: rows, chunk: 64) { range -> Double in
                var s = 0.0
                for r in range { s += Reduce.squaredDistance(x + r * d, m.baseAddress!, d) }
                return s
            }.reduce(0, +)
        }
    }
}

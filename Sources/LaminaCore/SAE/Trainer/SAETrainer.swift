#if canImport(Glibc)
import Glibc
#endif

// The design of the SAE (model / trainer split, one step in ten stages) is in SAE/README.md; the
// per-architecture behaviour is behind SAEArchitectureRule (SAE/Architectures/).

package protocol SAEGradientReducer: AnyObject {
    /// Called once per step with the gradient of every parameter (dense, float32): sum them across
    /// workers in place (an allreduce). The losses in `terms` may be reduced too (for reporting).
    func reduce(_ gradients: [(name: String, pointer: UnsafeMutablePointer<Float>, count: Int)]) throws
}

package struct SAEStepStats: Sendable {
    package var loss = 0.0
    package var fvu = 0.0
    package var auxk = 0.0
    package var mse = 0.0
    package var sparsity = 0.0
    package var l0 = 0.0
    package var deadFraction = 0.0
    package var lr = 0.0
}

package final class SAETrainer: @unchecked Sendable {
    package let model: SparseAutoencoder
    package var config: SAEConfig { model.config }
    /// The architecture's behaviour (activation rule, objective, penalty, threshold handling) and the
    /// two enums the kernels branch on, read once here.
    let rule: any SAEArchitectureRule
    let objective: SAEObjective
    let penalty: SAESparsityPenalty
    package weak var gradientReducer: SAEGradientReducer?
    /// Data-parallel training (Distributed.swift): the reducer, this worker's rank and the world size.
    package var distribution: SAEDistribution?
    /// In-memory data: shuffle each epoch (default) or take rows in order.
    package var shuffle = true
    /// Set by a distributed step for the FVU objective: the global batch variance.
    var varianceOverride: Double?
    /// Set by a distributed BatchTopK step: the smallest kept code of the global batch.
    var batchMinPositive: Float?
    var packed = FloatBuffer(0, zero: 0)
    /// The gradient reduction (SparseReduce.swift): dense, or the rows of touched latents only; the
    /// values sent by the last step's reductions and the union of touched latents (sparse mode).
    package var reduceMode = SAEReduceMode.dense
    var sparseFlags = FloatBuffer(0, zero: 0), sparseRows = FloatBuffer(0, zero: 0)
    package internal(set) var lastReducedValues = 0, lastTouchedUnion = 0
    /// The row count gradients are normalised by: the global batch when distributed.
    func normRows(_ B: Int) -> Int { distribution == nil ? B : config.batchSize }

    // Optimizer state (torch.optim.Adam, float32 moments).
    let mWenc, vWenc, mWdec, vWdec: FloatBuffer
    let mBenc, vBenc, mBdec, vBdec, mThr, vThr: FloatBuffer
    package internal(set) var adamStep = 0
    /// JumpReLU parameter log(theta); the model's threshold is exp of it.
    let logThreshold: FloatBuffer
    /// Tokens since each latent last fired.
    let sinceFired: Buffer<Int64>
    /// Data position: completed steps, epoch and batch within the epoch, tokens seen.
    package internal(set) var stepsDone = 0
    package internal(set) var epoch = 0
    package internal(set) var batchInEpoch = 0
    package internal(set) var tokensSeen = 0
    /// Whether b_dec (and the input scale) were initialised from data.
    package internal(set) var dataInitialised = false
    /// BatchTopK running threshold estimate.
    package internal(set) var batchThreshold: Double = 0
    /// Per-step training history.
    package internal(set) var history: [HistoryRow] = []

    // Gradients.
    let gWenc, gWdec: FloatBuffer
    let gBenc, gBdec, gThr: FloatBuffer
    let touched: Buffer<UInt8>
    /// ||W_dec,j|| (kept current by the optimizer pass; used by the ReLU L1 penalty).
    let decNorm: FloatBuffer

    package init(model: SparseAutoencoder) {
        self.model = model
        rule = model.config.architecture.rule
        objective = rule.objective
        penalty = rule.penalty
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
        batchThreshold = rule.keepsThresholdEstimate ? Double(model.threshold[0]) : 0
        refreshDecoderNorms()
    }

    /// For a model whose parameters were given (loaded): training keeps b_dec and the input scale.
    package func markDataInitialised() { dataInitialised = true }

    func refreshDecoderNorms() {
        let d = model.dIn, wd = model.wDec.p, dn = decNorm.p
        for j in 0..<model.nLatents { dn[j] = Float(Vec.sumSquares(wd + j * d, d).squareRoot()) }
    }

    // MARK: - One step

    // Batch-sized scratch (reallocated when the batch size changes).
    var scratchRows = 0
    var xc = FloatBuffer(0, zero: 0), xhat = FloatBuffer(0, zero: 0), aux = FloatBuffer(0, zero: 0)
    var resid = FloatBuffer(0, zero: 0)
    let codes = SparseCodes(), auxCodes = SparseCodes()
    /// Matryoshka: the suffix sums of the prefix-loss gradients (G x batch x d_in, MatryoshkaLoss.swift)
    /// and the last step's FVU of every prefix.
    var prefixGrad = FloatBuffer(0, zero: 0)
    package internal(set) var lastPrefixFVU: [Double] = []

    func ensureScratch(_ rows: Int) {
        if scratchRows == rows { return }
        let d = model.dIn
        xc = FloatBuffer(rows * d, zero: 0); xhat = FloatBuffer(rows * d, zero: 0); aux = FloatBuffer(rows * d, zero: 0)
        resid = FloatBuffer(rows * d, zero: 0)
        scratchRows = rows
    }

    /// One training step on a batch (rows x d, already multiplied by the input scale). `totalSteps`
    /// is the length of the schedule. On a thrown error the parameters are unchanged.
    package func step(batch x: UnsafePointer<Float>, rows B: Int, totalSteps: Int) throws -> SAEStepStats {
        let cfg = config
        let d = model.dIn, nl = model.nLatents
        let t = stepsDone + 1
        let lr = cfg.effectiveLearningRate * cfg.lrMultiplier(step: t, total: totalSteps)
        // Without clipping or a reduction hook, the optimizer runs fused into the per-latent gradient
        // pass (each latent's gradient rows are applied while hot and never stored).
        let dense = useDensePath()
        let dist = distribution
        let globalB = normRows(B)
        let fused = cfg.gradClip == 0 && gradientReducer == nil && dist == nil && !dense
        varianceOverride = nil
        batchMinPositive = nil
        if let dist, objective == .fvuAuxK {
            varianceOverride = try globalVariance(dist, batch: x, rows: B, globalRows: globalB)
        }
        var stats = dense ? try denseGradients(batch: x, rows: B)
                          : try computeGradients(batch: x, rows: B, fusedLearningRate: fused ? Float(lr) : nil)
        stats.lr = lr
        var normSq = lastNormSq
        var reducedFired: Buffer<UInt8>? = nil
        if let dist {
            let red = try reduceStep(dist, batch: x, stats: stats, rows: B, dense: dense)
            reducedFired = red.fired
            stats = globalStats(sse: red.sse, active: red.active, l1: red.l1, variance: red.variance, auxk: stats.auxk,
                                prefixSSE: red.prefixSSE, rows: globalB, step: t)
            stats.lr = lr
            if !stats.loss.isFinite {
                throw LaminaError(.nonFinite, "training diverged at step \(t): the loss is \(stats.loss); lower lr or enable grad_clip (the model keeps step \(t - 1))")
            }
            normSq = 0
            for j in 0..<nl { normSq += Vec.sumSquares(gWenc.p + j * d, d) + Vec.sumSquares(gWdec.p + j * d, d) }
            normSq += Vec.sumSquares(gBenc.p, nl) + Vec.sumSquares(gBdec.p, d) + Vec.sumSquares(gThr.p, nl)
        }
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
        let fired = reducedFired ?? Buffer<UInt8>(nl, zero: 0)
        if reducedFired != nil {
        } else if dense {
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
            if fired[j] != 0 { sinceFired[j] = 0 } else { sinceFired[j] += Int64(globalB) }
            if sinceFired[j] > limit { deadNow += 1 }
        }
        stats.deadFraction = Double(deadNow) / Double(nl)
        rule.finishStep(self)
        stepsDone = t
        tokensSeen += globalB
        return stats
    }

    /// Squared global gradient norm of the last computeGradients.
    var lastNormSq = 0.0
    /// Fraction of non-zero codes in the last step (chooses the dense or sparse path of ReLU/JumpReLU).
    package internal(set) var lastDensity = 1.0
    var denseFired = Buffer<UInt8>(0, zero: 0)
    var denseA = FloatBuffer(0, zero: 0), denseB = FloatBuffer(0, zero: 0)
}

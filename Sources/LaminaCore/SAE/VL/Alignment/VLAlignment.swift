#if canImport(Glibc)
import Glibc
#endif

/// The optional alignment stage run before a VL-SAE on models whose two modalities are not aligned
/// already (LLaVA-style hidden states, or widths that differ): one linear projection per modality,
/// P_v (d_common x d_vision) and P_t (d_common x d_text), learned on the pairs (V[i], T[i]) with a
/// symmetric InfoNCE loss (CLIP's) plus a tied reconstruction term. On a batch of B pairs:
///
///   x^_m = x_m / ||x_m||                      (input rows; a zero row is an error naming it)
///   y_m = P_m x^_m,  u_m = y_m / max(||y_m||, 1e-12)          (F.normalize)
///   L_ij = (u_v,i . u_t,j) / tau              (B x B logits: one sgemm)
///   InfoNCE = 1/(2B) sum_i [logsumexp_j L_ij - L_ii] + 1/(2B) sum_j [logsumexp_i L_ij - L_jj]
///   R_m = 1/B sum_i || P_m^T y_m,i - x^_m,i ||^2      (tied reconstruction: P_m^T decodes P_m)
///   loss = InfoNCE + recon_weight (R_v + R_t)
///
/// The reconstruction term keeps each P_m close to a partial isometry on its data (P_m^T P_m x ~ x), so
/// the projection cannot collapse onto the few directions that separate the batch and the cosines the
/// VL-SAE later reads stay those of the modality; the tied transpose needs no extra decoder. tau is fixed
/// (default 0.07, CLIP's initial value). Gradients (G = dInfoNCE/dL = (softmax_rows(L) + softmax_cols(L)
/// - 2 I) / (2B)):
///   dU_v = G U_t / tau,  dU_t = G^T U_v / tau,  dy = (du - (u.du) u) / max(||y||, 1e-12)
///   E_m = Y_m P_m - X^_m;  dY_m += 2 lambda / B  E_m P_m^T;  dP_m = dY_m^T X^_m + 2 lambda / B  Y_m^T E_m
/// all as sgemms; the logsumexps and loss sums in float64. Adam (torch's) with a constant lr; a seeded
/// pair order per epoch; the same data, config and thread count give bit-identical projections.
package struct VLAlignConfig: Sendable, Equatable {
    package var dVision: Int
    package var dText: Int
    package var dCommon: Int
    package var temperature = 0.07
    package var reconWeight = 0.1
    package var learningRate = 1e-3
    package var batchSize = 256
    package var adam = AdamConfig()
    package var seed: UInt64 = 0

    package init(dVision: Int, dText: Int, dCommon: Int) {
        self.dVision = dVision; self.dText = dText; self.dCommon = dCommon
    }

    package func check() throws {
        for (v, name) in [(dVision, "d_vision"), (dText, "d_text"), (dCommon, "d_common")] where v < 1 || v > (1 << 24) {
            throw LaminaError.invalid("\(name) is \(v); expected 1 <= \(name) <= \(1 << 24)")
        }
        if !(temperature > 0 && temperature.isFinite) { throw LaminaError.invalid("temperature is \(temperature); expected a finite value > 0") }
        if !(reconWeight >= 0 && reconWeight.isFinite) { throw LaminaError.invalid("recon_weight is \(reconWeight); expected a finite value >= 0") }
        if !(learningRate > 0 && learningRate.isFinite) { throw LaminaError.invalid("lr is \(learningRate); expected a finite value > 0") }
        if batchSize < 2 || batchSize > (1 << 16) {
            throw LaminaError.invalid("batch_size is \(batchSize); expected 2 <= batch_size <= \(1 << 16) (InfoNCE contrasts the pairs of a batch; its logits are batch x batch)")
        }
        if let p = adam.problem { throw LaminaError.invalid("adam " + p) }
        let (cv, o1) = dCommon.multipliedReportingOverflow(by: dVision), (ct, o2) = dCommon.multipliedReportingOverflow(by: dText)
        if o1 || o2 || cv > (1 << 32) || ct > (1 << 32) {
            throw LaminaError.invalid("d_common x d_vision or d_common x d_text exceeds 2^32 values")
        }
    }

    package func dim(_ m: VLModality) -> Int { m == .vision ? dVision : dText }
}

package final class VLAlignment: @unchecked Sendable {
    package let config: VLAlignConfig
    /// P_vision (d_common x d_vision) and P_text (d_common x d_text), row-major.
    package let pV, pT: FloatBuffer
    let mV, vV, mT, vT: FloatBuffer
    package internal(set) var adamStep = 0
    package internal(set) var pairsSeen = 0

    package struct Stats: Sendable {
        package var loss = 0.0, infoNCE = 0.0, reconVision = 0.0, reconText = 0.0, lr = 0.0
    }
    package internal(set) var history: [Stats] = []

    /// Seeded initialisation as nn.Linear(d_m, d_common, bias=False): U(-1/sqrt(d_m), 1/sqrt(d_m)), one
    /// xoshiro256** stream per matrix.
    package init(_ config: VLAlignConfig) throws {
        try config.check()
        self.config = config
        let c = config.dCommon
        pV = try FloatBuffer(checked: c * config.dVision, zero: 0, "P_vision (\(c) x \(config.dVision))")
        pT = try FloatBuffer(checked: c * config.dText, zero: 0, "P_text (\(c) x \(config.dText))")
        mV = try FloatBuffer(checked: pV.count, zero: 0, "Adam moments of P_vision"); vV = try FloatBuffer(checked: pV.count, zero: 0, "Adam moments of P_vision")
        mT = try FloatBuffer(checked: pT.count, zero: 0, "Adam moments of P_text"); vT = try FloatBuffer(checked: pT.count, zero: 0, "Adam moments of P_text")
        for (b, dm, stream) in [(pV, config.dVision, UInt64(11)), (pT, config.dText, UInt64(12))] {
            var rng = Xoshiro256(seed: config.seed ^ (stream &* 0x9E37_79B9_7F4A_7C15))
            let bound = 1 / Double(dm).squareRoot()
            for i in 0..<b.count { b[i] = Float((2 * rng.nextUnit() - 1) * bound) }
        }
    }

    package func projection(_ m: VLModality) -> FloatBuffer { m == .vision ? pV : pT }

    // MARK: - Loss and gradient

    /// The loss terms on one batch of raw rows (B x d_vision, B x d_text; B >= 1) and, when the
    /// gradient buffers are given, dloss/dP_v and dloss/dP_t (d_common x d_m). A zero row is an error
    /// naming it (rowOffset + its batch index) in `what`.
    package func lossAndGradient(vision xv: UnsafePointer<Float>, text xt: UnsafePointer<Float>, rows B: Int,
                                 gradVision: UnsafeMutablePointer<Float>?, gradText: UnsafeMutablePointer<Float>?) throws -> Stats {
        let c = config, dc = c.dCommon, tau = c.temperature, lam = c.reconWeight
        func buf(_ n: Int, _ what: String) throws -> FloatBuffer { try FloatBuffer(checked: n, zero: 0, what) }
        let xs = [try buf(B * c.dVision, "normalised vision rows"), try buf(B * c.dText, "normalised text rows")]
        xs[0].p.update(from: xv, count: B * c.dVision); xs[1].p.update(from: xt, count: B * c.dText)
        try VLSparseAutoencoder.normaliseInput(xs[0].p, rows: B, d: c.dVision, rowOffset: 0, "vision batch")
        try VLSparseAutoencoder.normaliseInput(xs[1].p, rows: B, d: c.dText, rowOffset: 0, "text batch")
        let ps = [pV, pT], dims = [c.dVision, c.dText]
        var ys: [FloatBuffer] = [], us: [FloatBuffer] = [], ny: [[Float]] = []
        for m in 0..<2 {
            let y = try buf(B * dc, "projected rows"), u = try buf(B * dc, "normalised projected rows")
            Gemm.abT(m: B, n: dc, k: dims[m], a: xs[m].p, lda: dims[m], b: ps[m].p, ldb: dims[m], c: y.p, ldc: dc)
            var norms = [Float](repeating: 0, count: B)
            for i in 0..<B {
                let nr = Float(max(Vec.sumSquares(y.p + i * dc, dc).squareRoot(), 1e-12))
                norms[i] = nr
                for j in 0..<dc { u.p[i * dc + j] = y.p[i * dc + j] / nr }
            }
            ys.append(y); us.append(u); ny.append(norms)
        }
        // Logits and the symmetric InfoNCE.
        let g = try buf(B * B, "the batch logits (\(B) x \(B))")
        Gemm.abT(m: B, n: B, k: dc, alpha: Float(1 / tau), a: us[0].p, lda: dc, b: us[1].p, ldb: dc, c: g.p, ldc: B)
        var rowMax = [Double](repeating: -.infinity, count: B), colMax = rowMax
        for i in 0..<B { for j in 0..<B { let l = Double(g.p[i * B + j]); rowMax[i] = max(rowMax[i], l); colMax[j] = max(colMax[j], l) } }
        var rowSum = [Double](repeating: 0, count: B), colSum = rowSum
        for i in 0..<B {
            for j in 0..<B {
                let l = Double(g.p[i * B + j])
                rowSum[i] += exp(l - rowMax[i]); colSum[j] += exp(l - colMax[j])
            }
        }
        var nce = 0.0
        for i in 0..<B {
            let lii = Double(g.p[i * B + i])
            nce += (rowMax[i] + log(rowSum[i]) - lii) + (colMax[i] + log(colSum[i]) - lii)
        }
        nce /= Double(2 * B)
        var stats = Stats()
        stats.infoNCE = nce
        // G / tau in place of the logits: dInfoNCE/dS.
        let scale = 1 / (Double(2 * B) * tau)
        for i in 0..<B {
            for j in 0..<B {
                let l = Double(g.p[i * B + j])
                var v = exp(l - rowMax[i]) / rowSum[i] + exp(l - colMax[j]) / colSum[j]
                if i == j { v -= 2 }
                g.p[i * B + j] = Float(v * scale)
            }
        }
        // Reconstruction terms, E_m = Y_m P_m - X^_m.
        var es: [FloatBuffer] = []
        var recon = [0.0, 0.0]
        for m in 0..<2 {
            let e = try buf(B * dims[m], "the reconstruction residual")
            Gemm.ab(m: B, n: dims[m], k: dc, a: ys[m].p, lda: dc, b: ps[m].p, ldb: dims[m], c: e.p, ldc: dims[m])
            var s = 0.0
            for i in 0..<(B * dims[m]) { e.p[i] -= xs[m].p[i]; s += Double(e.p[i]) * Double(e.p[i]) }
            recon[m] = s / Double(B)
            es.append(e)
        }
        stats.reconVision = recon[0]; stats.reconText = recon[1]
        stats.loss = nce + lam * (recon[0] + recon[1])
        if !stats.loss.isFinite { throw LaminaError(.nonFinite, "the alignment loss is not finite (\(stats.loss)); lower lr") }
        guard gradVision != nil || gradText != nil else { return stats }
        // dU_v = G U_t, dU_t = G^T U_v (G already holds the 1/tau factor).
        let outs = [gradVision, gradText]
        for m in 0..<2 {
            guard let out = outs[m] else { continue }
            let du = try buf(B * dc, "the projected-row gradient")
            if m == 0 {
                Gemm.ab(m: B, n: dc, k: B, a: g.p, lda: B, b: us[1].p, ldb: dc, c: du.p, ldc: dc)
            } else {
                Gemm.aTb(m: B, n: dc, k: B, a: g.p, lda: B, b: us[0].p, ldb: dc, c: du.p, ldc: dc)
            }
            let u = us[m].p
            for i in 0..<B {
                let dot = Vec.dot(u + i * dc, du.p + i * dc, dc)
                let inv = 1 / ny[m][i]
                for j in 0..<dc { du.p[i * dc + j] = (du.p[i * dc + j] - Float(dot) * u[i * dc + j]) * inv }
            }
            // dY += 2 lambda / B  E P^T
            let r = Float(2 * lam / Double(B))
            Gemm.abT(m: B, n: dc, k: dims[m], alpha: r, a: es[m].p, lda: dims[m], b: ps[m].p, ldb: dims[m], beta: 1, c: du.p, ldc: dc)
            // dP = dY^T X^ + 2 lambda / B  Y^T E
            Gemm.aTb(m: dc, n: dims[m], k: B, a: du.p, lda: dc, b: xs[m].p, ldb: dims[m], c: out, ldc: dims[m])
            Gemm.aTb(m: dc, n: dims[m], k: B, alpha: r, a: ys[m].p, lda: dc, b: es[m].p, ldb: dims[m], beta: 1, c: out, ldc: dims[m])
        }
        return stats
    }

    // MARK: - Training

    /// Trains `epochs` epochs over the pairs: each epoch visits every pair once in a seeded random order
    /// (the same for both modalities), in ceil(n / batch_size) batches; a last batch of one pair is
    /// merged into the previous one (InfoNCE needs >= 2 pairs). Adam with a constant lr. `progress` after
    /// every step; a false return stops with LaminaError(.cancelled), the projections at their last step.
    package func train(vision: MemoryRows, text: MemoryRows, epochs: Int, progress: ProgressHandler?) throws {
        let c = config
        if vision.rows != text.rows {
            throw LaminaError.shape("vision has \(vision.rows) rows but text has \(text.rows); expected paired rows (the same count)")
        }
        if vision.cols != c.dVision { throw LaminaError.shape("vision has d = \(vision.cols) features; this alignment has d_vision = \(c.dVision)") }
        if text.cols != c.dText { throw LaminaError.shape("text has d = \(text.cols) features; this alignment has d_text = \(c.dText)") }
        if epochs < 1 { throw LaminaError.invalid("epochs is \(epochs); expected >= 1") }
        let n = vision.rows
        if n < 2 { throw LaminaError.invalid("n is \(n); the InfoNCE alignment needs >= 2 pairs") }
        if n > Int(Int32.max) { throw LaminaError.invalid("n is \(n); expected at most \(Int32.max) pairs") }
        try VLSAETrainer.validate(vision, .vision)
        try VLSAETrainer.validate(text, .text)
        let B = min(c.batchSize, n)
        var bounds: [Int] = Array(stride(from: 0, to: n, by: B)) + [n]
        if bounds.count > 2 && n - bounds[bounds.count - 2] == 1 { bounds.remove(at: bounds.count - 2) }
        let maxRows = bounds.indices.dropLast().map { bounds[$0 + 1] - bounds[$0] }.max()!
        let bv = try FloatBuffer(checked: maxRows * c.dVision, zero: 0, "a vision batch")
        let bt = try FloatBuffer(checked: maxRows * c.dText, zero: 0, "a text batch")
        let gv = try FloatBuffer(checked: pV.count, zero: 0, "the P_vision gradient")
        let gt = try FloatBuffer(checked: pT.count, zero: 0, "the P_text gradient")
        let total = epochs * (bounds.count - 1)
        let started = monotonicSeconds(), startPairs = pairsSeen
        var step = 0
        for epoch in 0..<epochs {
            var order = (0..<n).map { Int32($0) }
            var rng = Xoshiro256(seed: c.seed ^ (UInt64(truncatingIfNeeded: adamStep + 1) &* 0xC2B2_AE3D_27D4_EB4F)
                                 ^ (UInt64(truncatingIfNeeded: epoch + 1) &* 0x9E37_79B9_7F4A_7C15))
            rng.shuffle(&order)
            for b in 0..<(bounds.count - 1) {
                let lo = bounds[b], rows = bounds[b + 1] - lo
                order.withUnsafeBufferPointer { ord in
                    for r in 0..<rows {
                        vision.readRow(Int(ord[lo + r]), into: bv.p + r * c.dVision)
                        text.readRow(Int(ord[lo + r]), into: bt.p + r * c.dText)
                    }
                }
                var stats = try lossAndGradient(vision: bv.p, text: bt.p, rows: rows, gradVision: gv.p, gradText: gt.p)
                for i in 0..<gv.count where !gv[i].isFinite { throw LaminaError(.nonFinite, "the P_vision gradient is not finite; lower lr") }
                for i in 0..<gt.count where !gt[i].isFinite { throw LaminaError(.nonFinite, "the P_text gradient is not finite; lower lr") }
                adamStep += 1
                let (stepSize, invSqrtBias2) = AdamState.stepFactors(step: adamStep, learningRate: Float(c.learningRate), config: c.adam)
                AdamState.apply(pV.p, gv.p, mV.p, vV.p, pV.count, stepSize, invSqrtBias2, c.adam)
                AdamState.apply(pT.p, gt.p, mT.p, vT.p, pT.count, stepSize, invSqrtBias2, c.adam)
                stats.lr = c.learningRate
                history.append(stats)
                pairsSeen += rows
                step += 1
                if let progress {
                    let elapsed = max(monotonicSeconds() - started, 1e-9)
                    let report = ProgressReport(task: "vlalign_train", step: step, totalSteps: total, items: pairsSeen,
                                                loss: stats.loss, itemsPerSecond: Double(pairsSeen - startPairs) / elapsed,
                                                termNames: ["infonce", "recon_vision", "recon_text", "lr"],
                                                terms: [stats.infoNCE, stats.reconVision, stats.reconText, stats.lr])
                    if !progress(report) { throw LaminaError.cancelled("vlalign_train", step: step) }
                }
            }
        }
    }

    /// P_m x for every row of x (rows x d_m) into out (rows x d_common); x is used as given (not normalised).
    package func transform(_ x: UnsafePointer<Float>, rows: Int, _ m: VLModality, into out: UnsafeMutablePointer<Float>) {
        if rows == 0 { return }
        let dm = config.dim(m)
        Gemm.abT(m: rows, n: config.dCommon, k: dm, a: x, lda: dm, b: projection(m).p, ldb: dm, c: out, ldc: config.dCommon)
    }
}

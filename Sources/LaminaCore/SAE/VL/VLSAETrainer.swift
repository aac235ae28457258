#if canImport(Glibc)
import Glibc
#endif

/// Training of a VL-SAE on paired rows (V[i], T[i]). One step on a batch:
///  1. u_m = x_m / ||x_m|| for both modalities (P_m x_m normalised with input projections); w^ = W / ||W|| (row norms kept)
///  2. codes per modality: the fused gemm + top-k tile pass on s = u . w^, then a = 2 - dist exactly
///  3. x^_m = b_m + z_m W_dec,m (sparse); G_m = 2 w_m (x^_m - x_m) / (B d_m)
///  4. dz_e = W_dec,m[j] . G_m[row e] (sparse); da/ds = 1 / dist, c_e = dz_e / dist_e (0 where
///     dist^2 <= 1e-30: torch's cdist clamps dist^2 there, so no gradient flows)
///  5. per latent j (entries of both modalities grouped by latent):
///       dW_dec,m[j] = sum_{e -> j} z_e G_m[row e]
///       g_j = sum_{e -> j, both modalities} c_e u[row e];   dW_j = (g_j - (w^_j . g_j) w^_j) / ||W_j||
///     (the Jacobian of the row normalisation), then Adam on W_j, W_dec,v[j], W_dec,t[j] fused;
///     db_m = sum_rows G_m, Adam on b_v, b_t.
///  6. tokens since each latent last fired (in either modality): the dead fraction.
/// Every sum has a fixed order (fixed task chunks), so the result is deterministic for a seed and
/// thread count. Adam is torch's (a latent without entries gets a zero gradient: its moments decay
/// and its parameters still move, as torch's dense Adam does).
package final class VLSAETrainer: @unchecked Sendable {
    package let model: VLSparseAutoencoder
    var config: VLSAEConfig { model.config }
    let mW, vW, mDV, vDV, mDT, vDT, mBV, vBV, mBT, vBT: FloatBuffer
    package internal(set) var adamStep = 0
    package internal(set) var stepsDone = 0
    package internal(set) var tokensSeen = 0
    let sinceFired: Buffer<Int64>

    package struct Stats: Sendable {
        package var loss = 0.0, mseVision = 0.0, mseText = 0.0, fvuVision = 0.0, fvuText = 0.0
        package var deadFraction = 0.0, lr = 0.0
    }
    package internal(set) var history: [Stats] = []

    package init(model: VLSparseAutoencoder) throws {
        self.model = model
        let n = model.nLatents, d = model.d, dv = model.config.dVision, dt = model.config.dText
        func buf(_ c: Int, _ what: String) throws -> FloatBuffer { try FloatBuffer(checked: c, zero: 0, what) }
        mW = try buf(n * d, "Adam moments of W"); vW = try buf(n * d, "Adam moments of W")
        mDV = try buf(n * dv, "Adam moments of W_dec_vision"); vDV = try buf(n * dv, "Adam moments of W_dec_vision")
        mDT = try buf(n * dt, "Adam moments of W_dec_text"); vDT = try buf(n * dt, "Adam moments of W_dec_text")
        mBV = FloatBuffer(dv, zero: 0); vBV = FloatBuffer(dv, zero: 0)
        mBT = FloatBuffer(dt, zero: 0); vBT = FloatBuffer(dt, zero: 0)
        sinceFired = Buffer<Int64>(n, zero: 0)
    }

    // MARK: - Data checks

    /// NaN/Inf and zero rows of a modality's data, checked before any step (nothing is changed on error).
    static func validate(_ x: MemoryRows, _ m: VLModality) throws {
        if let (r, c) = x.firstNonFinite() {
            throw LaminaError(.nonFinite, "\(m.name) data has a non-finite value at row \(r), column \(c)")
        }
        let d = x.cols
        let zero = Parallel.mapChunks(count: x.rows, chunk: 1024) { range -> Int? in
            var row = [Float](repeating: 0, count: d)
            return row.withUnsafeMutableBufferPointer { rp -> Int? in
                for r in range {
                    x.readRow(r, into: rp.baseAddress!)
                    if !(Vec.sumSquares(rp.baseAddress!, d) > 0) { return r }
                }
                return nil
            }
        }
        if let r = zero.lazy.compactMap({ $0 }).first {
            throw LaminaError.invalid("\(m.name) row \(r) has norm 0; VL-SAE normalises every row to unit length, so a zero row cannot be used (drop the pair)")
        }
    }

    // MARK: - Training loop

    /// Trains `epochs` epochs over the pairs (V[i], T[i]): each epoch visits every row once, in a
    /// seeded random order (the same for both modalities; row order when shuffle is off), in
    /// ceil(n / batch_size) batches (the last one smaller). The lr schedule spans this call's steps.
    /// `progress` is called after every step; a false return stops after that step with
    /// LaminaError(.cancelled), the model at its last completed step.
    package func train(vision: MemoryRows, text: MemoryRows, epochs: Int, progress: ProgressHandler?) throws {
        let cfg = config
        if vision.rows != text.rows {
            throw LaminaError.shape("vision has \(vision.rows) rows but text has \(text.rows); expected paired rows (the same count)")
        }
        if vision.cols != cfg.dVision { throw LaminaError.shape("vision has d = \(vision.cols) features; this VL-SAE has d_vision = \(cfg.dVision)") }
        if text.cols != cfg.dText { throw LaminaError.shape("text has d = \(text.cols) features; this VL-SAE has d_text = \(cfg.dText)") }
        if epochs < 1 { throw LaminaError.invalid("epochs is \(epochs); expected >= 1") }
        try VLSAETrainer.validate(vision, .vision)
        try VLSAETrainer.validate(text, .text)
        try model.validateProjected(vision, .vision)
        try model.validateProjected(text, .text)
        let n = vision.rows
        if n > Int(Int32.max) { throw LaminaError.invalid("n is \(n); expected at most \(Int32.max) pairs") }
        let B = min(cfg.batchSize, n)
        try VLSparseAutoencoder.reserveCodes(rows: 2 * B, k: cfg.k)
        let perEpoch = (n + B - 1) / B
        let total = epochs * perEpoch
        let bv = try FloatBuffer(checked: B * cfg.dVision, zero: 0, "a vision batch")
        let bt = try FloatBuffer(checked: B * cfg.dText, zero: 0, "a text batch")
        let started = monotonicSeconds(), startTokens = tokensSeen
        var step = 0
        for epoch in 0..<epochs {
            var order = (0..<n).map { Int32($0) }
            if cfg.shuffle {
                var rng = Xoshiro256(seed: cfg.seed ^ (UInt64(truncatingIfNeeded: stepsDone + 1) &* 0xC2B2_AE3D_27D4_EB4F)
                                     ^ (UInt64(truncatingIfNeeded: epoch + 1) &* 0x9E37_79B9_7F4A_7C15))
                rng.shuffle(&order)
            }
            for b in 0..<perEpoch {
                let lo = b * B, rows = min(B, n - lo)
                order.withUnsafeBufferPointer { ord in
                    Parallel.forEachTask((rows + 255) / 256) { t in
                        for r in (t * 256)..<min(rows, t * 256 + 256) {
                            vision.readRow(Int(ord[lo + r]), into: bv.p + r * cfg.dVision)
                            text.readRow(Int(ord[lo + r]), into: bt.p + r * cfg.dText)
                        }
                    }
                }
                step += 1
                let lr = cfg.learningRate * cfg.lrMultiplier(step: step, total: total)
                let stats = try self.step(vision: bv.p, text: bt.p, rows: rows, lr: lr)
                history.append(stats)
                if let progress {
                    let elapsed = max(monotonicSeconds() - started, 1e-9)
                    let report = ProgressReport(task: "vlsae_train", step: stepsDone, totalSteps: total, items: tokensSeen,
                                                loss: stats.loss, itemsPerSecond: Double(tokensSeen - startTokens) / elapsed,
                                                termNames: ["mse_vision", "mse_text", "fvu_vision", "fvu_text", "dead_fraction", "lr"],
                                                terms: [stats.mseVision, stats.mseText, stats.fvuVision, stats.fvuText, stats.deadFraction, stats.lr])
                    if !progress(report) { throw LaminaError.cancelled("vlsae_train", step: stepsDone) }
                }
            }
        }
    }

    // MARK: - One step

    /// One step on a batch of raw rows (rows x d_vision, rows x d_text; their norms were checked).
    package func step(vision xv: UnsafePointer<Float>, text xt: UnsafePointer<Float>, rows B: Int, lr: Double) throws -> Stats {
        let cfg = config, nl = model.nLatents, d = model.d, dv = cfg.dVision, dt = cfg.dText
        let uv = try FloatBuffer(checked: B * d, zero: 0, "normalised vision rows")
        let ut = try FloatBuffer(checked: B * d, zero: 0, "normalised text rows")
        // The encoder input: P_m x with input projections (VLProjection.swift), else x itself.
        model.projectInput(xv, rows: B, .vision, into: uv.p); model.projectInput(xt, rows: B, .text, into: ut.p)
        try VLSparseAutoencoder.normaliseInput(uv.p, rows: B, d: d, rowOffset: 0, "vision batch")
        try VLSparseAutoencoder.normaliseInput(ut.p, rows: B, d: d, rowOffset: 0, "text batch")
        let wHat = try FloatBuffer(checked: nl * d, zero: 0, "the normalised encoder")
        let norms = FloatBuffer(nl, zero: 0), ones = FloatBuffer(nl, zero: 1)
        VLSparseAutoencoder.normaliseRows(model.wEnc.p, rows: nl, d: d, into: wHat.p, norms: norms.p)
        let cv = SparseCodes(), ct = SparseCodes()
        VLSparseAutoencoder.encode(u: uv.p, rows: B, d: d, wHat: wHat.p, ones: ones.p, nl: nl, k: cfg.k, into: cv)
        VLSparseAutoencoder.encode(u: ut.p, rows: B, d: d, wHat: wHat.p, ones: ones.p, nl: nl, k: cfg.k, into: ct)

        // Decode, loss terms, G = dL/dx^ (in place of x^), db.
        var stats = Stats()
        func residual(_ codes: SparseCodes, _ m: VLModality, _ x: UnsafePointer<Float>, _ weight: Double)
            throws -> (g: FloatBuffer, db: [Float], mse: Double, fvu: Double) {
            let (w, b) = model.decoder(m)
            let dm = cfg.dim(m)
            let g = try FloatBuffer(checked: B * dm, zero: 0, "the \(m.name) reconstruction")
            SAEDecoderKernel.decode(codes, wDec: w.p, bDec: b.p, d: dm, into: g.p)
            let parts = Parallel.mapChunks(count: B, chunk: 64) { range -> (Double, [Double], [Double]) in
                var sq = 0.0
                var col = [Double](repeating: 0, count: dm), colSq = [Double](repeating: 0, count: dm)
                for r in range {
                    for i in 0..<dm {
                        let xi = Double(x[r * dm + i])
                        let diff = Double(g.p[r * dm + i]) - xi
                        sq += diff * diff
                        col[i] += xi; colSq[i] += xi * xi
                    }
                }
                return (sq, col, colSq)
            }
            var sq = 0.0, col = [Double](repeating: 0, count: dm), colSq = [Double](repeating: 0, count: dm)
            for p in parts { sq += p.0; for i in 0..<dm { col[i] += p.1[i]; colSq[i] += p.2[i] } }
            var variance = 0.0
            for i in 0..<dm { variance += colSq[i] - col[i] * col[i] / Double(B) }
            let scale = Float(2 * weight / Double(B * dm))
            Parallel.forEachTask((B + 63) / 64) { t in
                for r in (t * 64)..<min(B, t * 64 + 64) {
                    for i in 0..<dm { g.p[r * dm + i] = scale * (g.p[r * dm + i] - x[r * dm + i]) }
                }
            }
            var db = [Double](repeating: 0, count: dm)
            let dparts = Parallel.mapChunks(count: B, chunk: 64) { range -> [Double] in
                var s = [Double](repeating: 0, count: dm)
                for r in range { for i in 0..<dm { s[i] += Double(g.p[r * dm + i]) } }
                return s
            }
            for p in dparts { for i in 0..<dm { db[i] += p[i] } }
            SAEDecoderKernel.codeGradients(codes, wDec: w.p, g: g.p, d: dm)
            // dz -> c = dz / dist (0 where dist^2 <= 1e-30).
            codes.grad.withUnsafeMutableBufferPointer { gr in
                codes.pre.withUnsafeBufferPointer { dist in
                    for e in 0..<gr.count {
                        let ds = dist[e]
                        gr[e] = ds * ds > 1e-30 ? gr[e] / ds : 0
                    }
                }
            }
            return (g, db.map { Float($0) }, sq / Double(B * dm), variance > 0 ? sq / variance : .nan)
        }
        let rv = try residual(cv, .vision, xv, cfg.weightVision)
        let rt = try residual(ct, .text, xt, cfg.weightText)
        stats.mseVision = rv.mse; stats.mseText = rt.mse; stats.fvuVision = rv.fvu; stats.fvuText = rt.fvu
        stats.loss = cfg.weightVision * rv.mse + cfg.weightText * rt.mse
        stats.lr = lr
        if !stats.loss.isFinite {
            throw LaminaError(.nonFinite, "the loss became non-finite at step \(stepsDone + 1) (lr = \(lr)); lower lr")
        }

        // Per-latent gradients fused with Adam.
        adamStep += 1
        let (stepSize, invSqrtBias2) = AdamState.stepFactors(step: adamStep, learningRate: Float(lr), config: cfg.adam)
        let a = cfg.adam
        let tv = SAEDecoderKernel.transpose(cv, latents: nl), tt = SAEDecoderKernel.transpose(ct, latents: nl)
        let chunk = 64
        let gvp = rv.g.p, gtp = rt.g.p, uvp = uv.p, utp = ut.p, whp = wHat.p, np = norms.p
        cv.value.withUnsafeBufferPointer { zv in cv.grad.withUnsafeBufferPointer { cgv in cv.rowOf.withUnsafeBufferPointer { rowV in
        ct.value.withUnsafeBufferPointer { zt in ct.grad.withUnsafeBufferPointer { cgt in ct.rowOf.withUnsafeBufferPointer { rowT in
        tv.start.withUnsafeBufferPointer { sv in tv.entry.withUnsafeBufferPointer { ev in
        tt.start.withUnsafeBufferPointer { st in tt.entry.withUnsafeBufferPointer { et in
            Parallel.forEachTask((nl + chunk - 1) / chunk) { task in
                let gDV = UnsafeMutablePointer<Float>.allocate(capacity: dv)
                let gDT = UnsafeMutablePointer<Float>.allocate(capacity: dt)
                let gW = UnsafeMutablePointer<Float>.allocate(capacity: d)
                defer { gDV.deallocate(); gDT.deallocate(); gW.deallocate() }
                for j in (task * chunk)..<min(nl, task * chunk + chunk) {
                    let hasV = sv[j + 1] > sv[j], hasT = st[j + 1] > st[j]
                    if hasV {
                        gDV.initialize(repeating: 0, count: dv)
                        for q in sv[j]..<sv[j + 1] {
                            let e = Int(ev[q])
                            Vec.axpy(zv[e], gvp + Int(rowV[e]) * dv, gDV, dv)
                        }
                    }
                    if hasT {
                        gDT.initialize(repeating: 0, count: dt)
                        for q in st[j]..<st[j + 1] {
                            let e = Int(et[q])
                            Vec.axpy(zt[e], gtp + Int(rowT[e]) * dt, gDT, dt)
                        }
                    }
                    if hasV || hasT {
                        gW.initialize(repeating: 0, count: d)
                        for q in sv[j]..<sv[j + 1] { let e = Int(ev[q]); Vec.axpy(cgv[e], uvp + Int(rowV[e]) * d, gW, d) }
                        for q in st[j]..<st[j + 1] { let e = Int(et[q]); Vec.axpy(cgt[e], utp + Int(rowT[e]) * d, gW, d) }
                        let wj = whp + j * d
                        let proj = Vec.dot(wj, gW, d)
                        Vec.axpy(-proj, wj, gW, d)
                        Vec.scale(gW, 1 / np[j], d)
                    }
                    AdamState.apply(self.model.wEnc.p + j * d, (hasV || hasT) ? UnsafePointer(gW) : nil,
                                    self.mW.p + j * d, self.vW.p + j * d, d, stepSize, invSqrtBias2, a)
                    AdamState.apply(self.model.wDecV.p + j * dv, hasV ? UnsafePointer(gDV) : nil,
                                    self.mDV.p + j * dv, self.vDV.p + j * dv, dv, stepSize, invSqrtBias2, a)
                    AdamState.apply(self.model.wDecT.p + j * dt, hasT ? UnsafePointer(gDT) : nil,
                                    self.mDT.p + j * dt, self.vDT.p + j * dt, dt, stepSize, invSqrtBias2, a)
                }
            }
        } } } } } } } } } }
        rv.db.withUnsafeBufferPointer { AdamState.apply(model.bDecV.p, $0.baseAddress!, mBV.p, vBV.p, dv, stepSize, invSqrtBias2, a) }
        rt.db.withUnsafeBufferPointer { AdamState.apply(model.bDecT.p, $0.baseAddress!, mBT.p, vBT.p, dt, stepSize, invSqrtBias2, a) }

        // Dead tracking.
        let fired = Buffer<UInt8>(nl, zero: 0)
        for codes in [cv, ct] {
            for e in 0..<codes.count where codes.value[e] > 0 { fired[Int(codes.latent[e])] = 1 }
        }
        var dead = 0
        for j in 0..<nl {
            if fired[j] != 0 { sinceFired[j] = 0 } else { sinceFired[j] += Int64(B) }
            if sinceFired[j] > Int64(cfg.deadTokens) { dead += 1 }
        }
        stats.deadFraction = Double(dead) / Double(nl)
        stepsDone += 1
        tokensSeen += B
        return stats
    }
}

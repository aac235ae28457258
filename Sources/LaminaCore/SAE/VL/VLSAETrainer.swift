#if canImport(Glibc)
import Glibc
#endif

/// Training of a VL-SAE on paired rows (V[i], T[i]). One step on a batch:
///  1. u_m = x_m / ||x_m|| for both modalities (P_m x_m normalised with input projections); w^ = W / ||W|| (row norms kept)
///  2. codes per modality: the fused gemm + top-k tile pass on s = u . w^, then a = 2 - dist exactly
///  3. x^_m = b_m + z_m W_dec,m (sparse); G_m = 2 w_m (x^_m - x_m) / (B d_m)
///  4. AuxK (when latents are dead and auxk_alpha > 0), per modality m: e_m = x_m - x^_m;
///     e^_m = z_aux,m W_dec,m with z_aux,m the top min(k_aux, n_dead) activations a of the dead latents;
///     auxk_m = min(n_dead / k_aux, 1) sum ||e^_m - e_m||^2 / sum ||e_m - mean(e_m)||^2 (e detached);
///     loss += auxk_alpha (w_v auxk_v + w_t auxk_t); its gradient enters like G through the aux codes.
///  5. dz_e = W_dec,m[j] . G_m[row e] (sparse); da/ds = 1 / dist, c_e = dz_e / dist_e (0 where
///     dist^2 <= 1e-30: torch's cdist clamps dist^2 there, so no gradient flows)
///  6. per latent j (entries of both modalities, main and aux, grouped by latent):
///       dW_dec,m[j] = sum_{e -> j} z_e G_m[row e]
///       g_j = sum_{e -> j} c_e u[row e];   dW_j = (g_j - (w^_j . g_j) w^_j) / ||W_j||
///     (the Jacobian of the row normalisation), then Adam on W_j, W_dec,v[j], W_dec,t[j] fused;
///     db_m = sum_rows G_m, Adam on b_v, b_t. With a reducer (data-parallel), the gradients, firing
///     counts go through one float32 allreduce, the loss sums through one float64 allreduce, and Adam
///     runs on the sums (every rank the same bytes).
///  7. pairs since each latent last fired (in either modality): the dead fraction.
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
    /// The run (one train call of `runEpochs` epochs, resumable): its first step, batches per epoch,
    /// data rows (this rank's) and the position inside it. runEpochs = 0: no run yet.
    package internal(set) var runEpochs = 0
    package internal(set) var runStartStep = 0
    package internal(set) var runBatchesPerEpoch = 0
    package internal(set) var runRows = 0
    package internal(set) var epoch = 0
    package internal(set) var batchInEpoch = 0
    /// Data-parallel training through a reducer (VLSAEDistributed.swift); nil = one process.
    package var distribution: SAEDistribution?

    package struct Stats: Sendable {
        package var loss = 0.0, mseVision = 0.0, mseText = 0.0, fvuVision = 0.0, fvuText = 0.0
        package var deadFraction = 0.0, lr = 0.0
        /// w_v auxk_v + w_t auxk_t (0 when no latent is dead or auxk_alpha = 0).
        package var auxk = 0.0
    }
    package internal(set) var history: [Stats] = []

    /// Whether the current run has steps left (a cancelled or checkpointed run resumes).
    package var runInProgress: Bool { runEpochs > 0 && stepsDone - runStartStep < runEpochs * runBatchesPerEpoch }

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
    /// Rows are named as rowOffset + their index in x.
    static func validate(_ x: MemoryRows, _ m: VLModality, rowOffset: Int = 0) throws {
        if let (r, c) = x.firstNonFinite() {
            throw LaminaError(.nonFinite, "\(m.name) data has a non-finite value at row \(rowOffset + r), column \(c)")
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
            throw LaminaError.invalid("\(m.name) row \(rowOffset + r) has norm 0; VL-SAE normalises every row to unit length, so a zero row cannot be used (drop the pair)")
        }
    }

    // MARK: - Training loop

    /// In-memory training on two caller buffers (see train(_:epochs:progress:)).
    package func train(vision: MemoryRows, text: MemoryRows, epochs: Int, progress: ProgressHandler?) throws {
        if vision.rows != text.rows {
            throw LaminaError.shape("vision has \(vision.rows) rows but text has \(text.rows); expected paired rows (the same count)")
        }
        try train(VLSAEData(vision: vision, text: text), epochs: epochs, progress: progress)
    }

    /// Trains a run of `epochs` epochs over the pairs: each epoch visits every pair once (VLSAEData
    /// gives the order), in ceil(n / batch_size) batches (the last one smaller). The lr schedule spans
    /// the run's steps. A run that was interrupted (cancelled, or restored from a checkpoint) is
    /// continued from its position instead: `epochs` and the data's row count must then be the run's,
    /// and the result is bit-identical to an uninterrupted run (same thread count).
    /// `progress` is called after every step; a false return stops after that step with
    /// LaminaError(.cancelled), the model at its last completed step.
    package func train(_ data: VLSAEData, epochs: Int, progress: ProgressHandler?) throws {
        let cfg = config
        let dist = distribution
        var perEpoch = 0, localB = 0, rowsPerRank: [Int] = []
        let n = data.rows
        let B = cfg.batchSize
        try checked("its checks of the parameters and data") {
            if data.text.rows != n {
                throw LaminaError.shape("vision has \(n) rows but text has \(data.text.rows); expected paired rows (the same count)")
            }
            if data.vision.cols != cfg.dVision { throw LaminaError.shape("vision has d = \(data.vision.cols) features; this VL-SAE has d_vision = \(cfg.dVision)") }
            if data.text.cols != cfg.dText { throw LaminaError.shape("text has d = \(data.text.cols) features; this VL-SAE has d_text = \(cfg.dText)") }
            if epochs < 1 { throw LaminaError.invalid("epochs is \(epochs); expected >= 1") }
            if n < 1 { throw LaminaError.invalid("n is \(n); expected at least 1 pair") }
            if n > Int(Int32.max) { throw LaminaError.invalid("n is \(n); expected at most \(Int32.max) pairs") }
            if let dist { try checkDistributable(dist) }
        }
        if let dist {
            // The ranks compare their parameters, state and projections; in memory each rank has its own
            // rows and learns the others' counts (from a file every rank reads the same rows).
            let counts = try exchangeRows(dist, n)
            if !data.streaming { rowsPerRank = counts }
        }
        try checked("its checks of the run position") {
            if let dist {
                if data.streaming {
                    perEpoch = (n + B - 1) / B
                    localB = dist.share(batch: B).rows
                } else {
                    localB = dist.share(batch: B).rows
                    perEpoch = (n + localB - 1) / localB
                    for (r, nr) in rowsPerRank.enumerated() {
                        let lb = SAEDistribution.share(batch: B, rank: r, world: dist.worldSize).rows
                        let pe = (nr + lb - 1) / lb
                        if pe != perEpoch {
                            throw LaminaError.invalid("rank \(r) has \(nr) pairs = \(pe) batches of its share \(lb) of batch_size = \(B), but rank \(dist.rank) has \(n) pairs = \(perEpoch) batches of \(localB); every rank needs the same number of batches per epoch")
                        }
                    }
                }
            } else {
                localB = min(B, n)
                perEpoch = (n + localB - 1) / localB
            }
            if runInProgress {
                if epochs != runEpochs || perEpoch != runBatchesPerEpoch || n != runRows {
                    throw LaminaError.invalid("a run of \(runEpochs) epochs over \(runRows) pairs (\(runBatchesPerEpoch) batches per epoch) is in progress at epoch \(epoch), batch \(batchInEpoch) (steps_done = \(stepsDone)); resuming needs the same data and epochs = \(runEpochs), but got epochs = \(epochs) and \(n) pairs (\(perEpoch) batches per epoch)")
                }
            }
        }
        let (total, overflow) = epochs.multipliedReportingOverflow(by: perEpoch)
        if overflow { throw LaminaError.invalid("epochs is \(epochs); epochs * batches per epoch overflows") }
        try checked("the check of its training data") {
            try data.validate(model: model, keepGoing: progress.map { progress in { rows in
                progress(ProgressReport(task: "vlsae_validate", step: self.stepsDone, totalSteps: total, items: self.tokensSeen,
                                        loss: .nan, itemsPerSecond: 0, termNames: ["rows_checked"], terms: [Double(rows)]))
            } })
            try VLSparseAutoencoder.reserveCodes(rows: 2 * (localB + 1), k: cfg.k)
        }
        let bv = try FloatBuffer(checked: localB * cfg.dVision, zero: 0, "a vision batch")
        let bt = try FloatBuffer(checked: localB * cfg.dText, zero: 0, "a text batch")
        // A new run starts only once every check passed (a refused call leaves no run behind).
        if !runInProgress {
            runEpochs = epochs; runStartStep = stepsDone; runBatchesPerEpoch = perEpoch; runRows = n
            epoch = 0; batchInEpoch = 0
        }
        let started = monotonicSeconds(), startTokens = tokensSeen
        while epoch < runEpochs {
            let firstStep = runStartStep + epoch * perEpoch
            // This rank's rows of batch `batchInEpoch`, and the global batch size.
            var rows: Int, offset = 0, globalRows: Int
            if let dist, !data.streaming {
                let lo = batchInEpoch * localB
                rows = min(localB, n - lo)
                globalRows = 0
                for (r, nr) in rowsPerRank.enumerated() {
                    let lb = SAEDistribution.share(batch: B, rank: r, world: dist.worldSize).rows
                    globalRows += max(0, min(lb, nr - batchInEpoch * lb))
                }
            } else {
                globalRows = min(B, n - batchInEpoch * B)
                if let dist {
                    (offset, rows) = SAEDistribution.share(batch: globalRows, rank: dist.rank, world: dist.worldSize)
                } else {
                    rows = globalRows
                }
            }
            let batchRows = (dist != nil && !data.streaming) ? localB : B
            if rows > 0 {
                try data.fill(batch: batchRows, index: batchInEpoch, offset: offset, count: rows, seed: cfg.seed, shuffle: cfg.shuffle,
                              firstStep: firstStep, epoch: epoch, rank: data.streaming ? 0 : (dist?.rank ?? 0), vision: bv.p, text: bt.p)
            }
            let t = stepsDone - runStartStep + 1
            let lr = cfg.learningRate * cfg.lrMultiplier(step: t, total: total)
            let stats = try self.step(vision: bv.p, text: bt.p, rows: rows, globalRows: globalRows, lr: lr)
            batchInEpoch += 1
            if batchInEpoch == perEpoch { epoch += 1; batchInEpoch = 0 }
            history.append(stats)
            if let progress {
                let elapsed = max(monotonicSeconds() - started, 1e-9)
                let report = ProgressReport(task: "vlsae_train", step: stepsDone, totalSteps: total, items: tokensSeen,
                                            loss: stats.loss, itemsPerSecond: Double(tokensSeen - startTokens) / elapsed,
                                            termNames: ["mse_vision", "mse_text", "fvu_vision", "fvu_text", "dead_fraction", "lr", "auxk"],
                                            terms: [stats.mseVision, stats.mseText, stats.fvuVision, stats.fvuText, stats.deadFraction, stats.lr, stats.auxk])
                if !progress(report) { throw LaminaError.cancelled("vlsae_train", step: stepsDone) }
            }
        }
    }

    /// Runs `body`; distributed, every rank runs its checks and the ranks agree on the outcome before
    /// any reduction, so that a rank that fails never leaves the others waiting.
    func checked(_ what: String, _ body: () throws -> Void) throws {
        if let dist = distribution { try dist.agreeAllSucceeded(what, body) } else { try body() }
    }

    // MARK: - One step

    /// Codes of one modality's batch and their buffers.
    final class Side {
        let m: VLModality
        let dm: Int
        let x: UnsafePointer<Float>
        let u: FloatBuffer
        let codes = SparseCodes(), aux = SparseCodes()
        var g = FloatBuffer(0, zero: 0)       // G (rows x d_m)
        var gAux = FloatBuffer(0, zero: 0)    // the AuxK gradient w.r.t. e^ (rows x d_m)
        var e = FloatBuffer(0, zero: 0)       // the residual x - x^ (AuxK only)
        var db: [Float] = []
        var sse = 0.0, colSum: [Double] = [], colSq: [Double] = []
        var auxSq = 0.0, eSum: [Double] = [], eSq = 0.0
        var auxUsed = false
        init(_ m: VLModality, _ dm: Int, _ x: UnsafePointer<Float>, _ u: FloatBuffer) { self.m = m; self.dm = dm; self.x = x; self.u = u }
    }

    /// One step on a batch of raw rows (rows x d_vision, rows x d_text; their norms were checked).
    /// `globalRows`: the batch size over every rank (= rows without a reducer); a rank may have 0 rows.
    package func step(vision xv: UnsafePointer<Float>, text xt: UnsafePointer<Float>, rows B: Int, globalRows: Int? = nil,
                      lr: Double) throws -> Stats {
        let cfg = config, nl = model.nLatents, d = model.d
        let GB = globalRows ?? B
        let dist = distribution
        let uv = try FloatBuffer(checked: max(B, 1) * d, zero: 0, "normalised vision rows")
        let ut = try FloatBuffer(checked: max(B, 1) * d, zero: 0, "normalised text rows")
        // The encoder input: P_m x with input projections (VLProjection.swift), else x itself (per rank
        // under a reducer: each rank projects its own rows before encoding).
        model.projectInput(xv, rows: B, .vision, into: uv.p); model.projectInput(xt, rows: B, .text, into: ut.p)
        try VLSparseAutoencoder.normaliseInput(uv.p, rows: B, d: d, rowOffset: 0, "vision batch")
        try VLSparseAutoencoder.normaliseInput(ut.p, rows: B, d: d, rowOffset: 0, "text batch")
        let wHat = try FloatBuffer(checked: nl * d, zero: 0, "the normalised encoder")
        let norms = FloatBuffer(nl, zero: 0), ones = FloatBuffer(nl, zero: 1)
        VLSparseAutoencoder.normaliseRows(model.wEnc.p, rows: nl, d: d, into: wHat.p, norms: norms.p)
        let sides = [Side(.vision, cfg.dVision, xv, uv), Side(.text, cfg.dText, xt, ut)]
        for s in sides {
            VLSparseAutoencoder.encode(u: s.u.p, rows: B, d: d, wHat: wHat.p, ones: ones.p, nl: nl, k: cfg.k, into: s.codes)
        }
        // Dead latents (before this step).
        var dead: [Int32] = []
        if cfg.auxkAlpha > 0 {
            let limit = Int64(cfg.deadTokens)
            for j in 0..<nl where sinceFired[j] > limit { dead.append(Int32(j)) }
        }
        let auxOn = !dead.isEmpty
        for s in sides { try forward(s, rows: B, globalRows: GB, weight: cfg.weight(s.m), keepResidual: auxOn) }
        if auxOn {
            for s in sides where cfg.weight(s.m) > 0 { try auxForward(s, rows: B, dead: dead, wHat: wHat.p) }
        }

        // Loss terms: local sums, summed over the ranks in float64 when distributed.
        var sums: [Double] = []
        for s in sides { sums += [s.sse, s.auxSq, s.eSq] + s.colSum + s.colSq + s.eSum }
        if let dist {
            let count = sums.count
            try sums.withUnsafeMutableBytes { try dist.reducer.allreduce($0.baseAddress!, count: count, double: true) }
        }
        var stats = Stats()
        var o = 0
        var auxScale = [0.0, 0.0]
        let kAux = cfg.effectiveKAux
        for (i, s) in sides.enumerated() {
            let dm = s.dm
            let sse = sums[o], auxSq = sums[o + 1], eSq = sums[o + 2]
            var variance = 0.0, eVar = eSq
            for c in 0..<dm {
                let cs = sums[o + 3 + c], cq = sums[o + 3 + dm + c], es = sums[o + 3 + 2 * dm + c]
                variance += cq - cs * cs / Double(GB)
                eVar -= es * es / Double(GB)
            }
            o += 3 + 3 * dm
            let mse = sse / Double(GB * dm), fvu = variance > 0 ? sse / variance : .nan
            if s.m == .vision { stats.mseVision = mse; stats.fvuVision = fvu } else { stats.mseText = mse; stats.fvuText = fvu }
            if auxOn && cfg.weight(s.m) > 0 {
                let scale = min(Double(dead.count) / Double(kAux), 1)
                if eVar > 0 {
                    stats.auxk += cfg.weight(s.m) * scale * auxSq / eVar
                    auxScale[i] = cfg.auxkAlpha * cfg.weight(s.m) * scale * 2 / eVar
                }
            }
        }
        stats.loss = cfg.weightVision * stats.mseVision + cfg.weightText * stats.mseText + cfg.auxkAlpha * stats.auxk
        stats.lr = lr
        if !stats.loss.isFinite {
            throw LaminaError(.nonFinite, "the loss became non-finite at step \(stepsDone + 1) (lr = \(lr)); lower lr")
        }
        for (i, s) in sides.enumerated() { auxBackward(s, rows: B, scale: auxScale[i]) }

        // Per-latent gradients, fused with Adam, or gathered for the reducer.
        let (stepSize, invSqrtBias2) = AdamState.stepFactors(step: adamStep + 1, learningRate: Float(lr), config: cfg.adam)
        let a = cfg.adam
        var fired: Buffer<UInt8>
        if let dist {
            fired = try reducedStep(dist, sides: sides, rows: B, wHat: wHat.p, norms: norms.p, stepSize: stepSize, invSqrtBias2: invSqrtBias2)
        } else {
            latentGradients(sides: sides, wHat: wHat.p, norms: norms.p) { j, gW, gDV, gDT in
                AdamState.apply(self.model.wEnc.p + j * d, gW, self.mW.p + j * d, self.vW.p + j * d, d, stepSize, invSqrtBias2, a)
                AdamState.apply(self.model.wDecV.p + j * cfg.dVision, gDV, self.mDV.p + j * cfg.dVision, self.vDV.p + j * cfg.dVision,
                                cfg.dVision, stepSize, invSqrtBias2, a)
                AdamState.apply(self.model.wDecT.p + j * cfg.dText, gDT, self.mDT.p + j * cfg.dText, self.vDT.p + j * cfg.dText,
                                cfg.dText, stepSize, invSqrtBias2, a)
            }
            sides[0].db.withUnsafeBufferPointer { AdamState.apply(model.bDecV.p, $0.baseAddress!, mBV.p, vBV.p, cfg.dVision, stepSize, invSqrtBias2, a) }
            sides[1].db.withUnsafeBufferPointer { AdamState.apply(model.bDecT.p, $0.baseAddress!, mBT.p, vBT.p, cfg.dText, stepSize, invSqrtBias2, a) }
            fired = Buffer<UInt8>(nl, zero: 0)
            for s in sides {
                for e in 0..<s.codes.count where s.codes.value[e] > 0 { fired[Int(s.codes.latent[e])] = 1 }
            }
        }

        adamStep += 1

        // Dead tracking.
        var deadNow = 0
        for j in 0..<nl {
            if fired[j] != 0 { sinceFired[j] = 0 } else { sinceFired[j] += Int64(GB) }
            if sinceFired[j] > Int64(cfg.deadTokens) { deadNow += 1 }
        }
        stats.deadFraction = Double(deadNow) / Double(nl)
        stepsDone += 1
        tokensSeen += GB
        return stats
    }

    /// Decode, squared error and column sums, G = dL/dx^ (in place of x^), db, the residual (AuxK),
    /// dz -> c = dz / dist.
    func forward(_ s: Side, rows B: Int, globalRows GB: Int, weight: Double, keepResidual: Bool) throws {
        let (w, b) = model.decoder(s.m)
        let dm = s.dm, x = s.x
        s.g = try FloatBuffer(checked: max(B, 1) * dm, zero: 0, "the \(s.m.name) reconstruction")
        let g = s.g
        SAEDecoderKernel.decode(s.codes, wDec: w.p, bDec: b.p, d: dm, into: g.p)
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
        s.sse = sq; s.colSum = col; s.colSq = colSq
        s.eSum = [Double](repeating: 0, count: dm)
        if keepResidual {
            s.e = try FloatBuffer(checked: max(B, 1) * dm, zero: 0, "the \(s.m.name) residual")
            let e = s.e
            Parallel.forEachTask((B + 63) / 64) { t in
                for r in (t * 64)..<min(B, t * 64 + 64) {
                    for i in 0..<dm { e.p[r * dm + i] = x[r * dm + i] - g.p[r * dm + i] }
                }
            }
        }
        let scale = Float(2 * weight / Double(GB * dm))
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
        s.db = db.map { Float($0) }
        SAEDecoderKernel.codeGradients(s.codes, wDec: w.p, g: g.p, d: dm)
        VLSAETrainer.distGradients(s.codes)
    }

    /// c = dz / dist in place of dz (0 where dist^2 <= 1e-30).
    static func distGradients(_ codes: SparseCodes) {
        codes.grad.withUnsafeMutableBufferPointer { gr in
            codes.pre.withUnsafeBufferPointer { dist in
                for e in 0..<gr.count {
                    let ds = dist[e]
                    gr[e] = ds * ds > 1e-30 ? gr[e] / ds : 0
                }
            }
        }
    }

    /// AuxK forward of one modality: the aux codes over the dead latents, e^ = z_aux W_dec,m (no bias,
    /// into s.gAux), sum ||e^ - e||^2 and the residual sums sum e (per column), sum ||e||^2.
    func auxForward(_ s: Side, rows B: Int, dead: [Int32], wHat: UnsafePointer<Float>) throws {
        let d = model.d, dm = s.dm, nDead = dead.count
        let cap = min(config.effectiveKAux, nDead)
        let wd = try FloatBuffer(checked: nDead * d, zero: 0, "the dead encoder rows"), ones = FloatBuffer(nDead, zero: 1)
        for (i, j) in dead.enumerated() { (wd.p + i * d).update(from: wHat + Int(j) * d, count: d) }
        try VLSparseAutoencoder.reserveCodes(rows: B, k: cap)
        dead.withUnsafeBufferPointer { map in
            SAEEncoderKernel.run(xc: s.u.p, rows: B, d: d, wEnc: wd.p, bEnc: ones.p, nl: nDead,
                                 selector: TopKSelector(cap: cap, map: map.baseAddress!), into: s.aux)
        }
        VLSparseAutoencoder.exactActivations(s.aux, u: s.u.p, d: d, wHat: wHat)
        s.gAux = try FloatBuffer(checked: max(B, 1) * dm, zero: 0, "the \(s.m.name) AuxK reconstruction")
        let eh = s.gAux, e = s.e
        SAEDecoderKernel.decode(s.aux, wDec: model.decoder(s.m).w.p, bDec: nil, d: dm, into: eh.p)
        let parts = Parallel.mapChunks(count: B, chunk: 64) { range -> (Double, Double, [Double]) in
            var sq = 0.0, esq = 0.0
            var col = [Double](repeating: 0, count: dm)
            for r in range {
                for i in 0..<dm {
                    let ei = Double(e.p[r * dm + i])
                    let diff = Double(eh.p[r * dm + i]) - ei
                    sq += diff * diff
                    esq += ei * ei
                    col[i] += ei
                }
            }
            return (sq, esq, col)
        }
        var col = [Double](repeating: 0, count: dm)
        s.auxSq = 0; s.eSq = 0
        for p in parts { s.auxSq += p.0; s.eSq += p.1; for i in 0..<dm { col[i] += p.2[i] } }
        s.eSum = col
        s.auxUsed = true
    }

    /// AuxK backward: G_aux = scale (e^ - e) (scale = alpha w_m min(n_dead / k_aux, 1) 2 / var(e)), then
    /// dz and c = dz / dist of the aux entries. A scale of 0 drops the aux entries.
    func auxBackward(_ s: Side, rows B: Int, scale: Double) {
        if !s.auxUsed { return }
        if !(scale > 0) { s.auxUsed = false; return }
        let dm = s.dm, eh = s.gAux, e = s.e
        let g = Float(scale)
        Parallel.forEachTask((B + 63) / 64) { t in
            for r in (t * 64)..<min(B, t * 64 + 64) {
                for i in 0..<dm { eh.p[r * dm + i] = g * (eh.p[r * dm + i] - e.p[r * dm + i]) }
            }
        }
        SAEDecoderKernel.codeGradients(s.aux, wDec: model.decoder(s.m).w.p, g: eh.p, d: dm)
        VLSAETrainer.distGradients(s.aux)
    }

    /// The gradient rows of every latent j (nil = no entry in that block), handed to `sink` from the
    /// worker threads (each j once; fixed chunks of 64 latents).
    func latentGradients(sides: [Side], wHat: UnsafePointer<Float>, norms: UnsafePointer<Float>,
                         _ sink: (Int, UnsafePointer<Float>?, UnsafePointer<Float>?, UnsafePointer<Float>?) -> Void) {
        let nl = model.nLatents, d = model.d, dv = config.dVision, dt = config.dText
        // Entry sources: (modality index, codes, G) for the main codes and the used aux codes.
        struct Source {
            let side: Int, dm: Int
            let start: UnsafeMutableBufferPointer<Int>, entry: UnsafeMutableBufferPointer<Int32>
            let z: UnsafeMutableBufferPointer<Float>, c: UnsafeMutableBufferPointer<Float>, row: UnsafeMutableBufferPointer<Int32>
            let g: UnsafePointer<Float>, u: UnsafePointer<Float>
        }
        func copy<T>(_ a: [T]) -> UnsafeMutableBufferPointer<T> {
            let p = UnsafeMutableBufferPointer<T>.allocate(capacity: max(a.count, 1))
            _ = p.initialize(from: a)
            return p
        }
        var sources: [Source] = []
        for (i, s) in sides.enumerated() {
            for (codes, g) in [(s.codes, s.g)] + (s.auxUsed ? [(s.aux, s.gAux)] : []) {
                let tr = SAEDecoderKernel.transpose(codes, latents: nl)
                sources.append(Source(side: i, dm: s.dm, start: copy(tr.start), entry: copy(tr.entry), z: copy(codes.value),
                                      c: copy(codes.grad), row: copy(codes.rowOf), g: UnsafePointer(g.p), u: UnsafePointer(s.u.p)))
            }
        }
        defer {
            for s in sources { s.start.deallocate(); s.entry.deallocate(); s.z.deallocate(); s.c.deallocate(); s.row.deallocate() }
        }
        let chunk = 64
        let src = sources
        Parallel.forEachTask((nl + chunk - 1) / chunk) { task in
            let gDV = UnsafeMutablePointer<Float>.allocate(capacity: dv)
            let gDT = UnsafeMutablePointer<Float>.allocate(capacity: dt)
            let gW = UnsafeMutablePointer<Float>.allocate(capacity: d)
            defer { gDV.deallocate(); gDT.deallocate(); gW.deallocate() }
            for j in (task * chunk)..<min(nl, task * chunk + chunk) {
                var hasV = false, hasT = false, any = false
                for s in src where s.start[j + 1] > s.start[j] {
                    let out = s.side == 0 ? gDV : gDT
                    if s.side == 0 && !hasV { out.initialize(repeating: 0, count: s.dm); hasV = true }
                    if s.side == 1 && !hasT { out.initialize(repeating: 0, count: s.dm); hasT = true }
                    for q in s.start[j]..<s.start[j + 1] {
                        let e = Int(s.entry[q])
                        Vec.axpy(s.z[e], s.g + Int(s.row[e]) * s.dm, out, s.dm)
                    }
                    if !any { gW.initialize(repeating: 0, count: d); any = true }
                    for q in s.start[j]..<s.start[j + 1] {
                        let e = Int(s.entry[q])
                        Vec.axpy(s.c[e], s.u + Int(s.row[e]) * d, gW, d)
                    }
                }
                if any {
                    let wj = wHat + j * d
                    let proj = Vec.dot(wj, gW, d)
                    Vec.axpy(-proj, wj, gW, d)
                    Vec.scale(gW, 1 / norms[j], d)
                }
                sink(j, any ? UnsafePointer(gW) : nil, hasV ? UnsafePointer(gDV) : nil, hasT ? UnsafePointer(gDT) : nil)
            }
        }
    }
}

extension VLSparseAutoencoder {
    /// Replaces the selection values of `codes` (entries chosen by the tile pass on s + 1) by the exact
    /// a = 2 - dist (value) and dist (pre), from dots of the unit rows u and the unit encoder rows w^.
    static func exactActivations(_ codes: SparseCodes, u: UnsafePointer<Float>, d: Int, wHat: UnsafePointer<Float>) {
        let count = codes.count
        codes.latent.withUnsafeBufferPointer { lat in
            codes.value.withUnsafeMutableBufferPointer { val in
                codes.pre.withUnsafeMutableBufferPointer { pre in
                    codes.rowOf.withUnsafeBufferPointer { rowOf in
                        let vp = val.baseAddress!, pp = pre.baseAddress!
                        Parallel.forEachTask((count + 4095) / 4096) { t in
                            for e in (t * 4096)..<min(count, t * 4096 + 4096) {
                                let s = Double(Vec.dot(u + Int(rowOf[e]) * d, wHat + Int(lat[e]) * d, d))
                                let dist = max(2 - 2 * s, 0).squareRoot()
                                vp[e] = Float(2 - dist)
                                pp[e] = Float(dist)
                            }
                        }
                    }
                }
            }
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif

// VLSAETrainer: data-parallel training over R workers through the SAE trainer's reducer hook
// (SAEReducer, include/lamina.h section 16; the library itself has no MPI). Per step:
//  - one float64 allreduce of the loss sums of both modalities [sse, sum||e^ - e||^2, sum||e||^2,
//    column sums of x, of x^2 and of e], which gives every rank the global MSE/FVU and the AuxK
//    residual variance before the AuxK backward;
//  - one float32 allreduce of [dW (n_latents x d) | dW_dec,v | dW_dec,t | db_v | db_t | firing counts
//    (n_latents)]; Adam then runs on the sums, so every rank applies the same update.
// G is normalised by the global batch size, so R ranks compute the R = 1 step up to float rounding.

extension VLSAETrainer {
    func checkDistributable(_ dist: SAEDistribution) throws {
        if dist.worldSize < 1 || dist.rank < 0 || dist.rank >= dist.worldSize {
            throw LaminaError.invalid("rank is \(dist.rank), world_size is \(dist.worldSize); expected 0 <= rank < world_size")
        }
        if config.batchSize < dist.worldSize {
            throw LaminaError.invalid("batch_size = \(config.batchSize) is smaller than world_size = \(dist.worldSize); expected every rank to take at least one row per step")
        }
    }

    /// A position-weighted float64 sum of a projection's values (0 without one): ranks holding different
    /// input projections disagree on it (each rank projects its own rows, so they must share P_m).
    static func checksum(_ b: FloatBuffer?) -> Double {
        guard let b else { return 0 }
        var s = 0.0
        for i in 0..<b.count { s += Double(b[i]) * (1 + Double(i % 1021) / 1021) }
        return s
    }

    /// Every rank's row count (R slots, one float64 reduction), after checking that the ranks agree on
    /// the parameters and the run position.
    func exchangeRows(_ dist: SAEDistribution, _ n: Int) throws -> [Int] {
        let c = config
        let mine: [Double] = [Double(n), Double(c.dVision), Double(c.dText), Double(c.nLatents), Double(c.k), Double(c.batchSize),
                              Double(stepsDone), Double(epoch), Double(batchInEpoch), Double(runEpochs), Double(c.seed >> 32),
                              Double(c.seed & 0xFFFF_FFFF), c.learningRate, c.auxkAlpha, Double(c.kAux), Double(c.deadTokens),
                              c.weightVision, c.weightText, c.shuffle ? 1 : 0, Double(c.dCommon),
                              VLSAETrainer.checksum(model.projV), VLSAETrainer.checksum(model.projT)]
        let names = ["n", "d_vision", "d_text", "n_latents", "k", "batch_size", "steps_done", "epoch", "batch_in_epoch",
                     "run epochs", "seed (high)", "seed (low)", "lr", "auxk_alpha", "k_aux", "dead_tokens", "weight_vision",
                     "weight_text", "shuffle", "d_common", "the checksum of P_vision", "the checksum of P_text"]
        let buf = try dist.agree(on: Array(zip(names, mine)), expectation: "every rank must pass the same parameters and state",
                                 exchanged: 1)
        return (0..<dist.worldSize).map { Int(buf[$0 * mine.count]) }
    }

    /// The gradients of every parameter and the firing counts summed over the ranks, then Adam on the
    /// sums. Returns the latents that fired on any rank.
    func reducedStep(_ dist: SAEDistribution, sides: [Side], rows B: Int, wHat: UnsafePointer<Float>, norms: UnsafePointer<Float>,
                     stepSize: Float, invSqrtBias2: Float) throws -> Buffer<UInt8> {
        let cfg = config, nl = model.nLatents, d = model.d, dv = cfg.dVision, dt = cfg.dText
        let oDV = nl * d, oDT = oDV + nl * dv, oBV = oDT + nl * dt, oBT = oBV + dv, oF = oBT + dt, total = oF + nl
        let buf = try FloatBuffer(checked: total, zero: 0, "the packed gradients (\(total) values)")
        let p = buf.p
        latentGradients(sides: sides, wHat: wHat, norms: norms) { j, gW, gDV, gDT in
            if let gW { (p + j * d).update(from: gW, count: d) }
            if let gDV { (p + oDV + j * dv).update(from: gDV, count: dv) }
            if let gDT { (p + oDT + j * dt).update(from: gDT, count: dt) }
        }
        for i in 0..<dv { p[oBV + i] = sides[0].db[i] }
        for i in 0..<dt { p[oBT + i] = sides[1].db[i] }
        for s in sides {
            for e in 0..<s.codes.count where s.codes.value[e] > 0 { p[oF + Int(s.codes.latent[e])] += 1 }
        }
        try dist.reducer.allreduce(UnsafeMutableRawPointer(p), count: total, double: false)
        for i in 0..<total where !p[i].isFinite {
            throw LaminaError(.nonFinite, "the reduced gradients hold a non-finite value at index \(i) at step \(stepsDone + 1); lower lr (the model keeps step \(stepsDone))")
        }
        let a = cfg.adam
        let chunk = 64
        Parallel.forEachTask((nl + chunk - 1) / chunk) { task in
            for j in (task * chunk)..<min(nl, task * chunk + chunk) {
                AdamState.apply(self.model.wEnc.p + j * d, p + j * d, self.mW.p + j * d, self.vW.p + j * d, d, stepSize, invSqrtBias2, a)
                AdamState.apply(self.model.wDecV.p + j * dv, p + oDV + j * dv, self.mDV.p + j * dv, self.vDV.p + j * dv, dv,
                                stepSize, invSqrtBias2, a)
                AdamState.apply(self.model.wDecT.p + j * dt, p + oDT + j * dt, self.mDT.p + j * dt, self.vDT.p + j * dt, dt,
                                stepSize, invSqrtBias2, a)
            }
        }
        AdamState.apply(model.bDecV.p, p + oBV, mBV.p, vBV.p, dv, stepSize, invSqrtBias2, a)
        AdamState.apply(model.bDecT.p, p + oBT, mBT.p, vBT.p, dt, stepSize, invSqrtBias2, a)
        let fired = Buffer<UInt8>(nl, zero: 0)
        for j in 0..<nl where p[oF + j] > 0 { fired[j] = 1 }
        return fired
    }
}

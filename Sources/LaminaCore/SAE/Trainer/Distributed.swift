#if canImport(Glibc)
import Glibc
#endif

// SAETrainer: data-parallel training over R workers through a reducer hook (the library itself has
// no MPI). Design (include/lamina.h, section "Distributed training"):
//  - batch_size is the global batch; worker r of R takes rows_r = B / R (+1 for r < B % R) rows of
//    every global batch, at offset sum_{q<r} rows_q.
//  - per step the reducer is called ONCE on one float32 buffer holding every gradient, the per-latent
//    firing counts and the loss sums; the FVU objective (topk) needs one more, small float64
//    reduction before the backward pass: its loss is normalised by the global batch variance.
//  - every rank receives the same reduced bytes, so every rank applies the same update.

/// Sums a buffer in place across workers (an allreduce). `double`: the buffer is float64, else float32.
/// Must give every worker identical bytes. Throws to stop training (the parameters stay at the last
/// completed step).
package protocol SAEReducer: AnyObject {
    func allreduce(_ buffer: UnsafeMutableRawPointer, count: Int, double: Bool) throws
}

package struct SAEDistribution {
    package let reducer: SAEReducer
    package let rank: Int
    package let worldSize: Int
    package init(reducer: SAEReducer, rank: Int, worldSize: Int) {
        self.reducer = reducer; self.rank = rank; self.worldSize = worldSize
    }

    /// Rows of a global batch of B taken by `rank`: B / R, plus one for the first B % R ranks.
    package static func share(batch B: Int, rank r: Int, world R: Int) -> (offset: Int, rows: Int) {
        let base = B / R, extra = B % R
        return (r * base + min(r, extra), base + (r < extra ? 1 : 0))
    }
    package func share(batch B: Int) -> (offset: Int, rows: Int) { SAEDistribution.share(batch: B, rank: rank, world: worldSize) }

    /// One float64 reduction of R x P values (each rank fills its own P slots; the sum gives every rank
    /// every rank's values). Every rank compares the others' fields with its own, except the first
    /// `exchanged` fields, which are only exchanged (e.g. row counts); the first difference names the rank
    /// and the field, and `expectation` ends the message. Returns the R x P values, rank-major.
    @discardableResult
    package func agree(on fields: [(String, Double)], expectation: String, exchanged: Int = 0) throws -> [Double] {
        let P = fields.count, R = worldSize
        var buf = [Double](repeating: 0, count: R * P)
        for (i, f) in fields.enumerated() { buf[rank * P + i] = f.1 }
        try buf.withUnsafeMutableBytes { try reducer.allreduce($0.baseAddress!, count: R * P, double: true) }
        for r in 0..<R where r != rank {
            for (i, f) in fields.enumerated() where i >= exchanged && buf[r * P + i] != f.1 && !(buf[r * P + i].isNaN && f.1.isNaN) {
                throw LaminaError.invalid("rank \(r) disagrees with rank \(rank) before training: \(f.0) is \(buf[r * P + i]) on rank \(r) but \(f.1) on rank \(rank); \(expectation)")
            }
        }
        return buf
    }

    /// Runs `body` on this rank, then one float64 reduction of R flags: a rank whose body threw rethrows
    /// its error; the others throw an error naming the first rank that failed, so that no rank is left
    /// waiting in a later reduction.
    package func agreeAllSucceeded(_ what: String, _ body: () throws -> Void) throws {
        var failure: Error? = nil
        do { try body() } catch { failure = error }
        var flags = [Double](repeating: 0, count: worldSize)
        if failure != nil { flags[rank] = 1 }
        try flags.withUnsafeMutableBytes { try reducer.allreduce($0.baseAddress!, count: worldSize, double: true) }
        if let failure { throw failure }
        if let r = flags.firstIndex(where: { $0 != 0 }) {
            throw LaminaError.invalid("rank \(r) failed \(what), so every rank stops (rank \(r)'s error names the cause)")
        }
    }
}

extension SAETrainer {
    /// Refuses what the distributed step does not reproduce exactly (named in the message).
    func checkDistributable(_ dist: SAEDistribution) throws {
        let cfg = config
        if dist.worldSize < 1 || dist.rank < 0 || dist.rank >= dist.worldSize {
            throw LaminaError.invalid("rank is \(dist.rank), world_size is \(dist.worldSize); expected 0 <= rank < world_size")
        }
        if cfg.batchSize < dist.worldSize {
            throw LaminaError.invalid("batch_size = \(cfg.batchSize) is smaller than world_size = \(dist.worldSize); expected every rank to take at least one row per step")
        }
    }

    /// FNV-1a of the configuration's description, as two exact 32-bit halves.
    func configFingerprint() -> (Double, Double) {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in String(describing: config).utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return (Double(h >> 32), Double(h & 0xffff_ffff))
    }

    /// b_dec and the input scale from every rank's sample (sums of norms, of rows and counts reduced
    /// in float64): the same mean as one process over the union of the samples, to rounding.
    func initialiseFromDataDistributed(_ dist: SAEDistribution, sample: UnsafePointer<Float>, rows: Int) throws {
        let d = model.dIn
        var buf = [Double](repeating: 0, count: d + 2)
        for r in 0..<rows { buf[d] += Vec.sumSquares(sample + r * d, d).squareRoot() }
        buf[d + 1] = Double(rows)
        buf.withUnsafeMutableBufferPointer { c in
            for r in 0..<rows { Reduce.accumulate(sample + r * d, into: c.baseAddress!, d) }
        }
        try buf.withUnsafeMutableBytes { try dist.reducer.allreduce($0.baseAddress!, count: d + 2, double: true) }
        let n = max(buf[d + 1], 1)
        if config.normalizeInput {
            let meanNorm = buf[d] / n
            model.inputScale = meanNorm > 0 ? Float(Double(d).squareRoot() / meanNorm) : 1
        }
        let s = Double(model.inputScale)
        var center = (0..<d).map { buf[$0] / n * s }
        if config.bDecInit == .geometricMedian {
            // Weiszfeld over the union of every rank's sample: one float64 reduction of d + 2 values
            // per iteration (DataInitialisation.swift); every rank stops at the same iteration.
            center = try SAETrainer.geometricMedian(sample, rows: rows, d: d, scale: s, start: center) { sums in
                try self.reduceDoubles(dist, &sums)
            }
        }
        for i in 0..<d { model.bDec[i] = config.bDecInit == .zero ? 0 : Float(center[i]) }
        dataInitialised = true
    }

    /// The global batch variance sum_b ||x_b - mean||^2 (fvu's denominator), from the float64 sums
    /// of (x - b_dec) and ||x - b_dec||^2 over every rank's rows (b_dec is the same on every rank and
    /// close to the mean, which keeps the subtraction well conditioned).
    func globalVariance(_ dist: SAEDistribution, batch x: UnsafePointer<Float>, rows B: Int, globalRows: Int) throws -> Double {
        let d = model.dIn, bd = model.bDec.p
        var buf = [Double](repeating: 0, count: d + 1)
        for r in 0..<B {
            let row = x + r * d
            for i in 0..<d { let t = Double(row[i]) - Double(bd[i]); buf[i] += t; buf[d] += t * t }
        }
        try buf.withUnsafeMutableBytes { try dist.reducer.allreduce($0.baseAddress!, count: d + 1, double: true) }
        var m2 = 0.0
        for i in 0..<d { m2 += buf[i] * buf[i] }
        return max(buf[d] - m2 / Double(globalRows), 0)
    }

    /// The one reduction of a step: [g W_enc | g W_dec | g b_enc | g b_dec | g log_threshold |
    /// firing counts (n_latents) | sse, active codes, l1 sum | (mse objective) sum(x - b_dec),
    /// sum ||x - b_dec||^2 | (Matryoshka) the G prefix SSEs] in float32; returns the reduced firing
    /// counts and sums, and leaves the summed gradients in place.
    func reduceStep(_ dist: SAEDistribution, batch x: UnsafePointer<Float>, stats local: SAEStepStats, rows B: Int,
                    dense: Bool) throws -> (fired: Buffer<UInt8>, sse: Double, active: Double, l1: Double, variance: Double,
                                            prefixSSE: [Double]) {
        let d = model.dIn, nl = model.nLatents
        densify()
        let sizes = [nl * d, nl * d, nl, d, nl]
        // The MSE objective reports fvu too: its variance sums ride along (float32, reporting only).
        let varSums = objective == .fvuAuxK ? 0 : d + 1
        let groups = min(config.groupWidths.count, lastPrefixFVU.count)
        let total = sizes.reduce(0, +) + nl + 3 + varSums + groups
        if packed.count != total { packed = FloatBuffer(total, zero: 0) }
        let p = packed.p
        var o = 0
        for (src, n) in zip([gWenc.p, gWdec.p, gBenc.p, gBdec.p, gThr.p], sizes) { (p + o).update(from: src, count: n); o += n }
        let firedAt = o
        (p + firedAt).initialize(repeating: 0, count: nl)
        if dense {
            for j in 0..<nl where denseFired[j] != 0 { p[firedAt + j] = 1 }
        } else {
            codes.value.withUnsafeBufferPointer { val in
                codes.latent.withUnsafeBufferPointer { lat in
                    for e in 0..<val.count where val[e] > 0 { p[firedAt + Int(lat[e])] = 1 }
                }
            }
        }
        o += nl
        // Local sums recovered from the per-row statistics of this rank's rows.
        let sseLocal = objective == .fvuAuxK ? local.mse * Double(B * d) : local.mse * Double(B)
        p[o] = Float(sseLocal); p[o + 1] = Float((local.l0 * Double(B)).rounded())
        p[o + 2] = Float(penalty == .l1DecoderNorm ? local.sparsity * Double(B) : 0)
        if varSums > 0 {
            var sums = [Double](repeating: 0, count: d + 1)
            let bd = model.bDec.p
            for r in 0..<B {
                let row = x + r * d
                for i in 0..<d { let t = Double(row[i]) - Double(bd[i]); sums[i] += t; sums[d] += t * t }
            }
            for i in 0...d { p[o + 3 + i] = Float(sums[i]) }
        }
        // Matryoshka: this rank's prefix SSEs (its FVUs times the global variance they were divided by).
        let stepVariance = varianceOverride ?? 1, v = stepVariance > 0 ? stepVariance : 1
        for g in 0..<groups { p[o + 3 + varSums + g] = Float(lastPrefixFVU[g] * v) }
        try reducePacked(dist, p, gradients: sizes.reduce(0, +), total: total)   // dense, or touched rows (SparseReduce.swift)
        o = 0
        for (dst, n) in zip([gWenc.p, gWdec.p, gBenc.p, gBdec.p, gThr.p], sizes) { dst.update(from: p + o, count: n); o += n }
        let fired = Buffer<UInt8>(nl, zero: 0)
        for j in 0..<nl where p[firedAt + j] > 0 { fired[j] = 1 }
        o += nl
        var variance = varianceOverride ?? 0
        if varSums > 0 {
            var m2 = 0.0
            for i in 0..<d { m2 += Double(p[o + 3 + i]) * Double(p[o + 3 + i]) }
            variance = max(Double(p[o + 3 + d]) - m2 / Double(normRows(B)), 0)
        }
        let prefixSSE = (0..<groups).map { Double(p[o + 3 + varSums + $0]) }
        return (fired, Double(p[o]), Double(p[o + 1]), Double(p[o + 2]), variance, prefixSSE)
    }

    /// The step's loss terms over the global batch, from the reduced sums (the formulas of
    /// computeGradients / denseGradients with B the global batch). `auxk` is already global (AuxK.swift);
    /// Matryoshka's loss is sum_g w_g FVU_g of the reduced prefix SSEs (also kept in lastPrefixFVU).
    func globalStats(sse: Double, active: Double, l1: Double, variance: Double, auxk: Double, prefixSSE: [Double],
                     rows gB: Int, step t: Int) -> SAEStepStats {
        let cfg = config, d = model.dIn
        var stats = SAEStepStats()
        let B = Double(gB)
        if objective == .fvuAuxK {
            stats.fvu = sse / (variance > 0 ? variance : 1)
            stats.loss = stats.fvu
            stats.mse = sse / (B * Double(d))
            if !prefixSSE.isEmpty {
                let v = variance > 0 ? variance : 1
                lastPrefixFVU = prefixSSE.map { $0 / v }
                stats.loss = zip(cfg.effectiveGroupWeights, lastPrefixFVU).reduce(0) { $0 + $1.0 * $1.1 }
            }
        } else {
            stats.mse = sse / B
            stats.loss = stats.mse
            stats.fvu = variance > 0 ? sse / variance : 0
        }
        stats.l0 = active / B
        let sparsityCoef = cfg.l1Coefficient * cfg.sparsityMultiplier(step: t)
        switch penalty {
        case .none: break
        case .l1DecoderNorm:
            stats.sparsity = l1 / B
            stats.loss += sparsityCoef * stats.sparsity
        case .l0JumpReLU:
            stats.sparsity = stats.l0
            stats.loss += sparsityCoef * stats.l0
        }
        stats.auxk = auxk
        stats.loss += cfg.auxkAlpha * auxk
        return stats
    }
}

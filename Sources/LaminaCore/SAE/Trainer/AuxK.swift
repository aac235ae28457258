// SAETrainer: the AuxK auxiliary loss over dead latents (TopK family).
extension SAETrainer {
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
        let dist = distribution
        if let dist {
            // Distributed: the global batch's sum e and sum ||e_hat - e||^2 (one reduction of d + 1),
            // then the centred sum of squares about the global mean (one more value): the same two
            // passes as one process, over the global batch.
            var buf = mean + [sq]
            try reduceDoubles(dist, &buf)
            mean = Array(buf[0..<d]); sq = buf[d]
        }
        for i in 0..<d { mean[i] /= Double(normRows(B)) }
        var ve = Parallel.mapChunks(count: B, chunk: 64) { range -> Double in
            var s = 0.0
            for r in range {
                for i in 0..<d {
                    let c = Double(rp[r * d + i]) - mean[i]
                    s += c * c
                }
            }
            return s
        }.reduce(0, +)
        if let dist {
            var buf = [ve]
            try reduceDoubles(dist, &buf)
            ve = buf[0]
        }
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
}

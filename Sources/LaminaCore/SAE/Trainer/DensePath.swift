#if canImport(Glibc)
import Glibc
#endif

// SAETrainer: the dense path of a ReLU / JumpReLU step (codes more than 5% non-zero) as gemms.
extension SAETrainer {
    /// ReLU and JumpReLU codes start dense (about half the latents active): while the last step had
    /// more than 5% non-zero codes, a step runs as dense gemms (the sparse products cost ~15x more per
    /// entry than a gemm does per element); TopK/BatchTopK are always sparse.
    /// (LAMINA_SAE_PATH=dense|sparse forces a path, for tests.)
    func useDensePath() -> Bool {
        if objective == .fvuAuxK { return false }
        if let forced = getenv("LAMINA_SAE_PATH").map({ String(cString: $0) }) {
            if forced == "dense" { return true }
            if forced == "sparse" { return false }
        }
        return lastDensity > 0.05
    }

    /// The gradients of a ReLU or JumpReLU step with dense codes: pre, z, x_hat, dL/dW_dec = z^T G,
    /// dz = G W_dec^T, dL/dW_enc = dpre^T xc as sgemms split in fixed tasks over rows or latents.
    func denseGradients(batch x: UnsafePointer<Float>, rows B: Int) throws -> SAEStepStats {
        let cfg = config
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
        let isJump = penalty == .l0JumpReLU   // otherwise the L1 decoder-norm penalty
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
        let gScale = Float(2 / Double(normRows(B)))
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
        if !stats.loss.isFinite && distribution == nil {
            throw LaminaError(.nonFinite, "training diverged at step \(t): the loss is \(stats.loss); lower lr or enable grad_clip (the model keeps step \(t - 1))")
        }
        // dL/dW_dec = z^T G, per latent block; column sums of z (fired, ReLU norm term).
        let gd = gWdec.p, ge = gWenc.p, gbe = gBenc.p, gth = gThr.p
        let l1Coef = Float(sparsityCoef / Double(normRows(B)))
        let eps = Float(cfg.jumpReLUBandwidth), l0Coef = Float(sparsityCoef / Double(normRows(B)))
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
}

// SAETrainer: the sparse path of a step: forward over the sparse codes, loss terms, per-latent
// gradients over the transposed codes (optionally with the optimizer fused in).
extension SAETrainer {
    /// Steps 1-7: forward, loss terms and the gradients of every parameter (touched rows only) at the
    /// current parameters, for the next step t = stepsDone + 1. Parameters are not changed.
    package func computeGradients(batch x: UnsafePointer<Float>, rows B: Int, fusedLearningRate: Float? = nil) throws -> SAEStepStats {
        let cfg = config
        let d = model.dIn, nl = model.nLatents
        ensureScratch(B)
        let t = stepsDone + 1
        var stats = SAEStepStats()
        let wDec = model.wDec.p, bDec = model.bDec.p
        let xcp = xc.p, xhp = xhat.p, auxp = aux.p
        let blocks = (B + 63) / 64

        // 1. xc = x - b_dec
        Parallel.forEachTask(blocks) { tb in
            for r in (tb * 64)..<min(B, tb * 64 + 64) { Vec.sub(x + r * d, bDec, xcp + r * d, d) }
        }

        // Dead latents (before this step).
        var dead: [Int32] = []
        if objective == .fvuAuxK && cfg.auxkAlpha > 0 {
            let limit = Int64(cfg.deadTokens)
            for j in 0..<nl where sinceFired[j] > limit { dead.append(Int32(j)) }
        }

        // 2. Encode.
        let sparsityCoef = cfg.l1Coefficient * cfg.sparsityMultiplier(step: t)
        try rule.encodeTraining(self, rows: B)

        // 3.-6. Loss scale from x alone (fvu's denominator), then one pass per row: decode x_hat_b,
        // its squared error, (the residual x - x_hat for AuxK), G_b = dL/dx_hat_b in place of x_hat_b,
        // and dz_e = W_dec[j] . G_b for the row's entries while those decoder rows are still in cache.
        let variance = varianceOverride ?? SAETrainer.totalVariance(x, rows: B, cols: d)
        let gScale: Float
        if objective == .fvuAuxK {
            gScale = Float(2 / (variance > 0 ? variance : 1))
        } else {
            gScale = Float(2 / Double(normRows(B)))
        }
        var extra: FloatBuffer? = nil
        if penalty == .l1DecoderNorm {
            let e = FloatBuffer(nl, zero: 0)
            let c = Float(sparsityCoef / Double(normRows(B)))
            for j in 0..<nl { e[j] = c * decNorm[j] }
            extra = e
        }
        let extraP = extra.map { UnsafePointer($0.p) }
        let keepResidual = !dead.isEmpty
        let rp = resid.p
        let prefixSSE: [Double]? = cfg.groupWidths.isEmpty ? nil
            : matryoshkaRows(x: x, rows: B, gScale: gScale, keepResidual: keepResidual)
        let sse: Double = prefixSSE?.last ?? codes.latent.withUnsafeBufferPointer { lat in
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
        if objective == .fvuAuxK {
            stats.fvu = sse / (variance > 0 ? variance : 1)
            stats.loss = stats.fvu
            stats.mse = sse / Double(B * d)
        } else {
            stats.mse = sse / Double(B)
            stats.loss = stats.mse
            stats.fvu = variance > 0 ? sse / variance : 0
        }
        if let prefixSSE {
            // Matryoshka: loss = sum_g w_g FVU_g (MatryoshkaLoss.swift); stats.fvu is the full decoder's.
            let v = variance > 0 ? variance : 1
            lastPrefixFVU = prefixSSE.map { $0 / v }
            stats.loss = zip(cfg.effectiveGroupWeights, lastPrefixFVU).reduce(0) { $0 + $1.0 * $1.1 }
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
                    if penalty == .l1DecoderNorm { l1 += Double(val[e]) * Double(decNorm[Int(lat[e])]) }
                }
            }
        }
        stats.l0 = Double(active) / Double(B)
        switch penalty {
        case .none: break
        case .l1DecoderNorm:
            stats.sparsity = l1 / Double(B)
            stats.loss += sparsityCoef * stats.sparsity
        case .l0JumpReLU:
            stats.sparsity = stats.l0
            stats.loss += sparsityCoef * stats.l0
        }
        stats.loss += cfg.auxkAlpha * stats.auxk

        if !stats.loss.isFinite && distribution == nil {
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

    struct LatentPartials {
        var normSq: Double
        var encTerm: [[Double]]
    }

    static let latentChunk = 64

    /// Per-latent gradients over the transposed codes (main and AuxK), one task per chunk of latents.
    func latentGradients(B: Int, sparsityCoef: Double, auxUsed: Bool, fusedAdam: (Float, Float)?) -> LatentPartials {
        let cfg = config
        let d = model.dIn, nl = model.nLatents
        // Per-architecture behaviour as plain flags for the hot loop.
        let learnsThreshold = penalty == .l0JumpReLU, l1Penalty = penalty == .l1DecoderNorm
        let unitNormRows = objective == .fvuAuxK
        let main = SAEDecoderKernel.transpose(codes, latents: nl)
        let auxT = auxUsed ? SAEDecoderKernel.transpose(auxCodes, latents: nl) : nil
        let wEnc = model.wEnc.p, wDec = model.wDec.p, theta = model.threshold.p
        let g = xhat.p, ga = aux.p, xcp = xc.p
        // Matryoshka: a latent of group c takes its decoder gradient from S_c (MatryoshkaLoss.swift).
        let groupWidths = cfg.groupWidths, prefixG: UnsafeMutablePointer<Float>? = groupWidths.isEmpty ? nil : prefixGrad.p
        let ge = gWenc.p, gd = gWdec.p, gbe = gBenc.p, gth = gThr.p, touch = touched.p, dn = decNorm.p
        let eps = Float(cfg.jumpReLUBandwidth)
        // The L1 (ReLU) and L0 (JumpReLU) penalties share one coefficient per row.
        let l1Coef = Float(sparsityCoef / Double(normRows(B))), l0Coef = l1Coef
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
                    var gRows = g
                    if let prefixG {
                        gRows = groupWidths.withUnsafeBufferPointer { prefixG + SAETrainer.groupOf(j, $0.baseAddress!, $0.count) * B * d }
                    }
                    for q in m0..<m1 {
                        let e = Int(me[q])
                        let r = Int(rowOf[e])
                        let z = val[e]
                        if z != 0 {
                            let dp = grad[e]
                            Vec.axpy2(z, gRows + r * d, gdr, dp, xcp + r * d, ger, d)
                            db += dp
                            zsum += z
                        }
                        if learnsThreshold {
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
                    if unitNormRows {
                        // Remove the component parallel to the (unit-norm) decoder row.
                        let par = Vec.dot(wdr, gdr, d)
                        Vec.axpy(-par, wdr, gdr, d)
                    } else if l1Penalty && zsum != 0 && dn[j] > 0 {
                        // d/dW_dec,j of lambda/B sum_b z_bj ||W_dec,j||.
                        Vec.axpy(l1Coef * zsum / dn[j], wdr, gdr, d)
                    }
                    gbe[j] = db
                    // log-threshold parameterisation: d/dlog(theta) = theta d/dtheta.
                    gth[j] = learnsThreshold ? dth * theta[j] : 0
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

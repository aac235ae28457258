// SAETrainer: the Matryoshka loss (prefix decoders) of a step's sparse forward pass.
extension SAETrainer {
    /// The group of latent j: the smallest g with j < m_g (widths m_1 < ... < m_G, at most 16).
    @inline(__always)
    static func groupOf(_ j: Int, _ widths: UnsafePointer<Int>, _ count: Int) -> Int {
        var g = 0
        while g < count - 1 && j >= widths[g] { g += 1 }
        return g
    }

    /// Steps 3-6 for Matryoshka SAEs. Per row b: the prefix reconstructions x_hat_g = b_dec +
    /// sum_{j < m_g} z_bj W_dec[j] and their squared errors (returned, summed over rows: one per group,
    /// float64); P_g = gScale w_g (x_hat_g - x) = dL/dx_hat_g; the suffix sums S_c = sum_{g >= c} P_g,
    /// kept in `prefixGrad` (group c at offset c * B * d): the gradient reaching a latent of group c is
    /// W_dec[j] . S_c, and its decoder row's is z S_c. `xhat` receives S_0 (the b_dec gradient's
    /// row term), `resid` x - x_hat_G (AuxK's residual, the full decoder's) when `keepResidual`.
    func matryoshkaRows(x: UnsafePointer<Float>, rows B: Int, gScale: Float, keepResidual: Bool) -> [Double] {
        let cfg = config, d = model.dIn
        let widths = cfg.groupWidths, weights = cfg.effectiveGroupWeights
        let G = widths.count
        if prefixGrad.count != G * B * d { prefixGrad = FloatBuffer(G * B * d, zero: 0) }
        let wDec = model.wDec.p, bDec = model.bDec.p
        let xhp = xhat.p, rp = resid.p, pg = prefixGrad.p
        let scales = weights.map { gScale * Float($0) }
        let parts: [[Double]] = widths.withUnsafeBufferPointer { wb in
            codes.latent.withUnsafeBufferPointer { lat in
                codes.value.withUnsafeBufferPointer { val in
                    codes.rowStart.withUnsafeBufferPointer { rs in
                        codes.grad.withUnsafeMutableBufferPointer { gr in
                            let gp = gr.baseAddress!, wp = wb.baseAddress!
                            return Parallel.mapChunks(count: B, chunk: 64) { range -> [Double] in
                                var sse = [Double](repeating: 0, count: G)
                                for r in range {
                                    let o = xhp + r * d, xr = x + r * d
                                    o.update(from: bDec, count: d)
                                    var lo = 0
                                    for g in 0..<G {
                                        let hi = wp[g]
                                        for e in rs[r]..<rs[r + 1] where val[e] != 0 {
                                            let j = Int(lat[e])
                                            if j >= lo && j < hi { Vec.axpy(val[e], wDec + j * d, o, d) }
                                        }
                                        let p = pg + (g * B + r) * d
                                        Vec.sub(o, xr, p, d)                 // x_hat_g - x
                                        sse[g] += Vec.sumSquares(p, d)
                                        if g == G - 1 && keepResidual {
                                            let rr = rp + r * d
                                            for i in 0..<d { rr[i] = -p[i] }
                                        }
                                        Vec.scale(p, scales[g], d)            // P_g
                                        lo = hi
                                    }
                                    if G > 1 {
                                        for c in stride(from: G - 2, through: 0, by: -1) {  // S_c = P_c + S_{c+1}
                                            let s = pg + (c * B + r) * d
                                            Vec.axpy(1, pg + ((c + 1) * B + r) * d, s, d)
                                        }
                                    }
                                    o.update(from: pg + r * d, count: d)     // S_0
                                    for e in rs[r]..<rs[r + 1] {
                                        let j = Int(lat[e])
                                        let c = SAETrainer.groupOf(j, wp, G)
                                        gp[e] = Vec.dot(wDec + j * d, pg + (c * B + r) * d, d)
                                    }
                                }
                                return sse
                            }
                        }
                    }
                }
            }
        }
        var sse = [Double](repeating: 0, count: G)
        for p in parts { for g in 0..<G { sse[g] += p[g] } }
        return sse
    }
}

/// The decoder side: sparse decode and the sparse backward products, all O(batch * active * d).
///
///   decode:    x_hat_b = b_dec + sum_{e in row b} z_e W_dec[latent_e]
///   dz:        dz_e = W_dec[latent_e] . G_b                     (G = dL/dx_hat)
///   per latent j (transposed codes, one task per fixed chunk of latents):
///              dW_dec[j] = sum_{e -> j} z_e G_{row e}       dW_enc[j] = sum_{e -> j} dpre_e xc_{row e}
///              db_enc[j] = sum_{e -> j} dpre_e
/// Only latents with entries are written ("touched"); the others have a zero gradient that the
/// optimizer applies without reading a buffer. A decoder of another model (one per modality in
/// VL-SAE) is the same kernels on its own W_dec / G.
enum SAEDecoderKernel {
    static let blockRows = 64

    static func decode(_ codes: SparseCodes, wDec: UnsafePointer<Float>, bDec: UnsafePointer<Float>?, d: Int,
                       into out: UnsafeMutablePointer<Float>) {
        let rows = codes.rows
        codes.latent.withUnsafeBufferPointer { lat in
            codes.value.withUnsafeBufferPointer { val in
                codes.rowStart.withUnsafeBufferPointer { rs in
                    Parallel.forEachTask((rows + blockRows - 1) / blockRows) { t in
                        for r in (t * blockRows)..<min(rows, t * blockRows + blockRows) {
                            let o = out + r * d
                            if let bDec { o.update(from: bDec, count: d) } else { o.initialize(repeating: 0, count: d) }
                            for e in rs[r]..<rs[r + 1] where val[e] != 0 {
                                Vec.axpy(val[e], wDec + Int(lat[e]) * d, o, d)
                            }
                        }
                    }
                }
            }
        }
    }

    /// codes.grad[e] = W_dec[latent_e] . G[row e] for every entry.
    static func codeGradients(_ codes: SparseCodes, wDec: UnsafePointer<Float>, g: UnsafePointer<Float>, d: Int) {
        let rows = codes.rows
        codes.latent.withUnsafeBufferPointer { lat in
            codes.rowStart.withUnsafeBufferPointer { rs in
                codes.grad.withUnsafeMutableBufferPointer { gr in
                    let gp = gr.baseAddress!
                    Parallel.forEachTask((rows + blockRows - 1) / blockRows) { t in
                        for r in (t * blockRows)..<min(rows, t * blockRows + blockRows) {
                            for e in rs[r]..<rs[r + 1] {
                                let j = Int(lat[e])
                                gp[e] = Vec.dot(wDec + j * d, g + r * d, d)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Entries of the codes grouped by latent (counting sort, entries in row order within a latent).
    struct Transposed {
        var start: [Int]     // n_latents + 1
        var entry: [Int32]
    }

    static func transpose(_ codes: SparseCodes, latents nl: Int) -> Transposed {
        var start = [Int](repeating: 0, count: nl + 1)
        let count = codes.count
        var entry = [Int32](repeating: 0, count: count)
        codes.latent.withUnsafeBufferPointer { lat in
            start.withUnsafeMutableBufferPointer { s in
                for e in 0..<count { s[Int(lat[e]) + 1] += 1 }
                for j in 0..<nl { s[j + 1] += s[j] }
                var fill = Array(s[0..<nl])
                entry.withUnsafeMutableBufferPointer { en in
                    fill.withUnsafeMutableBufferPointer { f in
                        for e in 0..<count {
                            let j = Int(lat[e])
                            en[f[j]] = Int32(e)
                            f[j] += 1
                        }
                    }
                }
            }
        }
        return Transposed(start: start, entry: entry)
    }
}

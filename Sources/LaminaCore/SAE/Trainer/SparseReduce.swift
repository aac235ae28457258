#if canImport(Glibc)
import Glibc
#endif

// SAETrainer: the sparse-gradient reduction (include/lamina.h section 16, lamina_sae_set_reduce_mode).
// Only the latents that some rank touched in a step have non-zero W_enc / W_dec / b_enc /
// log-threshold gradients; when they are few (n_latents much larger than batch_size * k), sending their
// rows and skipping the rest is smaller than the dense buffer. Two reductions replace the dense one:
//   1. [touched flags (n_latents, each rank adds 1 for a latent with a non-zero gradient row) | the
//      step's other values (firing counts, loss sums, ...)]: every rank learns the union U;
//   2. [W_enc rows of U | W_dec rows of U | b_enc[U] | log_threshold[U] | b_dec (d)].
// Every entry of the result is the same fixed-order sum of the same per-rank values as in the dense
// buffer (a row outside U is zero on every rank), so with an elementwise reducer the reduced gradients
// are bit-identical to the dense reduction.

/// How the step's gradients go through the reducer.
package enum SAEReduceMode: Int32, Sendable {
    /// One buffer with every gradient (2 n_latents d + 2 n_latents + d values) and the step's sums.
    case dense = 0
    /// Touched flags first, then only the rows of the latents some rank touched.
    case sparseRows = 1
}

extension SAETrainer {
    /// Reduces the step's packed float32 buffer `p` in place: `gradients` values laid out [dW_enc
    /// (n_latents*d) | dW_dec (n_latents*d) | db_enc (n_latents) | db_dec (d) | dlog_threshold
    /// (n_latents)], then `total - gradients` other values (summed as they are). Dense mode (or a
    /// gradient region of another layout) is one reduction of all `total` values.
    func reducePacked(_ dist: SAEDistribution, _ p: UnsafeMutablePointer<Float>, gradients: Int, total: Int) throws {
        let nl = model.nLatents, d = model.dIn
        let layoutMatches = gradients == 2 * nl * d + 2 * nl + d
        if reduceMode == .dense || !layoutMatches {
            lastReducedValues = total
            try dist.reducer.allreduce(UnsafeMutableRawPointer(p), count: total, double: false)
            return
        }
        let wEnc = p, wDec = p + nl * d, bEnc = p + 2 * nl * d, bDec = bEnc + nl, thr = bDec + d
        let extras = total - gradients
        // 1. Touched flags (a row with any non-zero entry; -0 counts as zero) and the other values.
        if sparseFlags.count != nl + extras { sparseFlags = FloatBuffer(nl + extras, zero: 0) }
        let flags = sparseFlags.p
        Parallel.forEachTask((nl + 255) / 256) { t in
            for j in (t * 256)..<min(nl, t * 256 + 256) {
                let touched = SAETrainer.anyNonZero(wEnc + j * d, d) || SAETrainer.anyNonZero(wDec + j * d, d)
                    || bEnc[j] != 0 || thr[j] != 0
                flags[j] = touched ? 1 : 0
            }
        }
        (flags + nl).update(from: p + gradients, count: extras)
        try dist.reducer.allreduce(UnsafeMutableRawPointer(flags), count: nl + extras, double: false)
        (p + gradients).update(from: flags + nl, count: extras)
        // 2. The rows of the union.
        var union = [Int32]()
        union.reserveCapacity(nl)
        for j in 0..<nl where flags[j] > 0 { union.append(Int32(j)) }
        let u = union.count
        let count = 2 * u * d + 2 * u + d
        if sparseRows.count < count { sparseRows = FloatBuffer(count, zero: 0) }
        let rows = sparseRows.p
        union.withUnsafeBufferPointer { un in
            Parallel.forEachTask((u + 255) / 256) { t in
                for i in (t * 256)..<min(u, t * 256 + 256) {
                    let j = Int(un[i])
                    (rows + i * d).update(from: wEnc + j * d, count: d)
                    (rows + (u + i) * d).update(from: wDec + j * d, count: d)
                    rows[2 * u * d + i] = bEnc[j]
                    rows[2 * u * d + u + i] = thr[j]
                }
            }
        }
        (rows + 2 * u * d + 2 * u).update(from: bDec, count: d)
        try dist.reducer.allreduce(UnsafeMutableRawPointer(rows), count: count, double: false)
        union.withUnsafeBufferPointer { un in
            Parallel.forEachTask((u + 255) / 256) { t in
                for i in (t * 256)..<min(u, t * 256 + 256) {
                    let j = Int(un[i])
                    (wEnc + j * d).update(from: rows + i * d, count: d)
                    (wDec + j * d).update(from: rows + (u + i) * d, count: d)
                    bEnc[j] = rows[2 * u * d + i]
                    thr[j] = rows[2 * u * d + u + i]
                }
            }
        }
        bDec.update(from: rows + 2 * u * d + 2 * u, count: d)
        lastReducedValues = nl + extras + count
        lastTouchedUnion = u
    }

    /// Whether any of the n values is non-zero (the OR of the bit patterns without the sign bit).
    @inline(__always)
    static func anyNonZero(_ x: UnsafePointer<Float>, _ n: Int) -> Bool {
        var acc = SIMD8<UInt32>(repeating: 0)
        var i = 0
        x.withMemoryRebound(to: UInt32.self, capacity: n) { b in
            let raw = UnsafeRawPointer(b)
            while i + 8 <= n {
                acc |= raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<UInt32>.self)
                i += 8
            }
            var tail: UInt32 = 0
            while i < n { tail |= b[i]; i += 1 }
            acc[0] |= tail
        }
        acc &= SIMD8<UInt32>(repeating: 0x7fff_ffff)
        return acc != SIMD8<UInt32>(repeating: 0)
    }
}

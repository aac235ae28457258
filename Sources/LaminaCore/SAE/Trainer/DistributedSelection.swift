// SAETrainer: the parts of a distributed step that are not sums of per-rank gradients (include/lamina.h,
// section 16): BatchTopK's selection over the global batch (AuxK's global residual variance is in
// AuxK.swift, the geometric median over the union of the ranks' samples in Distributed.swift). Each
// reduction is a float64 buffer whose entries are sums of per-rank values or of per-rank slots (rank r
// writes slot r, the others 0), so every rank receives the same bytes and takes the same branches: no
// rank can wait in a reduction the others skip.
extension SAETrainer {
    /// Sums a float64 array in place across the ranks (one reducer call).
    func reduceDoubles(_ dist: SAEDistribution, _ buf: inout [Double]) throws {
        let n = buf.count
        try buf.withUnsafeMutableBytes { try dist.reducer.allreduce($0.baseAddress!, count: n, double: true) }
    }

    /// BatchTopK over the GLOBAL batch of normRows(B) rows (this rank holds B of them, the rows of the
    /// lower ranks coming first): exactly the single-process rule of `BatchTopKRule.encodeTraining` on
    /// the concatenated batch. The k * B_global-th largest candidate value t is found by a radix select
    /// over the float32 bit patterns of the (positive) candidates: three float64 reductions of per-digit
    /// counts (11 + 11 + 9 bits: 2048, 2048 and 512 bins; round 1 also carries the candidate total and
    /// each rank's smallest candidate), exact whatever the rank count. A fourth reduction carries each
    /// rank's count of values equal to t and whether a rank has a saturated row (then every rank widens
    /// its per-row cap and repeats, as the single process does). Entries > t are kept; ties at t go to
    /// the first ones in global row order (lower ranks first), as in one process.
    /// Sets `batchMinPositive` to the smallest kept code of the global batch (the running threshold's
    /// input) on every rank.
    func encodeBatchTopKDistributed(_ dist: SAEDistribution, rows B: Int) throws {
        let cfg = config, nl = model.nLatents, d = model.dIn
        let R = dist.worldSize, me = dist.rank
        let keep = cfg.k * normRows(B)
        var cap = min(nl, 4 * cfg.k)
        // The radix digits of a positive float32's bits (bit 31 is 0): 11, 11 and 9 bits.
        let shifts = [20, 9, 0], widths = [11, 11, 9]
        while true {
            SAEEncoderKernel.run(xc: xc.p, rows: B, d: d, wEnc: model.wEnc.p, bEnc: model.bEnc.p, nl: nl,
                                 selector: TopKSelector(cap: cap), into: codes)
            let values = codes.value
            // Round 1: [total | smallest candidate per rank (R slots) | histogram of the first digit].
            var localMin = Double.infinity
            for v in values where Double(v) < localMin { localMin = Double(v) }
            var buf = [Double](repeating: 0, count: 1 + R + (1 << widths[0]))
            buf[0] = Double(values.count)
            buf[1 + me] = localMin
            for v in values { buf[1 + R + Int(v.bitPattern >> UInt32(shifts[0]))] += 1 }
            try reduceDoubles(dist, &buf)
            let total = buf[0]
            if total <= Double(keep) {
                // Everything is kept (as in one process): the smallest code is the smallest candidate.
                batchMinPositive = Float(buf[1..<(1 + R)].min() ?? .infinity)
                return
            }
            // Walk the digits from the largest value down: prefix = the digits of t found so far,
            // above = the global count of candidates strictly greater than any value with that prefix.
            var prefix: UInt32 = 0, above = 0.0, ties = 0.0
            var hist = Array(buf[(1 + R)...])
            for round in 0..<3 {
                if round > 0 {
                    hist = [Double](repeating: 0, count: 1 << widths[round])
                    let high = UInt32(shifts[round - 1])
                    let mask = UInt32((1 << widths[round]) - 1)
                    for v in values where v.bitPattern >> high == prefix {
                        hist[Int((v.bitPattern >> UInt32(shifts[round])) & mask)] += 1
                    }
                    try reduceDoubles(dist, &hist)
                }
                var b = hist.count - 1, cum = above
                while b > 0 && cum + hist[b] < Double(keep) { cum += hist[b]; b -= 1 }
                above = cum
                ties = hist[b]
                prefix = round == 0 ? UInt32(b) : (prefix << UInt32(widths[round]) | UInt32(b))
            }
            let t = Float(bitPattern: prefix)
            // Round 4: [values equal to t per rank (R slots) | saturated rows].
            var localTies = 0
            for v in values where v == t { localTies += 1 }
            var flags = [Double](repeating: 0, count: R + 1)
            flags[me] = Double(localTies)
            if cap < nl && BatchTopKRule.saturated(codes, rows: B, cap: cap, threshold: t) { flags[R] = 1 }
            try reduceDoubles(dist, &flags)
            if flags[R] > 0 { cap = min(nl, cap * 4); continue }
            if flags[0..<R].reduce(0, +) != ties {
                throw LaminaError(.internal, "BatchTopK across ranks: the ranks' counts of values equal to the threshold sum to \(flags[0..<R].reduce(0, +)), the reduced histogram says \(ties); the reducer must give every rank identical sums")
            }
            let before = flags[0..<me].reduce(0, +)
            let allowance = max(0, min(Double(localTies), Double(keep) - above - before))
            BatchTopKRule.filter(codes, rows: B, threshold: t, ties: Int(allowance))
            batchMinPositive = t
            return
        }
    }
}

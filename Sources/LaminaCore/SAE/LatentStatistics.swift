/// Per-latent statistics of an SAE's codes over any number of rows, in one streamed pass (the rows are
/// encoded chunk by chunk through the SAE's own encoder; an n x n_latents matrix is never held).
///
/// For each latent j, over the rows seen (codes are non-negative for every architecture; a latent
/// "fires" on a row when its code z > 0):
///  - count[j]      number of rows where z_j > 0
///  - sum[j]        sum of z_j (float64); mean over all rows = sum / n_rows, over firing rows = sum / count
///  - max[j]        largest z_j (0 if the latent never fired)
///  - minNonzero[j] smallest positive z_j (0 if it never fired)
///  - histogram[j]  `LatentStatistics.bins` counts of the positive values, bin = the float32 bit pattern
///                  >> 19 minus 1776 clamped to [0, 511]: 16 linear sub-bins per octave over
///                  [2^-16, 2^16) (relative bin width <= 1/16); bin 0 also takes every value below,
///                  bin 511 every value above. Quantiles read from it (bin midpoint, clamped to
///                  [minNonzero, max]) are within 1/32 relative of the exact order statistic for
///                  values in [2^-16 * 17/16, 2^15 * 31/16).
///  - top           the topN rows with the largest z_j (value descending, ties by lower row index),
///                  row indices offset by `rowOffset`; unused slots have row -1 and value 0.
///
/// Merge rule (two results over disjoint rows): n_rows, count, sum and histogram add; max is the max;
/// minNonzero is the min over the results where the latent fired; top is the topN of the union under
/// the same order. Everything except the float64 sum is then bit-identical to one pass over all rows.
/// `accumulate(..., merge: true)` applies the rule to the buffers it is given.
package enum LatentStatistics {
    package static let bins = 512
    static let binBase: UInt32 = 1776   // (127 - 16) << 4: the bits >> 19 of 2^-16

    @inline(__always)
    package static func bin(_ v: Float) -> Int {
        let b = Int(v.bitPattern >> 19) - Int(binBase)
        return b < 0 ? 0 : (b >= bins ? bins - 1 : b)
    }

    /// The caller's result buffers (n_latents values each; histogram n_latents x bins; top n_latents x topN).
    package struct Buffers {
        package var nRows: UnsafeMutablePointer<Int64>
        package var count: UnsafeMutablePointer<Int64>
        package var sum: UnsafeMutablePointer<Double>
        package var max: UnsafeMutablePointer<Float>
        package var minNonzero: UnsafeMutablePointer<Float>
        package var histogram: UnsafeMutablePointer<Int64>
        package var topRows: UnsafeMutablePointer<Int64>
        package var topValues: UnsafeMutablePointer<Float>
        package var topN: Int

        package init(nRows: UnsafeMutablePointer<Int64>, count: UnsafeMutablePointer<Int64>, sum: UnsafeMutablePointer<Double>,
                     max: UnsafeMutablePointer<Float>, minNonzero: UnsafeMutablePointer<Float>,
                     histogram: UnsafeMutablePointer<Int64>, topRows: UnsafeMutablePointer<Int64>,
                     topValues: UnsafeMutablePointer<Float>, topN: Int) {
            self.nRows = nRows; self.count = count; self.sum = sum; self.max = max; self.minNonzero = minNonzero
            self.histogram = histogram; self.topRows = topRows; self.topValues = topValues; self.topN = topN
        }
    }

    /// Checks that buffers given for merging hold a valid result (so that a merge cannot go wrong
    /// silently): counts >= 0 and consistent, finite values, top slots sorted with unused ones last.
    package static func checkMergeable(_ b: Buffers, nLatents: Int) throws {
        if b.nRows.pointee < 0 { throw LaminaError.invalid("n_rows is \(b.nRows.pointee); expected >= 0 when accumulate = 1") }
        let t = b.topN
        for j in 0..<nLatents {
            let c = b.count[j]
            if c < 0 || c > b.nRows.pointee {
                throw LaminaError.invalid("count[\(j)] is \(c); expected 0 <= count <= n_rows (\(b.nRows.pointee)) when accumulate = 1")
            }
            if !(b.max[j] >= 0 && b.max[j].isFinite) || !(b.minNonzero[j] >= 0 && b.minNonzero[j].isFinite) || !b.sum[j].isFinite {
                throw LaminaError.invalid("latent \(j) holds a negative or non-finite sum, max or min_nonzero; expected a result of a previous call when accumulate = 1")
            }
            var filled = true
            for s in 0..<t {
                let r = b.topRows[j * t + s], v = b.topValues[j * t + s]
                if r < 0 {
                    if r != -1 || v != 0 { throw LaminaError.invalid("top_rows[\(j)][\(s)] is \(r) with value \(v); expected -1 with value 0 for an unused slot") }
                    filled = false
                    continue
                }
                if !filled { throw LaminaError.invalid("top_rows[\(j)][\(s)] is used after an unused slot; expected unused slots last") }
                if !(v > 0 && v.isFinite) { throw LaminaError.invalid("top_values[\(j)][\(s)] is \(v); expected a finite value > 0") }
                if s > 0 {
                    let pr = b.topRows[j * t + s - 1], pv = b.topValues[j * t + s - 1]
                    if !(pv > v || (pv == v && pr < r)) {
                        throw LaminaError.invalid("top slots of latent \(j) are not sorted at slot \(s); expected value descending, ties by lower row")
                    }
                }
            }
        }
    }

    /// (value, row) a is a worse top entry than b: smaller value, or equal value and higher row.
    @inline(__always)
    static func worse(_ va: Float, _ ra: Int64, _ vb: Float, _ rb: Int64) -> Bool {
        va < vb || (va == vb && ra > rb)
    }

    /// Sift down in a min-heap (root = worst entry) of `size` entries.
    @inline(__always)
    static func siftDown(_ v: UnsafeMutablePointer<Float>, _ r: UnsafeMutablePointer<Int64>, _ size: Int, _ start: Int) {
        var i = start
        while true {
            let l = 2 * i + 1, rr = l + 1
            var w = i
            if l < size && worse(v[l], r[l], v[w], r[w]) { w = l }
            if rr < size && worse(v[rr], r[rr], v[w], r[w]) { w = rr }
            if w == i { return }
            v.swapAt(i, w); r.swapAt(i, w)
            i = w
        }
    }

    @inline(__always)
    static func siftUp(_ v: UnsafeMutablePointer<Float>, _ r: UnsafeMutablePointer<Int64>, _ start: Int) {
        var i = start
        while i > 0 {
            let p = (i - 1) / 2
            if !worse(v[i], r[i], v[p], r[p]) { return }
            v.swapAt(i, p); r.swapAt(i, p)
            i = p
        }
    }
}

private extension UnsafeMutablePointer {
    @inline(__always) func swapAt(_ a: Int, _ b: Int) { let t = self[a]; self[a] = self[b]; self[b] = t }
}

/// A RowSource that refuses non-finite values as they are read (for streamed sources).
struct FiniteCheckedRows: RowSource {
    let base: RowSource
    var rows: Int { base.rows }
    var cols: Int { base.cols }
    func read(rows range: Range<Int>, into out: UnsafeMutablePointer<Float>) throws {
        try base.read(rows: range, into: out)
        if let bad = MatrixView(base: out, rows: range.count, cols: cols).firstNonFinite() {
            throw LaminaError(.nonFinite, "the data contains \(out[bad.row * cols + bad.col]) at row \(range.lowerBound + bad.row), column \(bad.col); expected finite values")
        }
    }
}

extension SparseAutoencoder {
    /// One streamed pass of `LatentStatistics` over the rows of x (row i is reported as rowOffset + i).
    /// merge = false: the buffers receive the statistics of x; merge = true: the statistics of x are
    /// merged into the result the buffers hold (see the merge rule). The buffers are written only when
    /// the pass completes, except that with merge = false the histogram is filled in place (on an error
    /// or cancellation during the pass it is zeroed and nRows set to 0; every other buffer is unchanged).
    package func accumulateLatentStatistics(_ x: RowSource, rowOffset: Int, merge: Bool, into out: LatentStatistics.Buffers,
                                            progress: ProgressHandler?) throws {
        let nl = nLatents, t = out.topN, nb = LatentStatistics.bins
        let n = x.rows
        let (hn, o1) = nl.multipliedReportingOverflow(by: nb)
        let (tn, o2) = nl.multipliedReportingOverflow(by: t)
        if o1 || o2 { throw LaminaError(.outOfMemory, "the statistics of \(nl) latents overflow") }
        if merge { try LatentStatistics.checkMergeable(out, nLatents: nl) }
        // Scratch (the result is copied out only on success).
        let count: UnsafeMutablePointer<Int64> = try Memory.allocate(nl, "the latent counts")
        defer { Memory.free(count) }
        let sum: UnsafeMutablePointer<Double> = try Memory.allocate(nl, "the latent sums")
        defer { Memory.free(sum) }
        let mx: UnsafeMutablePointer<Float> = try Memory.allocate(nl, "the latent maxima")
        defer { Memory.free(mx) }
        let mn: UnsafeMutablePointer<Float> = try Memory.allocate(nl, "the latent minima")
        defer { Memory.free(mn) }
        // The histogram (the one large buffer) is filled in place when not merging: no copy per call.
        let direct = !merge
        let hist: UnsafeMutablePointer<Int64> = direct ? out.histogram : try Memory.allocate(hn, "the latent histograms (n_latents x 512)")
        defer { if !direct { Memory.free(hist) } }
        let tv: UnsafeMutablePointer<Float> = try Memory.allocate(tn, "the top values (n_latents x top_n)")
        defer { Memory.free(tv) }
        let tr: UnsafeMutablePointer<Int64> = try Memory.allocate(tn, "the top rows (n_latents x top_n)")
        defer { Memory.free(tr) }
        let fill: UnsafeMutablePointer<Int> = try Memory.allocate(nl, "the top fill counts")
        defer { Memory.free(fill) }
        var totalRows: Int64
        if merge {
            totalRows = out.nRows.pointee
            count.update(from: out.count, count: nl); sum.update(from: out.sum, count: nl)
            mx.update(from: out.max, count: nl); mn.update(from: out.minNonzero, count: nl)
            hist.update(from: out.histogram, count: hn)
            // Sorted best-first -> reversed is ascending goodness, a valid min-heap (root = worst).
            for j in 0..<nl {
                var f = 0
                while f < t && out.topRows[j * t + f] >= 0 { f += 1 }
                fill[j] = f
                for s in 0..<f { tv[j * t + s] = out.topValues[j * t + f - 1 - s]; tr[j * t + s] = out.topRows[j * t + f - 1 - s] }
            }
        } else {
            totalRows = 0
            count.initialize(repeating: 0, count: nl); sum.initialize(repeating: 0, count: nl)
            mx.initialize(repeating: 0, count: nl); mn.initialize(repeating: 0, count: nl)
            hist.initialize(repeating: 0, count: hn)
            fill.initialize(repeating: 0, count: nl)
        }
        let started = SAETrainer.now()
        var chunkIndex = 0
        let checked = (x as? MemoryRows) != nil ? x : FiniteCheckedRows(base: x)
        do { try forEachChunk(checked, decode: false) { r0, codes, _, _ in
            codes.latent.withUnsafeBufferPointer { lat in
                codes.value.withUnsafeBufferPointer { val in
                    for r in 0..<codes.rows {
                        let row = Int64(rowOffset + r0 + r)
                        for e in codes.rowStart[r]..<codes.rowStart[r + 1] {
                            let v = val[e]
                            if !(v > 0) { continue }
                            let j = Int(lat[e])
                            let c = count[j]
                            count[j] = c + 1
                            sum[j] += Double(v)
                            if v > mx[j] { mx[j] = v }
                            if c == 0 || v < mn[j] { mn[j] = v }
                            hist[j * nb + LatentStatistics.bin(v)] += 1
                            if t > 0 {
                                let hv = tv + j * t, hr = tr + j * t
                                let f = fill[j]
                                if f < t {
                                    hv[f] = v; hr[f] = row
                                    LatentStatistics.siftUp(hv, hr, f)
                                    fill[j] = f + 1
                                } else if LatentStatistics.worse(hv[0], hr[0], v, row) {
                                    hv[0] = v; hr[0] = row
                                    LatentStatistics.siftDown(hv, hr, t, 0)
                                }
                            }
                        }
                    }
                }
            }
            chunkIndex += 1
            totalRows += Int64(codes.rows)
            if let progress {
                let done = r0 + codes.rows
                let elapsed = SAETrainer.now() - started
                let report = ProgressReport(task: "sae_latent_statistics", step: chunkIndex,
                                            totalSteps: (n + SparseAutoencoder.chunkRows - 1) / SparseAutoencoder.chunkRows,
                                            items: done, loss: 0, itemsPerSecond: elapsed > 0 ? Double(done) / elapsed : 0)
                if !progress(report) { throw LaminaError.cancelled("sae_latent_statistics", step: chunkIndex) }
            }
        } } catch {
            if direct { out.histogram.initialize(repeating: 0, count: hn); out.nRows.pointee = 0 }
            throw error
        }
        // Success: sort each latent's top entries best-first and copy everything out.
        for j in 0..<nl {
            let hv = tv + j * t, hr = tr + j * t
            var size = fill[j]
            while size > 1 {   // heap sort: the worst goes last
                hv.swapAt(0, size - 1); hr.swapAt(0, size - 1)
                size -= 1
                LatentStatistics.siftDown(hv, hr, size, 0)
            }
            for s in fill[j]..<t { hv[s] = 0; hr[s] = -1 }
        }
        out.nRows.pointee = totalRows
        out.count.update(from: count, count: nl); out.sum.update(from: sum, count: nl)
        out.max.update(from: mx, count: nl); out.minNonzero.update(from: mn, count: nl)
        if !direct { out.histogram.update(from: hist, count: hn) }
        out.topValues.update(from: tv, count: tn); out.topRows.update(from: tr, count: tn)
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// Binning estimators of the information plane (Shwartz-Ziv & Tishby 2017, "Opening the Black Box of
/// Deep Neural Networks via Information"): a layer's activations T (n x d) are discretised into `bins`
/// equal-width bins per value over [lo, hi],
///     b(v) = min(bins - 1, max(0, floor(bins (v - lo) / (hi - lo))))     (every value in bin 0 if hi = lo),
/// a state is a distinct row of bin indices, and with the n samples equally weighted
///     I(X;T) = H(X) + H(T) - H(X,T),   I(T;Y) = H(T) + H(Y) - H(T,Y)   (bits, plug-in entropies),
/// X the input identity of each row (each row its own input when none is given: then I(X;T) = H(T)) and Y
/// the label. Distinct rows are counted by hashing the binned rows (64-bit FNV-1a, collisions resolved by
/// re-binning and comparing the rows), O(n d) time and O(n) memory per checkpoint, no sort.
package enum InformationPlane {
    package enum RangeRule: Sendable {
        /// One [lo, hi] for the whole sequence: the min and max over every checkpoint.
        case layer
        /// Each checkpoint's own min and max.
        case checkpoint
        /// The caller's [lo, hi].
        case fixed(Double, Double)
    }

    package static let maxBins = 65536

    /// [I(X;T), I(T;Y)] per checkpoint, row-major count x 2.
    package static func compute(_ checkpoints: [MatrixView], labels: EncodedLabels, inputs: EncodedLabels?,
                               bins: Int, range: RangeRule) throws -> [Double] {
        if bins < 2 || bins > maxBins { throw LaminaError.invalid("bins is \(bins); expected 2 <= bins <= \(maxBins)") }
        if checkpoints.isEmpty { throw LaminaError.invalid("there are no checkpoints; expected at least one") }
        let n = checkpoints[0].rows, d = checkpoints[0].cols
        for (c, t) in checkpoints.enumerated() where t.rows != n || t.cols != d {
            throw LaminaError.shape("checkpoint \(c) is \(t.rows) x \(t.cols); expected \(n) x \(d) (the same inputs and units at every checkpoint)")
        }
        if labels.count != n { throw LaminaError.shape("labels has \(labels.count) entries; expected \(n) (one per row)") }
        if let inputs, inputs.count != n { throw LaminaError.shape("inputs has \(inputs.count) entries; expected \(n) (one per row)") }
        if case .fixed(let lo, let hi) = range, !(lo.isFinite && hi.isFinite && lo < hi) {
            throw LaminaError.invalid("the bin range is [\(lo), \(hi)]; expected finite lo < hi")
        }
        let extremes = checkpoints.map { t -> (Double, Double) in
            let parts = Parallel.mapChunks(count: n * d, chunk: 1 << 18) { r -> (Float, Float) in
                let (lo, hi, _) = Reduce.minMaxSum(t.base + r.lowerBound, r.count)
                return (lo, hi)
            }
            return (Double(parts.map(\.0).min()!), Double(parts.map(\.1).max()!))
        }
        let hy = entropy(labels.counts)
        let hx = inputs.map { entropy($0.counts) } ?? log2(Double(n))
        var out = [Double](repeating: 0, count: 2 * checkpoints.count)
        out.withUnsafeMutableBufferPointer { o in
            let op = o.baseAddress!
            Parallel.forEachTask(checkpoints.count) { c in
                let (lo, hi): (Double, Double)
                switch range {
                case .layer: lo = extremes.map(\.0).min()!; hi = extremes.map(\.1).max()!
                case .checkpoint: (lo, hi) = extremes[c]
                case .fixed(let a, let b): (lo, hi) = (a, b)
                }
                let states = binnedStates(checkpoints[c], bins: bins, lo: lo, hi: hi)
                let ht = entropy(counts(states.ids, states.count))
                let hxt: Double
                if let inputs {
                    hxt = entropy(jointCounts(states.ids, inputs.codes, inputs.classCount))
                } else {
                    hxt = log2(Double(n))
                }
                let hty = entropy(jointCounts(states.ids, labels.codes, labels.classCount))
                op[2 * c] = max(0, hx + ht - hxt)
                op[2 * c + 1] = max(0, ht + hy - hty)
            }
        }
        return out
    }

    /// H in bits of the empirical distribution with these counts.
    static func entropy(_ counts: [Int]) -> Double {
        let total = Double(counts.reduce(0, +))
        var s = 0.0
        for c in counts where c > 0 { let x = Double(c); s += x * log2(x) }
        return log2(total) - s / total
    }

    static func counts(_ ids: [Int32], _ count: Int) -> [Int] {
        var c = [Int](repeating: 0, count: count)
        for id in ids { c[Int(id)] += 1 }
        return c
    }

    static func jointCounts(_ a: [Int32], _ b: [Int32], _ kb: Int) -> [Int] {
        var table = [Int: Int]()
        table.reserveCapacity(a.count)
        for i in 0..<a.count { table[Int(a[i]) * kb + Int(b[i]), default: 0] += 1 }
        return Array(table.values)
    }

    /// The state (distinct binned row) of every row, numbered in order of first appearance. The binned
    /// rows are never stored: each row's 64-bit hash is computed in parallel, rows are inserted into an
    /// open-addressing table in order, and a hash match is confirmed by re-binning both rows and comparing
    /// them, so memory is O(n + d) beyond the input.
    package static func binnedStates(_ t: MatrixView, bins: Int, lo: Double, hi: Double) -> (ids: [Int32], count: Int) {
        let n = t.rows, d = t.cols
        let scale = hi > lo ? Double(bins) / (hi - lo) : 0
        let top = Double(bins - 1)
        @inline(__always) func code(_ v: Float) -> UInt64 {
            UInt64(min(top, max(0, ((Double(v) - lo) * scale).rounded(.down))))
        }
        var hashes = [UInt64](repeating: 0, count: n)
        hashes.withUnsafeMutableBufferPointer { hp in
            let base = hp.baseAddress!
            Parallel.forEachTask((n + 1023) / 1024) { task in
                for r in (task * 1024)..<min(n, task * 1024 + 1024) {
                    let src = t.row(r)
                    var h: UInt64 = 0xcbf29ce484222325
                    for j in 0..<d { h = (h ^ code(src[j])) &* 0x100000001b3 }
                    base[r] = h ^ (h >> 29)
                }
            }
        }
        func sameRow(_ a: Int, _ b: Int) -> Bool {
            let ra = t.row(a), rb = t.row(b)
            for j in 0..<d where code(ra[j]) != code(rb[j]) { return false }
            return true
        }
        var capacity = 16
        while capacity < 2 * n { capacity <<= 1 }
        var slotRow = [Int32](repeating: -1, count: capacity)     // representative row of each slot
        var slotState = [Int32](repeating: -1, count: capacity)
        var ids = [Int32](repeating: 0, count: n)
        var next: Int32 = 0
        for r in 0..<n {
            let h = hashes[r]
            var s = Int(h & UInt64(capacity - 1))
            while true {
                let rep = slotRow[s]
                if rep < 0 {
                    slotRow[s] = Int32(r); slotState[s] = next; ids[r] = next; next += 1
                    break
                }
                if hashes[Int(rep)] == h && sameRow(Int(rep), r) { ids[r] = slotState[s]; break }
                s = (s + 1) & (capacity - 1)
            }
        }
        return (ids, Int(next))
    }
}

/// Evaluation of structural probes exactly as the reference's reporter.py computes it
/// (john-hewitt/structural-probes): UUAS from minimum spanning trees, Spearman correlations averaged
/// per length and then over lengths 5-50, root accuracy. Inputs are ragged: predicted and gold values
/// concatenated per item (distance: L x L, depth: L) with the items' token offsets.
package enum StructuralMetrics {
    /// Edges (i < j) of the reference's minimum spanning tree of one L x L matrix over the tokens not
    /// ignored: `prims_matrix_to_edges` sorts every ordered pair (i, j) of kept tokens by value
    /// (Python's stable sort, so ties keep row-major order) and adds a pair when it joins two
    /// components. The same tree results from the unordered pairs keyed by the smaller of
    /// (m_ij, i*L+j) and (m_ji, j*L+i), which is what this computes.
    package static func spanningTreeEdges(_ matrix: UnsafePointer<Float>, length l: Int,
                                         ignore: UnsafePointer<UInt8>?) -> [(Int, Int)] {
        var kept: [Int] = []
        kept.reserveCapacity(l)
        for i in 0..<l where ignore == nil || ignore![i] == 0 { kept.append(i) }
        let n = kept.count
        if n < 2 { return [] }
        var pairs: [(value: Float, index: Int, i: Int, j: Int)] = []
        pairs.reserveCapacity(n * (n - 1) / 2)
        for a in 0..<n {
            let i = kept[a]
            for b in (a + 1)..<n {
                let j = kept[b]
                let vij = matrix[i * l + j], vji = matrix[j * l + i]
                // (vij, i*L+j) < (vji, j*L+i) whenever vij <= vji, since i*L+j < j*L+i
                if vji < vij { pairs.append((vji, j * l + i, i, j)) } else { pairs.append((vij, i * l + j, i, j)) }
            }
        }
        pairs.sort { $0.value < $1.value || ($0.value == $1.value && $0.index < $1.index) }
        var parent = Array(0..<l)
        func find(_ x: Int) -> Int {
            var x = x
            while parent[x] != x { parent[x] = parent[parent[x]]; x = parent[x] }
            return x
        }
        var edges: [(Int, Int)] = []
        edges.reserveCapacity(n - 1)
        for pair in pairs {
            let a = find(pair.i), b = find(pair.j)
            if a != b {
                parent[a] = b
                edges.append((pair.i, pair.j))
                if edges.count == n - 1 { break }
            }
        }
        return edges
    }

    /// UUAS: (number of gold MST edges also in the predicted MST, summed over items) / (number of gold
    /// MST edges, summed over items) -- reporter.py's report_uuas_and_tikz.
    package static func uuas(predicted: UnsafeBufferPointer<Float>, gold: UnsafeBufferPointer<Float>,
                            layout: RaggedLayout, ignore: UnsafePointer<UInt8>?) throws -> (uuas: Double, correct: Int, total: Int) {
        try checkValues(predicted, gold, kind: .distance, layout: layout)
        let n = layout.count
        let chunk = 64
        let counts = Parallel.mapChunks(count: n, chunk: chunk) { range -> (Int, Int) in
            var correct = 0, total = 0
            for k in range {
                let l = layout.length(k), base = layout.pairOffsets[k]
                let ign = ignore.map { $0 + layout.offsets[k] }
                let goldEdges = spanningTreeEdges(gold.baseAddress! + base, length: l, ignore: ign)
                let predEdges = spanningTreeEdges(predicted.baseAddress! + base, length: l, ignore: ign)
                var set = Set<Int>()
                for (i, j) in predEdges { set.insert(min(i, j) * l + max(i, j)) }
                for (i, j) in goldEdges where set.contains(min(i, j) * l + max(i, j)) { correct += 1 }
                total += goldEdges.count
            }
            return (correct, total)
        }
        var correct = 0, total = 0
        for (c, t) in counts { correct += c; total += t }
        if total == 0 {
            throw LaminaError.invalid("no gold edges: every item has fewer than 2 tokens that are not ignored; UUAS is undefined")
        }
        return (Double(correct) / Double(total), correct, total)
    }

    /// Average ranks (1-based, ties get the mean of their positions), as scipy.stats.rankdata.
    static func rank(_ x: UnsafePointer<Float>, stride: Int, count n: Int, into out: UnsafeMutablePointer<Double>,
                     order: inout [Int]) {
        order.removeAll(keepingCapacity: true)
        for i in 0..<n { order.append(i) }
        order.sort { x[$0 * stride] < x[$1 * stride] || (x[$0 * stride] == x[$1 * stride] && $0 < $1) }
        var i = 0
        while i < n {
            var j = i
            let v = x[order[i] * stride]
            while j + 1 < n && x[order[j + 1] * stride] == v { j += 1 }
            let r = Double(i + j) / 2 + 1
            for t in i...j { out[order[t]] = r }
            i = j + 1
        }
    }

    /// Spearman's rho of two vectors (scipy.stats.spearmanr): Pearson's r of the average ranks; NaN
    /// when either vector is constant (including n = 1).
    static func spearman(_ a: UnsafePointer<Float>, _ aStride: Int, _ b: UnsafePointer<Float>, _ bStride: Int, _ n: Int,
                         ra: UnsafeMutablePointer<Double>, rb: UnsafeMutablePointer<Double>, order: inout [Int]) -> Double {
        rank(a, stride: aStride, count: n, into: ra, order: &order)
        rank(b, stride: bStride, count: n, into: rb, order: &order)
        let mean = Double(n + 1) / 2
        var sab = 0.0, saa = 0.0, sbb = 0.0
        for i in 0..<n {
            let x = ra[i] - mean, y = rb[i] - mean
            sab += x * y; saa += x * x; sbb += y * y
        }
        if saa == 0 || sbb == 0 { return .nan }
        let r = sab / (saa.squareRoot() * sbb.squareRoot())
        return max(-1, min(1, r))
    }

    /// Per-item Spearman: distance -- the mean over the item's rows of spearmanr(pred[i, :], gold[i, :])
    /// (all L entries of the row, ignoring nothing, as the reference); depth -- spearmanr(pred, gold)
    /// over the item's tokens. Then (reporter.py's report_spearmanr) the mean within each length (over
    /// all rows of all items of that length) and the mean of those over the lengths in
    /// minLength...maxLength that occur (the "5-50 mean"). NaN when a correlation is undefined (a
    /// constant row) at a length in the range, or when no item has a length in the range.
    package static func spearman(kind: StructuralProbeKind, predicted: UnsafeBufferPointer<Float>,
                                gold: UnsafeBufferPointer<Float>, layout: RaggedLayout,
                                minLength: Int = 5, maxLength: Int = 50,
                                itemMeans: UnsafeMutablePointer<Double>? = nil) throws -> Double {
        try checkValues(predicted, gold, kind: kind, layout: layout)
        if minLength < 1 || maxLength < minLength {
            throw LaminaError.invalid("min_length is \(minLength) and max_length is \(maxLength); expected 1 <= min_length <= max_length")
        }
        let n = layout.count
        // per item: sum of row correlations (distance) or the correlation (depth)
        let sums = Parallel.mapChunks(count: n, chunk: 64) { range -> [Double] in
            var maxLen = 0
            for k in range { maxLen = max(maxLen, layout.length(k)) }
            let ra = UnsafeMutablePointer<Double>.allocate(capacity: maxLen)
            let rb = UnsafeMutablePointer<Double>.allocate(capacity: maxLen)
            defer { ra.deallocate(); rb.deallocate() }
            var order: [Int] = []
            order.reserveCapacity(maxLen)
            var out: [Double] = []
            for k in range {
                let l = layout.length(k)
                if kind == .distance {
                    let base = layout.pairOffsets[k]
                    var s = 0.0
                    for i in 0..<l {
                        s += spearman(predicted.baseAddress! + base + i * l, 1, gold.baseAddress! + base + i * l, 1, l,
                                      ra: ra, rb: rb, order: &order)
                    }
                    out.append(s)
                } else {
                    let base = layout.offsets[k]
                    out.append(spearman(predicted.baseAddress! + base, 1, gold.baseAddress! + base, 1, l,
                                        ra: ra, rb: rb, order: &order))
                }
            }
            return out
        }
        var lengthSum: [Int: Double] = [:], lengthCount: [Int: Int] = [:]
        var k = 0
        for chunk in sums {
            for s in chunk {
                let l = layout.length(k)
                let rows = kind == .distance ? l : 1
                itemMeans?[k] = s / Double(rows)
                if l >= minLength && l <= maxLength {
                    lengthSum[l, default: 0] += s
                    lengthCount[l, default: 0] += rows
                }
                k += 1
            }
        }
        if lengthSum.isEmpty { return .nan }
        var total = 0.0
        for l in lengthSum.keys.sorted() { total += lengthSum[l]! / Double(lengthCount[l]!) }
        return total / Double(lengthSum.count)
    }

    /// Root accuracy (reporter.py's report_root_acc): the fraction of items whose gold root (the first
    /// token with gold depth 0) is the token of least predicted depth among the tokens not ignored
    /// (the first on ties; all tokens when all are ignored, as get_nopunct_argmin).
    package static func rootAccuracy(predicted: UnsafeBufferPointer<Float>, gold: UnsafeBufferPointer<Float>,
                                    layout: RaggedLayout, ignore: UnsafePointer<UInt8>?) throws -> (accuracy: Double, correct: Int, total: Int) {
        try checkValues(predicted, gold, kind: .depth, layout: layout)
        var correct = 0
        for k in 0..<layout.count {
            let lo = layout.offsets[k], hi = layout.offsets[k + 1]
            var root = -1
            for t in lo..<hi where gold[t] == 0 { root = t - lo; break }
            if root < 0 {
                throw LaminaError.invalid("gold depths of item \(k) have no 0 (no root token); expected exactly the root at depth 0")
            }
            var best = -1
            for t in lo..<hi where ignore == nil || ignore![t] == 0 {
                if best < 0 || predicted[t] < predicted[best] { best = t }
            }
            if best < 0 {
                best = lo
                for t in lo..<hi where predicted[t] < predicted[best] { best = t }
            }
            if best - lo == root { correct += 1 }
        }
        return (Double(correct) / Double(layout.count), correct, layout.count)
    }

    static func checkValues(_ predicted: UnsafeBufferPointer<Float>, _ gold: UnsafeBufferPointer<Float>,
                            kind: StructuralProbeKind, layout: RaggedLayout) throws {
        let expected = kind.valueCount(layout)
        let what = kind == .distance ? "the sum of length^2 over the items (an L x L matrix per item)" : "n_tokens = offsets[n_items]"
        for (buffer, name) in [(predicted, "predicted"), (gold, "gold")] {
            if buffer.count != expected {
                throw LaminaError.shape("\(name) has \(buffer.count) values; expected \(expected), \(what)")
            }
            for i in 0..<buffer.count where !buffer[i].isFinite {
                throw LaminaError(.nonFinite, "\(name) contains \(buffer[i]) at index \(i); expected finite values")
            }
        }
    }
}

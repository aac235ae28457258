#if canImport(Glibc)
import Glibc
#endif

/// The contingency table of two labelings: n_ij = #{samples with true class i and predicted class j},
/// rows and columns in ascending order of the label values (scikit-learn's order). Stored sparse
/// (non-zero cells, row-major order) with exact integer margins.
package struct Contingency: Sendable {
    package let rowCount: Int
    package let colCount: Int
    package let rowSums: [Int]
    package let colSums: [Int]
    package let cellRows: [Int32]
    package let cellCols: [Int32]
    package let cellCounts: [Int]
    package let sampleCount: Int

    package init(true labelsTrue: EncodedLabels, pred labelsPred: EncodedLabels) throws {
        guard labelsTrue.count == labelsPred.count else {
            throw LaminaError.shape("labels_true and labels_pred must have same size, got \(labelsTrue.count) and \(labelsPred.count)")
        }
        let r = labelsTrue.classCount, c = labelsPred.classCount, n = labelsTrue.count
        var rows: [Int32] = [], cols: [Int32] = [], counts: [Int] = []
        if r * c <= max(1 << 22, 4 * n) {
            var table = [Int](repeating: 0, count: r * c)
            labelsTrue.codes.withUnsafeBufferPointer { a in
                labelsPred.codes.withUnsafeBufferPointer { b in
                    table.withUnsafeMutableBufferPointer { t in
                        for i in 0..<n { t[Int(a[i]) * c + Int(b[i])] += 1 }
                    }
                }
            }
            for cell in 0..<(r * c) where table[cell] > 0 {
                rows.append(Int32(cell / c)); cols.append(Int32(cell % c)); counts.append(table[cell])
            }
        } else {
            var keys = (0..<n).map { Int64(labelsTrue.codes[$0]) * Int64(c) + Int64(labelsPred.codes[$0]) }
            keys.sort()
            var i = 0
            while i < n {
                var j = i
                while j < n && keys[j] == keys[i] { j += 1 }
                rows.append(Int32(keys[i] / Int64(c))); cols.append(Int32(keys[i] % Int64(c))); counts.append(j - i)
                i = j
            }
        }
        rowCount = r
        colCount = c
        rowSums = labelsTrue.counts
        colSums = labelsPred.counts
        cellRows = rows
        cellCols = cols
        cellCounts = counts
        sampleCount = n
    }

    /// Memberwise (ContingencyCells.swift builds a caller-given table with it).
    init(rowCount: Int, colCount: Int, rowSums: [Int], colSums: [Int], cellRows: [Int32], cellCols: [Int32],
         cellCounts: [Int], sampleCount: Int) {
        self.rowCount = rowCount
        self.colCount = colCount
        self.rowSums = rowSums
        self.colSums = colSums
        self.cellRows = cellRows
        self.cellCols = cellCols
        self.cellCounts = cellCounts
        self.sampleCount = sampleCount
    }

    /// Dense table (rowCount x colCount) into `out`.
    package func fillDense(_ out: UnsafeMutablePointer<Int64>) {
        out.initialize(repeating: 0, count: rowCount * colCount)
        for t in 0..<cellCounts.count { out[Int(cellRows[t]) * colCount + Int(cellCols[t])] = Int64(cellCounts[t]) }
    }

    /// The 2 x 2 pair confusion matrix [[tn, fp], [fn, tp]] over ordered pairs of distinct samples,
    /// exact (sklearn.metrics.cluster.pair_confusion_matrix).
    package func pairConfusion() -> (tn: Int128, fp: Int128, fn: Int128, tp: Int128) {
        let n = Int128(sampleCount)
        var sumSquares: Int128 = 0
        for v in cellCounts { sumSquares += Int128(v) * Int128(v) }
        // sum_ij n_ij * b_j and sum_ij n_ij * a_i
        var byCol: Int128 = 0, byRow: Int128 = 0
        for t in 0..<cellCounts.count {
            byCol += Int128(cellCounts[t]) * Int128(colSums[Int(cellCols[t])])
            byRow += Int128(cellCounts[t]) * Int128(rowSums[Int(cellRows[t])])
        }
        let tp = sumSquares - n
        let fp = byCol - sumSquares
        let fn = byRow - sumSquares
        let tn = n * n - fp - fn - sumSquares
        return (tn, fp, fn, tp)
    }
}

/// External (label-comparison) indices with scikit-learn's definitions, edge cases and arithmetic.
package enum ExternalIndices {
    package enum AverageMethod: Int32, Sendable, CaseIterable {
        case min = 0, geometric = 1, arithmetic = 2, max = 3
        package var name: String {
            switch self {
            case .min: "min"
            case .geometric: "geometric"
            case .arithmetic: "arithmetic"
            case .max: "max"
            }
        }
        func average(_ u: Double, _ v: Double) -> Double {
            switch self {
            case .min: Swift.min(u, v)
            case .geometric: (u * v).squareRoot()
            case .arithmetic: (u + v) / 2
            case .max: Swift.max(u, v)
            }
        }
    }

    /// Rand index = (tp + tn) / (tp + tn + fp + fn) over ordered pairs; 1 for fewer than 2 samples.
    package static func rand(_ c: Contingency) -> Double {
        let m = c.pairConfusion()
        let agree = m.tp + m.tn, total = m.tp + m.tn + m.fp + m.fn
        if agree == total || total == 0 { return 1 }
        return Double(agree) / Double(total)
    }

    /// ARI (Hubert & Arabie 1985) = 2 (tp tn - fn fp) / ((tp + fn)(fn + tn) + (tp + fp)(fp + tn)); 1 when
    /// fn = fp = 0. Integer-exact up to the final division.
    package static func adjustedRand(_ c: Contingency) -> Double {
        let m = c.pairConfusion()
        if m.fn == 0 && m.fp == 0 { return 1 }
        let num = 2 * (m.tp * m.tn - m.fn * m.fp)
        let den = (m.tp + m.fn) * (m.fn + m.tn) + (m.tp + m.fp) * (m.fp + m.tn)
        return Double(num) / Double(den)
    }

    /// Shannon entropy (natural log) of a labeling from its class counts; 0 for one class, 1 for none.
    package static func entropy(_ counts: [Int]) -> Double {
        if counts.isEmpty { return 1 }
        if counts.count == 1 { return 0 }
        let total = Double(counts.reduce(0, +)), logTotal = log(total)
        var h = 0.0
        for v in counts { let p = Double(v); h += (p / total) * (log(p) - logTotal) }
        return -h
    }

    /// MI = sum_ij (n_ij / N) log(N n_ij / (a_i b_j)) in nats, each term below float64 eps zeroed and the
    /// sum clipped at 0 (sklearn.metrics.mutual_info_score).
    package static func mutualInformation(_ c: Contingency) -> Double {
        if c.rowCount == 1 || c.colCount == 1 { return 0 }
        let total = Double(c.sampleCount), logTotal = log(total)
        let logRowTotal = log(Double(c.rowSums.reduce(0, +))), logColTotal = log(Double(c.colSums.reduce(0, +)))
        var mi = 0.0
        for t in 0..<c.cellCounts.count {
            let v = Double(c.cellCounts[t])
            let p = v / total
            let outer = Double(c.rowSums[Int(c.cellRows[t])] * c.colSums[Int(c.cellCols[t])])
            let logOuter = -log(outer) + logRowTotal + logColTotal
            let term = p * (log(v) - logTotal) + p * logOuter
            if abs(term) >= Double.ulpOfOne { mi += term }
        }
        return max(mi, 0)
    }

    /// NMI = MI / mean(H(true), H(pred)) with the chosen generalized mean; 1 when both labelings have a
    /// single class, 0 when MI is 0.
    package static func normalizedMutualInformation(_ c: Contingency, average: AverageMethod) -> Double {
        if c.rowCount == c.colCount && (c.rowCount == 1 || c.rowCount == 0) { return 1 }
        let mi = mutualInformation(c)
        if mi == 0 { return 0 }
        return mi / average.average(entropy(c.rowSums), entropy(c.colSums))
    }

    /// Expected MI under the permutation (hypergeometric) model (Vinh, Epps & Bailey 2010), the sum
    /// over n_ij from max(1, a_i + b_j - N) to min(a_i, b_j), in log-gamma form as scikit-learn does.
    package static func expectedMutualInformation(_ c: Contingency) -> Double {
        let a = c.rowSums, b = c.colSums, n = c.sampleCount
        if a.count == 1 || b.count == 1 { return 0 }
        let maxCount = max(a.max()!, b.max()!)
        let N = Double(n)
        var logNnij = [Double](repeating: 0, count: maxCount + 1)
        var glnNnij = [Double](repeating: 0, count: maxCount + 1)
        let glnNplus1 = logGamma(N + 1)
        for v in 0...maxCount {
            let nij = Double(max(v, 1))   // index 0 is never used
            logNnij[v] = log(N) + log(nij)
            glnNnij[v] = logGamma(nij + 1) + glnNplus1
        }
        let glnA = a.map { logGamma(Double($0) + 1) }, glnB = b.map { logGamma(Double($0) + 1) }
        let glnNA = a.map { logGamma(N - Double($0) + 1) }, glnNB = b.map { logGamma(N - Double($0) + 1) }
        let logA = a.map { log(Double($0)) }, logB = b.map { log(Double($0)) }
        // Rows are independent: fixed per-row partial sums, added in row order (deterministic).
        let partials = Parallel.mapChunks(count: a.count, chunk: 1) { range -> Double in
            var emi = 0.0
            for i in range {
                for j in 0..<b.count {
                    let start = max(1, a[i] - n + b[j]), end = min(a[i], b[j])
                    if start > end { continue }
                    let fixed = glnA[i] + glnB[j] + glnNA[i] + glnNB[j]
                    for nij in start...end {
                        let term2 = logNnij[nij] - logA[i] - logB[j]
                        let gln = fixed - glnNnij[nij] - logGamma(Double(a[i] - nij + 1))
                            - logGamma(Double(b[j] - nij + 1)) - logGamma(Double(n - a[i] - b[j] + nij + 1))
                        emi += (Double(nij) / N) * term2 * exp(gln)
                    }
                }
            }
            return emi
        }
        return partials.reduce(0, +)
    }

    /// AMI = (MI - E[MI]) / (mean(H(true), H(pred)) - E[MI]), numerator and denominator each kept at
    /// least float64 eps in magnitude with their sign; 1 when both labelings have a single class, 0 when
    /// exactly one does.
    package static func adjustedMutualInformation(_ c: Contingency, average: AverageMethod) -> Double {
        if c.rowCount == c.colCount && (c.rowCount == 1 || c.rowCount == 0) { return 1 }
        if c.rowCount == 1 || c.colCount == 1 { return 0 }   // one side unsplit: nothing shared
        let mi = mutualInformation(c)
        let emi = expectedMutualInformation(c)
        let normalizer = average.average(entropy(c.rowSums), entropy(c.colSums))
        var denominator = normalizer - emi
        denominator = denominator < 0 ? min(denominator, -Double.ulpOfOne) : max(denominator, Double.ulpOfOne)
        // The numerator likewise (scikit-learn >= 1.6), so that a perfect match whose MI equals E[MI]
        // up to rounding (n = 2 or 3 singletons) gives eps / eps = 1, not 0.
        var numerator = mi - emi
        numerator = numerator < 0 ? min(numerator, -Double.ulpOfOne) : max(numerator, Double.ulpOfOne)
        return numerator / denominator
    }

    /// Homogeneity h = MI / H(true), completeness c = MI / H(pred) (1 where the entropy is 0), and
    /// V-measure = (1 + beta) h c / (beta h + c) (Rosenberg & Hirschberg 2007); beta = 0 gives h.
    package static func homogeneityCompletenessV(_ c: Contingency, beta: Double) -> (Double, Double, Double) {
        if c.sampleCount == 0 { return (1, 1, 1) }
        let hTrue = entropy(c.rowSums), hPred = entropy(c.colSums)
        let mi = mutualInformation(c)
        let homogeneity = hTrue != 0 ? mi / hTrue : 1
        let completeness = hPred != 0 ? mi / hPred : 1
        let v: Double
        if homogeneity + completeness == 0 {
            v = 0
        } else if beta == 0 {
            v = homogeneity   // the formula's value for every completeness > 0, and its limit at 0
        } else {
            v = (1 + beta) * homogeneity * completeness / (beta * homogeneity + completeness)
        }
        return (homogeneity, completeness, v)
    }

    /// FMI = TP / sqrt((TP + FP)(TP + FN)) over unordered pairs: with tk = sum n_ij^2 - N,
    /// pk = sum b_j^2 - N, qk = sum a_i^2 - N, FMI = sqrt(tk / pk) sqrt(tk / qk); 0 when tk = 0.
    package static func fowlkesMallows(_ c: Contingency) -> Double {
        let n = Int128(c.sampleCount)
        var tk: Int128 = -n, pk: Int128 = -n, qk: Int128 = -n
        for v in c.cellCounts { tk += Int128(v) * Int128(v) }
        for v in c.colSums { pk += Int128(v) * Int128(v) }
        for v in c.rowSums { qk += Int128(v) * Int128(v) }
        if tk == 0 { return 0 }
        return (Double(tk) / Double(pk)).squareRoot() * (Double(tk) / Double(qk)).squareRoot()
    }
}

/// ln Gamma(x) through the re-entrant lgamma_r (the plain lgamma writes the global signgam, a data
/// race under the parallel EMI loop).
@inline(__always)
private func logGamma(_ x: Double) -> Double {
    let (value, _) = lgamma(x)
    return value
}

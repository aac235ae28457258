#if canImport(Glibc)
import Glibc
#endif

// SAETrainer: b_dec and the input scale from a data sample.
extension SAETrainer {
    // MARK: - Data initialisation

    /// b_dec from a sample (mean or Weiszfeld geometric median) and the input scale
    /// s = sqrt(d) / mean ||x|| when normalize_input (the sample is scaled before b_dec is computed).
    package func initialiseFromData(sample: UnsafePointer<Float>, rows: Int) {
        let d = model.dIn
        if config.normalizeInput {
            var total = 0.0
            for r in 0..<rows { total += Vec.sumSquares(sample + r * d, d).squareRoot() }
            let meanNorm = total / Double(max(rows, 1))
            model.inputScale = meanNorm > 0 ? Float(Double(d).squareRoot() / meanNorm) : 1
        }
        let s = Double(model.inputScale)
        var center = [Double](repeating: 0, count: d)
        center.withUnsafeMutableBufferPointer { c in
            for r in 0..<rows { Reduce.accumulate(sample + r * d, into: c.baseAddress!, d) }
        }
        for i in 0..<d { center[i] = center[i] / Double(max(rows, 1)) * s }
        if config.bDecInit == .geometricMedian {
            center = SAETrainer.geometricMedian(sample, rows: rows, d: d, scale: s, start: center) { _ in }
        }
        if config.bDecInit == .zero { for i in 0..<d { center[i] = 0 } }
        for i in 0..<d { model.bDec[i] = Float(center[i]) }
        dataInitialised = true
    }

    /// Weiszfeld's algorithm: y <- sum_i w_i x_i / sum_i w_i, w_i = 1 / max(||x_i - y||, 1e-8), from the
    /// mean, until the objective sum_i ||x_i - y|| improves by less than 1e-9 relative (at most 100
    /// iterations) -- the form of SAELens' compute_geometric_median. `reduce` (distributed training;
    /// a no-op for one process) sums each iteration's [sum_i w_i x_i (d) | sum_i w_i | objective] across the ranks in place, so
    /// that every rank iterates on the union of the ranks' rows.
    static func geometricMedian(_ x: UnsafePointer<Float>, rows n: Int, d: Int, scale s: Double, start: [Double],
                                reduce: (inout [Double]) throws -> Void) rethrows -> [Double] {
        var y = start
        var previous = Double.infinity
        for _ in 0..<100 {
            let chunk = 1024
            let parts = y.withUnsafeBufferPointer { yb in
                Parallel.mapChunks(count: n, chunk: chunk) { range -> ([Double], Double, Double) in
                    var num = [Double](repeating: 0, count: d)
                    var den = 0.0, obj = 0.0
                    for r in range {
                        let row = x + r * d
                        var dist2 = 0.0
                        for i in 0..<d { let t = Double(row[i]) * s - yb[i]; dist2 += t * t }
                        let dist = dist2.squareRoot()
                        obj += dist
                        let w = 1 / max(dist, 1e-8)
                        den += w
                        for i in 0..<d { num[i] += w * Double(row[i]) * s }
                    }
                    return (num, den, obj)
                }
            }
            var num = [Double](repeating: 0, count: d + 2)
            for p in parts {
                for i in 0..<d { num[i] += p.0[i] }
                num[d] += p.1; num[d + 1] += p.2
            }
            try reduce(&num)
            let den = num[d], obj = num[d + 1]
            for i in 0..<d { y[i] = num[i] / den }
            if previous.isFinite && abs(previous - obj) <= 1e-9 * previous { break }
            previous = obj
        }
        return y
    }
}

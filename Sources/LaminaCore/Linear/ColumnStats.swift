/// Column statistics of a row-major float32 or float64 matrix in float64 (sums, means, ranges, standard
/// deviations), deterministic: fixed chunks of rows reduced in parallel, partials added in chunk order.
/// Used by the pairwise tiles, k-means, the cluster indices, the probes' directions and the SAE.
package enum ColumnStats {
    /// Column sums in float64 of a row-major rows x cols matrix: partial sums over fixed chunks of
    /// rows (in parallel), added in chunk order, so the bits do not depend on the thread count.
    package static func sums<T: LaminaFloat>(_ x: UnsafePointer<T>, rows: Int, cols d: Int, chunk: Int) -> [Double] {
        let partials = Parallel.mapChunks(count: rows, chunk: chunk) { range -> [Double] in
            var s = [Double](repeating: 0, count: d)
            s.withUnsafeMutableBufferPointer { acc in
                for i in range { T.accumulate(x + i * d, into: acc.baseAddress!, d) }
            }
            return s
        }
        var total = [Double](repeating: 0, count: d)
        for p in partials { for j in 0..<d { total[j] += p[j] } }
        return total
    }

    /// Column means in float64 (fixed chunking, so deterministic).
    package static func mean<T: LaminaFloat>(_ x: MatrixViewOf<T>) -> [Double] {
        sums(x.base, rows: x.rows, cols: x.cols, chunk: 2048).map { $0 / Double(x.rows) }
    }

    /// Column means (float64) and per-column minimum and maximum, in one pass.
    /// (Data are finite: validated at the boundary.)
    package static func meanAndRange<T: LaminaFloat>(_ x: MatrixViewOf<T>) -> (mean: [Double], low: [T], high: [T]) {
        let d = x.cols
        let partials = Parallel.mapChunks(count: x.rows, chunk: 2048) { rows -> ([Double], [T], [T]) in
            var sums = [Double](repeating: 0, count: d)
            var low = Array(UnsafeBufferPointer(start: x.row(rows.lowerBound), count: d)), high = low
            sums.withUnsafeMutableBufferPointer { acc in
            low.withUnsafeMutableBufferPointer { lo in
                high.withUnsafeMutableBufferPointer { hi in
                    for i in rows {
                        let row = x.row(i)
                        T.accumulate(row, into: acc.baseAddress!, d)
                        T.widenRange(row, low: lo.baseAddress!, high: hi.baseAddress!, d)
                    }
                }
            }
            }
            return (sums, low, high)
        }
        var sums = partials[0].0, low = partials[0].1, high = partials[0].2
        for (s, l, h) in partials.dropFirst() {
            for j in 0..<d { sums[j] += s[j]; low[j] = min(low[j], l[j]); high[j] = max(high[j], h[j]) }
        }
        return (sums.map { $0 / Double(x.rows) }, low, high)
    }

    /// Population standard deviation per column (ddof = 0), two-pass in float64.
    package static func std<T: LaminaFloat>(_ x: MatrixViewOf<T>, mean: [Double]) -> [Double] {
        let d = x.cols
        let partials = Parallel.mapChunks(count: x.rows, chunk: 2048) { range -> [Double] in
            var s = [Double](repeating: 0, count: d)
            s.withUnsafeMutableBufferPointer { acc in
                for i in range {
                    let row = x.row(i)
                    for j in 0..<d { let t = Double(row[j]) - mean[j]; acc[j] += t * t }
                }
            }
            return s
        }
        var total = [Double](repeating: 0, count: d)
        for p in partials { for j in 0..<d { total[j] += p[j] } }
        return total.map { ($0 / Double(x.rows)).squareRoot() }
    }
}

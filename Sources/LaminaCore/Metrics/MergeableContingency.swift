// Mergeable (partial / merge / finalize) contingency tables for ARI, NMI and AMI (header section 16).
// A shard's table is a list of cells keyed by label VALUES, (label_true, label_pred, count), sorted
// ascending by (label_true, label_pred) with one cell per pair present. Cells of shards whose label sets
// differ merge by concatenation and summing equal pairs (integer adds: exact and order-free). The finalize
// step rebuilds the one-machine table (rows and columns = the label values present, ascending) and calls
// the one-machine ExternalIndices functions, so the scores equal the one-machine scores bit for bit.
package enum MergeableContingency {
    /// Cells as three parallel arrays (the header's plain-array layout).
    package struct Cells: Sendable {
        package var labelTrue: [Int32] = []
        package var labelPred: [Int32] = []
        package var counts: [Int64] = []
        package var count: Int { counts.count }
    }

    /// The cells of one shard: the one-machine table of its labels with the codes turned back into values.
    package static func partial(true a: EncodedLabels, pred b: EncodedLabels) throws -> Cells {
        let table = try Contingency(true: a, pred: b)
        var cells = Cells()
        cells.labelTrue.reserveCapacity(table.cellCounts.count)
        cells.labelPred.reserveCapacity(table.cellCounts.count)
        cells.counts.reserveCapacity(table.cellCounts.count)
        for t in 0..<table.cellCounts.count {   // row-major over ascending codes = ascending values
            cells.labelTrue.append(a.values[Int(table.cellRows[t])])
            cells.labelPred.append(b.values[Int(table.cellCols[t])])
            cells.counts.append(Int64(table.cellCounts[t]))
        }
        return cells
    }

    /// Order-preserving key of a value pair: each int32 with its sign bit flipped, true value high.
    @inline(__always)
    private static func key(_ t: Int32, _ p: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: t) ^ 0x8000_0000) << 32 | UInt64(UInt32(bitPattern: p) ^ 0x8000_0000)
    }

    /// Cells of any number of shards (concatenated, any order, duplicates allowed) summed per pair,
    /// sorted ascending, zero counts dropped. Throws on a negative count or an int64 overflow.
    package static func merge(true t: UnsafeBufferPointer<Int32>, pred p: UnsafeBufferPointer<Int32>,
                              counts c: UnsafeBufferPointer<Int64>) throws -> Cells {
        var keyed: [(key: UInt64, count: Int64)] = []
        keyed.reserveCapacity(c.count)
        for i in 0..<c.count {
            if c[i] < 0 { throw LaminaError.invalid("cell_count[\(i)] is \(c[i]); expected counts >= 0") }
            if c[i] > 0 { keyed.append((key(t[i], p[i]), c[i])) }
        }
        keyed.sort { $0.key < $1.key }
        var cells = Cells()
        var i = 0
        while i < keyed.count {
            var j = i, sum: Int64 = 0
            while j < keyed.count && keyed[j].key == keyed[i].key {
                let (s, overflow) = sum.addingReportingOverflow(keyed[j].count)
                if overflow { throw LaminaError.invalid("the counts of one cell sum past INT64_MAX; expected smaller counts") }
                sum = s
                j += 1
            }
            cells.labelTrue.append(Int32(bitPattern: UInt32(truncatingIfNeeded: keyed[i].key >> 32) ^ 0x8000_0000))
            cells.labelPred.append(Int32(bitPattern: UInt32(truncatingIfNeeded: keyed[i].key) ^ 0x8000_0000))
            cells.counts.append(sum)
            i = j
        }
        return cells
    }

    /// The one-machine table of the merged cells: rows (columns) are the true (predicted) label values with
    /// a positive count, in ascending order, as Contingency(true:pred:) numbers them for the union of the
    /// shards' labels. Built by the caller-given-table constructor (ContingencyCells.swift), whose checks
    /// (total <= Contingency.maxGivenTotal) apply.
    package static func table(true t: UnsafeBufferPointer<Int32>, pred p: UnsafeBufferPointer<Int32>,
                              counts c: UnsafeBufferPointer<Int64>) throws -> Contingency {
        let cells = try merge(true: t, pred: p, counts: c)
        if cells.count == 0 {
            return Contingency(rowCount: 0, colCount: 0, rowSums: [], colSums: [], cellRows: [], cellCols: [],
                               cellCounts: [], sampleCount: 0)
        }
        var trueValues: [Int32] = [], rows: [Int64] = []
        rows.reserveCapacity(cells.count)
        for v in cells.labelTrue {   // sorted by the true value first
            if trueValues.last != v { trueValues.append(v) }
            rows.append(Int64(trueValues.count - 1))
        }
        let predValues = Array(Set(cells.labelPred)).sorted()
        let cols = cells.labelPred.map { v -> Int64 in
            var lo = 0, hi = predValues.count
            while lo < hi { let mid = (lo + hi) / 2; if predValues[mid] < v { lo = mid + 1 } else { hi = mid } }
            return Int64(lo)
        }
        return try rows.withUnsafeBufferPointer { r in
            try cols.withUnsafeBufferPointer { k in
                try cells.counts.withUnsafeBufferPointer { n in
                    try Contingency(rows: trueValues.count, cols: predValues.count, cellRows: r, cellCols: k, counts: n)
                }
            }
        }
    }
}

/// A contingency table given by the caller (scikit-learn's mutual_info_score(contingency=...)):
/// its cells as (row, column, count) triplets, dense tables as their non-zero cells, sparse ones as
/// their stored cells. Duplicate cells are summed (a COO matrix's rule); zero counts are dropped.
extension Contingency {
    /// Largest total accepted: a_i * b_j (row sum times column sum) must stay an exact Int.
    package static let maxGivenTotal = 3_000_000_000

    package init(rows rowCount: Int, cols colCount: Int, cellRows rows: UnsafeBufferPointer<Int64>,
                 cellCols cols: UnsafeBufferPointer<Int64>, counts: UnsafeBufferPointer<Int64>) throws {
        if rowCount < 1 || colCount < 1 {
            throw LaminaError.invalid("the contingency table has shape (\(rowCount), \(colCount)); expected at least one row and one column")
        }
        if rowCount > Int(Int32.max) || colCount > Int(Int32.max) {
            throw LaminaError.invalid("the contingency table has shape (\(rowCount), \(colCount)); expected at most \(Int32.max) rows and columns")
        }
        var total = 0
        var cells: [(key: Int64, count: Int)] = []
        cells.reserveCapacity(counts.count)
        for t in 0..<counts.count {
            let r = rows[t], c = cols[t], v = counts[t]
            if r < 0 || r >= Int64(rowCount) { throw LaminaError.invalid("contingency cell \(t) has row \(r); expected 0 <= row < \(rowCount)") }
            if c < 0 || c >= Int64(colCount) { throw LaminaError.invalid("contingency cell \(t) has column \(c); expected 0 <= column < \(colCount)") }
            if v < 0 { throw LaminaError.invalid("contingency cell (\(r), \(c)) has count \(v); expected counts >= 0") }
            if v > Int64(Self.maxGivenTotal) || total + Int(v) > Self.maxGivenTotal {
                throw LaminaError.invalid("the contingency table's counts sum to more than \(Self.maxGivenTotal); expected a total <= \(Self.maxGivenTotal)")
            }
            total += Int(v)
            if v > 0 { cells.append((r * Int64(colCount) + c, Int(v))) }
        }
        cells.sort { $0.key < $1.key }
        var cellRows: [Int32] = [], cellCols: [Int32] = [], cellCounts: [Int] = []
        var rowSums = [Int](repeating: 0, count: rowCount), colSums = [Int](repeating: 0, count: colCount)
        var i = 0
        while i < cells.count {
            var j = i, sum = 0
            while j < cells.count && cells[j].key == cells[i].key { sum += cells[j].count; j += 1 }
            let r = Int(cells[i].key / Int64(colCount)), c = Int(cells[i].key % Int64(colCount))
            cellRows.append(Int32(truncatingIfNeeded: r)); cellCols.append(Int32(truncatingIfNeeded: c)); cellCounts.append(sum)
            rowSums[r] += sum
            colSums[c] += sum
            i = j
        }
        self.init(rowCount: rowCount, colCount: colCount, rowSums: rowSums, colSums: colSums,
                  cellRows: cellRows, cellCols: cellCols, cellCounts: cellCounts, sampleCount: total)
    }
}

/// A deterministic shuffled read order over the rows of a store dataset, in bounded memory.
///
/// Order of epoch e with seed s (N rows, blocks of b contiguous rows, windows of W blocks):
///  1. the N rows are cut into B = ceil(N / b) blocks of b consecutive rows (the last may be shorter);
///  2. the blocks are permuted by a Fisher-Yates shuffle seeded by (s, e);
///  3. consecutive runs of W permuted blocks form windows; the rows of window w are permuted by a
///     Fisher-Yates shuffle seeded by (s, e, w);
///  4. the epoch's order is window 0's rows, then window 1's, ... Every row appears exactly once.
/// A row can land anywhere in the epoch (its block goes to any window), and each window mixes W blocks
/// drawn from the whole store (all segments). It is not a uniform random permutation of all N rows: rows
/// of one block stay in one window. Windows are located by their cumulative sizes (only the last block
/// of the store may be short, and it can fall in any window). Reading position p needs only its window:
/// resuming at any row is exact and costs one window load.
/// Memory: the window's rows (W b width floats) plus the block permutation (B int32) and the window's
/// row permutation and row ids (W b int32 each) and one block (b width float32). W is the largest number
/// of blocks whose rows (W b width float32) fit in the budget.
package final class StoreShuffleReader {
    package let source: StoreRows
    package let seed: UInt64
    package let blockRows: Int
    package let windowBlocks: Int
    package var rows: Int { source.rows }
    package var cols: Int { source.cols }

    private var blockEpoch = -1
    private var blocks: [Int32] = []          // permuted block ids of the current epoch
    private var windowStart: [Int] = []       // first epoch position of each window (count + 1 entries)
    private var loaded: (epoch: Int, window: Int)? = nil
    private var windowData: [Float] = []
    private var windowRows: [Int32] = []      // global row id of each position of the loaded window

    /// Bytes of the window buffer for a budget: the reader's memory is at most `memoryBudget` plus
    /// 4 bytes per block and 4 per window row (stated in lamina.h).
    package init(source: StoreRows, seed: UInt64, memoryBudget: Int, blockRows: Int = 256) throws {
        let rowBytes = source.cols * 4
        if memoryBudget < rowBytes * blockRows {
            throw LaminaError.invalid("memory_budget is \(memoryBudget) bytes; expected at least one block of \(blockRows) rows x \(source.cols) float32 = \(rowBytes * blockRows) bytes")
        }
        self.source = source
        self.seed = seed
        self.blockRows = blockRows
        self.windowBlocks = max(1, memoryBudget / (rowBytes * blockRows))
    }

    private static func rng(_ seed: UInt64, _ a: Int, _ b: Int) -> Xoshiro256 {
        Xoshiro256(seed: seed ^ (UInt64(truncatingIfNeeded: a + 1) &* 0x9E37_79B9_7F4A_7C15)
                   ^ (UInt64(truncatingIfNeeded: b + 2) &* 0xC2B2_AE3D_27D4_EB4F))
    }

    private static func shuffle(_ p: inout [Int32], _ g: inout Xoshiro256) {
        if p.count < 2 { return }
        for i in stride(from: p.count - 1, to: 0, by: -1) { p.swapAt(i, Int(g.next() % UInt64(i + 1))) }
    }

    private func blockSize(_ b: Int) -> Int { min(blockRows, rows - b * blockRows) }

    private func prepare(epoch: Int) {
        if blockEpoch == epoch { return }
        let count = (rows + blockRows - 1) / blockRows
        var p = (0..<count).map { Int32($0) }
        var g = Self.rng(seed, epoch, -1)
        Self.shuffle(&p, &g)
        blocks = p
        windowStart = [0]
        var i = 0
        while i < count {
            var n = 0
            for j in i..<min(count, i + windowBlocks) { n += blockSize(Int(p[j])) }
            windowStart.append(windowStart.last! + n)
            i += windowBlocks
        }
        blockEpoch = epoch
        loaded = nil
    }

    private func load(epoch: Int, window w: Int) throws {
        if let l = loaded, l.epoch == epoch, l.window == w { return }
        let first = w * windowBlocks, last = min(blocks.count, first + windowBlocks)
        let n = windowStart[w + 1] - windowStart[w]
        // Destination of the s-th row read (in block order): the inverse of the window's permutation.
        var perm = (0..<n).map { Int32($0) }
        var g = Self.rng(seed, epoch, w)
        Self.shuffle(&perm, &g)
        var dest = [Int32](repeating: 0, count: n)
        for (i, k) in perm.enumerated() { dest[Int(k)] = Int32(i) }
        if windowData.count != n * cols { windowData = []; windowData = [Float](repeating: 0, count: n * cols) }
        if windowRows.count != n { windowRows = [Int32](repeating: 0, count: n) }
        let block: UnsafeMutablePointer<Float> = try Memory.allocate(blockRows * cols, "one block of the shuffled reader")
        defer { Memory.free(block) }
        var s = 0
        try windowData.withUnsafeMutableBufferPointer { dst in
            for j in first..<last {
                let b = Int(blocks[j]), r0 = b * blockRows, m = blockSize(b)
                try source.read(rows: r0..<(r0 + m), into: block)
                for r in 0..<m {
                    let d = Int(dest[s + r])
                    (dst.baseAddress! + d * cols).update(from: block + r * cols, count: cols)
                    windowRows[d] = Int32(r0 + r)
                }
                s += m
            }
        }
        loaded = (epoch, w)
    }

    /// Rows at positions [position, position + count) of epoch `epoch`'s order into out (count x cols
    /// float32) and, if given, their row numbers in the store into rowIds.
    package func read(epoch: Int, position: Int, count: Int, into out: UnsafeMutablePointer<Float>,
                      rowIds: UnsafeMutablePointer<Int64>?) throws {
        if epoch < 0 { throw LaminaError.invalid("epoch is \(epoch); expected >= 0") }
        if position < 0 || count < 0 || position > rows || count > rows - position {
            throw LaminaError.invalid("positions [\(position), \(position + count)) are out of range for an epoch of \(rows) rows")
        }
        prepare(epoch: epoch)
        var p = position, o = 0
        while p < position + count {
            // window holding p: binary search over windowStart
            var lo = 0, hi = windowStart.count - 2
            while lo < hi { let mid = (lo + hi + 1) / 2; if windowStart[mid] <= p { lo = mid } else { hi = mid - 1 } }
            try load(epoch: epoch, window: lo)
            let start = p - windowStart[lo], take = min(position + count - p, windowStart[lo + 1] - p)
            windowData.withUnsafeBufferPointer { src in
                (out + o * cols).update(from: src.baseAddress! + start * cols, count: take * cols)
            }
            if let ids = rowIds { for i in 0..<take { ids[o + i] = Int64(windowRows[start + i]) } }
            p += take; o += take
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif

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
/// Memory: W is the largest number of blocks whose rows as float32 (W b width x 4 bytes) fit in the
/// budget. A window holds its rows in the stored type (2 bytes per value for float16/bfloat16, 4 for
/// float32), widened to float32 as they are copied out. With 16-bit stores two windows fit the budget,
/// so a background thread (prefetch) reads and scatters the next window while the caller consumes the
/// current one; the order is the same with and without it (it only changes when a window is read).
/// Beyond the window data: the block permutation (B int32), per window its row ids (W b int32) and,
/// while it loads, its row permutation (2 W b int32) and one block of scratch (b width float32).
package final class StoreShuffleReader {
    package let source: StoreRows
    package let seed: UInt64
    package let blockRows: Int
    package let windowBlocks: Int
    /// Whether the next window is read by a background thread (16-bit stores; see the type's comment).
    package let prefetch: Bool
    package var rows: Int { source.rows }
    package var cols: Int { source.cols }

    /// The epoch's block order and the first position of each window (count + 1 entries).
    struct Plan: Sendable {
        let epoch: Int
        let blocks: [Int32]
        let windowStart: [Int]
        var windows: Int { windowStart.count - 1 }
    }

    /// One window's rows in the stored type and their global row ids. Owned by the reader; while a
    /// prefetch fills it, only the prefetch thread touches it (the reader joins that thread first).
    final class Window: @unchecked Sendable {
        let data: UnsafeMutableRawPointer
        let rowIds: UnsafeMutablePointer<Int32>
        var key: (epoch: Int, window: Int)? = nil
        var error: Error? = nil
        init(bytes: Int, rows: Int) throws {
            data = UnsafeMutableRawPointer(try Memory.allocate(bytes, "a window of the shuffled store reader") as UnsafeMutablePointer<UInt8>)
            rowIds = try Memory.allocate(rows, "the row ids of a window of the shuffled store reader")
        }
        deinit {
            Memory.free(data.assumingMemoryBound(to: UInt8.self))
            Memory.free(rowIds)
        }
    }

    private var plans: [Plan] = []          // the last two epochs' plans
    private var current: Window? = nil
    private var spare: Window? = nil
    private var pending: pthread_t? = nil   // the prefetch thread filling `spare`

    /// The reader's memory is at most `memoryBudget` plus the int32 arrays stated above (lamina.h).
    /// `prefetch` false turns the background thread off (the order does not depend on it).
    package init(source: StoreRows, seed: UInt64, memoryBudget: Int, blockRows: Int = 256, prefetch: Bool = true) throws {
        let rowBytes = source.cols * 4
        if memoryBudget < rowBytes * blockRows {
            throw LaminaError.invalid("memory_budget is \(memoryBudget) bytes; expected at least one block of \(blockRows) rows x \(source.cols) float32 = \(rowBytes * blockRows) bytes")
        }
        self.source = source
        self.seed = seed
        self.blockRows = blockRows
        self.windowBlocks = max(1, memoryBudget / (rowBytes * blockRows))
        self.prefetch = prefetch && source.dtype.bytes == 2
    }

    deinit { join() }

    private static func rng(_ seed: UInt64, _ a: Int, _ b: Int) -> Xoshiro256 {
        Xoshiro256(seed: seed ^ (UInt64(truncatingIfNeeded: a + 1) &* 0x9E37_79B9_7F4A_7C15)
                   ^ (UInt64(truncatingIfNeeded: b + 2) &* 0xC2B2_AE3D_27D4_EB4F))
    }

    private static func shuffle(_ p: inout [Int32], _ g: inout Xoshiro256) {
        if p.count < 2 { return }
        for i in stride(from: p.count - 1, to: 0, by: -1) { p.swapAt(i, Int(g.next() % UInt64(i + 1))) }
    }

    private func plan(epoch: Int) -> Plan {
        if let p = plans.first(where: { $0.epoch == epoch }) { return p }
        let count = (rows + blockRows - 1) / blockRows
        var p = (0..<count).map { Int32($0) }
        var g = Self.rng(seed, epoch, -1)
        Self.shuffle(&p, &g)
        var starts = [0]
        var i = 0
        while i < count {
            var n = 0
            for j in i..<min(count, i + windowBlocks) { n += min(blockRows, rows - Int(p[j]) * blockRows) }
            starts.append(starts.last! + n)
            i += windowBlocks
        }
        let made = Plan(epoch: epoch, blocks: p, windowStart: starts)
        plans.append(made)
        if plans.count > 2 { plans.removeFirst() }
        return made
    }

    /// Reads window `w` of `plan` into `into`: the rows of its blocks, each to its place in the window's
    /// permutation. Touches only immutable state and `into` (it runs on the prefetch thread too). Blocks
    /// are visited by segment, so each segment file is opened once per window.
    private static func load(source: StoreRows, seed: UInt64, blockRows: Int, windowBlocks: Int,
                             plan: Plan, window w: Int, into win: Window) throws {
        win.key = nil
        let first = w * windowBlocks, last = min(plan.blocks.count, first + windowBlocks)
        let n = plan.windowStart[w + 1] - plan.windowStart[w]
        // Destination of the s-th row read in block order: the inverse of the window's permutation.
        var perm = (0..<n).map { Int32($0) }
        var g = rng(seed, plan.epoch, w)
        shuffle(&perm, &g)
        var dest = [Int32](repeating: 0, count: n)
        for (i, k) in perm.enumerated() { dest[Int(k)] = Int32(i) }
        // Pieces (global first row, rows, first read position), a block split where segments meet.
        var pieces: [(row: Int, count: Int, s: Int)] = []
        var s = 0
        for j in first..<last {
            let r0 = Int(plan.blocks[j]) * blockRows, m = min(blockRows, source.rows - r0)
            var r = r0
            while r < r0 + m {
                let end = min(r0 + m, source.starts[source.segment(of: r) + 1])
                pieces.append((r, end - r, s + r - r0))
                r = end
            }
            s += m
        }
        pieces.sort { $0.row < $1.row }
        let rowBytes = source.cols * source.dtype.bytes
        let scratch: UnsafeMutablePointer<Float> = try Memory.allocate(blockRows * source.cols, "one block of the shuffled store reader")
        defer { Memory.free(scratch) }
        let raw = UnsafeMutableRawPointer(scratch)
        var k = 0
        try dest.withUnsafeBufferPointer { dst in
            while k < pieces.count {
                let seg = source.segment(of: pieces[k].row), base = source.starts[seg]
                var e = k
                while e < pieces.count && pieces[e].row < source.starts[seg + 1] { e += 1 }
                let group = pieces[k..<e]
                try HDF5File.readRawRanges(path: source.files[seg], dataset: source.dataset, expect: source.dtype.hdf5,
                                           ranges: group.map { ($0.row - base)..<($0.row - base + $0.count) },
                                           scratch: raw) { i in
                    let piece = group[group.startIndex + i]
                    for r in 0..<piece.count {
                        let d = Int(dst[piece.s + r])
                        (win.data + d * rowBytes).copyMemory(from: raw + r * rowBytes, byteCount: rowBytes)
                        win.rowIds[d] = Int32(piece.row + r)
                    }
                }
                k = e
            }
        }
        win.key = (plan.epoch, w)
    }

    private func makeWindow() throws -> Window {
        let n = min(rows, windowBlocks * blockRows)
        return try Window(bytes: n * cols * source.dtype.bytes, rows: n)
    }

    /// Waits for the prefetch thread, if one runs.
    private func join() {
        if let t = pending { pthread_join(t, nil); pending = nil }
    }

    /// The loaded window (epoch, w): the current one, the prefetched one, or read now. Then starts the
    /// prefetch of the window that follows it in the order (the next epoch's first after the last).
    private func window(epoch: Int, _ w: Int, _ p: Plan) throws -> Window {
        if let c = current, let key = c.key, key == (epoch, w) { return c }
        join()
        if let sp = spare, let key = sp.key, key == (epoch, w), sp.error == nil {
            spare = current
            current = sp
        } else {
            if current == nil { current = try makeWindow() }
            try Self.load(source: source, seed: seed, blockRows: blockRows, windowBlocks: windowBlocks, plan: p, window: w, into: current!)
        }
        if prefetch { startPrefetch(after: (epoch, w), p) }
        return current!
    }

    private final class Job { let run: () -> Void; init(_ run: @escaping () -> Void) { self.run = run } }

    private func startPrefetch(after key: (epoch: Int, window: Int), _ p: Plan) {
        let next = key.window + 1 < p.windows ? (p, key.window + 1) : (plan(epoch: key.epoch + 1), 0)
        if spare == nil { spare = try? makeWindow() }
        guard let win = spare else { return }
        win.key = nil
        win.error = nil
        let (src, seed, b, wb) = (source, self.seed, blockRows, windowBlocks)
        let job = Unmanaged.passRetained(Job {
            do { try StoreShuffleReader.load(source: src, seed: seed, blockRows: b, windowBlocks: wb, plan: next.0, window: next.1, into: win) }
            catch { win.key = nil; win.error = error }
        }).toOpaque()
        var t = pthread_t()
        if pthread_create(&t, nil, { ctx in
            Unmanaged<Job>.fromOpaque(ctx!).takeRetainedValue().run()
            return nil
        }, job) == 0 {
            pending = t
        } else {
            Unmanaged<Job>.fromOpaque(job).release()  // no thread: the window is read when it is needed
        }
    }

    /// Rows at positions [position, position + count) of epoch `epoch`'s order into out (count x cols
    /// float32) and, if given, their row numbers in the store into rowIds.
    package func read(epoch: Int, position: Int, count: Int, into out: UnsafeMutablePointer<Float>,
                      rowIds: UnsafeMutablePointer<Int64>?) throws {
        if epoch < 0 { throw LaminaError.invalid("epoch is \(epoch); expected >= 0") }
        if position < 0 || count < 0 || position > rows || count > rows - position {
            throw LaminaError.invalid("positions [\(position), \(position + count)) are out of range for an epoch of \(rows) rows")
        }
        if count == 0 { return }
        let p = plan(epoch: epoch)
        var pos = position, o = 0
        while pos < position + count {
            // window holding pos: binary search over windowStart
            var lo = 0, hi = p.windowStart.count - 2
            while lo < hi { let mid = (lo + hi + 1) / 2; if p.windowStart[mid] <= pos { lo = mid } else { hi = mid - 1 } }
            let win = try window(epoch: epoch, lo, p)
            let start = pos - p.windowStart[lo], take = min(position + count - pos, p.windowStart[lo + 1] - pos)
            Self.widen(win.data + start * cols * source.dtype.bytes, source.dtype, take * cols, into: out + o * cols)
            if let ids = rowIds { for i in 0..<take { ids[o + i] = Int64(win.rowIds[start + i]) } }
            pos += take; o += take
        }
    }

    /// `count` stored values to float32 (the loops vectorise: vcvtph2ps for float16 on x86-64-v3).
    private static func widen(_ src: UnsafeMutableRawPointer, _ dtype: StoreDType, _ count: Int, into out: UnsafeMutablePointer<Float>) {
        switch dtype {
        case .float16:
            let h = src.assumingMemoryBound(to: UInt16.self)
            for i in 0..<count { out[i] = Float(Float16(bitPattern: h[i])) }
        case .bfloat16:
            let h = src.assumingMemoryBound(to: UInt16.self)
            for i in 0..<count { out[i] = Float(bitPattern: UInt32(h[i]) << 16) }
        case .float32:
            out.update(from: src.assumingMemoryBound(to: Float.self), count: count)
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
/// The encoder side of an SAE: the dense pre-activation pre = W_enc (x - b_dec) + b_enc, computed as
/// sgemm tiles (row block x latent tile, one tile hot in cache at a time) with the activation rule fused
/// into the tile pass, so a batch x n_latents matrix is never materialised. The result is `SparseCodes`
/// (CSR: for each row the latents kept, their code z and their pre-activation).
///
/// Activation rules are `TileSelector`s: `TopKSelector` (per-row top-k of ReLU(pre) with a heap; the
/// k-th value is the running threshold, so after the first tiles a SIMD compare rejects almost every
/// value) and `ThresholdSelector` (every latent with pre > lower_j: ReLU, JumpReLU, BatchTopK at
/// inference, and JumpReLU training where near-threshold entries are kept for the straight-through
/// threshold gradient). A new encoder (e.g. VL-SAE's distance-based one) supplies its own tile pass
/// and produces the same SparseCodes; the decoder and trainer are unchanged.

/// CSR sparse codes of a batch. Row b's entries are [rowStart[b], rowStart[b + 1]).
package final class SparseCodes: @unchecked Sendable {
    package var rows = 0
    package var rowStart: [Int] = [0]
    package var latent: [Int32] = []
    /// z: the code value (0 for a kept-but-inactive entry of JumpReLU training).
    package var value: [Float] = []
    /// The pre-activation of the entry.
    package var pre: [Float] = []
    /// Scratch of the backward pass: dL/dz, then dL/dpre.
    package var grad: [Float] = []
    package var rowOf: [Int32] = []
    /// Per-task scratch of the encoder (gemm tiles and entry blocks), kept between calls so that a
    /// step does not map and fault in fresh pages.
    var tiles: [FloatBuffer] = []
    var blocks: [CodeBlock] = []

    package init() {}

    package var count: Int { rowStart[rows] }
}

/// Entries of one block of rows, filled by one task.
final class CodeBlock {
    var counts: [Int] = []
    var latent: [Int32] = []
    var value: [Float] = []
    var pre: [Float] = []

    func reset(rows: Int) {
        counts.removeAll(keepingCapacity: true)
        latent.removeAll(keepingCapacity: true)
        value.removeAll(keepingCapacity: true)
        pre.removeAll(keepingCapacity: true)
        counts.reserveCapacity(rows)
    }
}

protocol TileSelector {
    /// Starts a block of `rows` rows.
    mutating func begin(rows: Int)
    /// Scans pre-activations c[0..<count] (bias included) of row r for latents latent0 ..< latent0+count.
    mutating func scan(row r: Int, c: UnsafePointer<Float>, latent0: Int, count: Int)
    /// Appends the kept entries of every row to the block (in row order).
    mutating func finish(into block: CodeBlock)
}

/// Per-row top-`cap` of ReLU(pre) (strictly positive values only; ties keep the lower latent index).
/// A min-heap per row ordered by (value, -index): the root is the worst kept entry.
struct TopKSelector: TileSelector {
    let cap: Int
    var rows = 0
    var heapValue: [Float] = []
    var heapIndex: [Int32] = []
    var size: [Int] = []
    var thr: [Float] = []
    /// Map from a local latent index to the global one (AuxK over the dead latents), or nil.
    let map: UnsafePointer<Int32>?

    init(cap: Int, map: UnsafePointer<Int32>? = nil) {
        self.cap = cap
        self.map = map
    }

    mutating func begin(rows: Int) {
        self.rows = rows
        if heapValue.count < rows * cap {
            heapValue = [Float](repeating: 0, count: rows * cap)
            heapIndex = [Int32](repeating: 0, count: rows * cap)
        }
        size = [Int](repeating: 0, count: rows)
        thr = [Float](repeating: 0, count: rows)
    }

    @inline(__always)
    static func worse(_ va: Float, _ ia: Int32, _ vb: Float, _ ib: Int32) -> Bool {
        va < vb || (va == vb && ia > ib)
    }

    @inline(__always)
    mutating func insert(row r: Int, value: Float, index: Int32) {
        heapValue.withUnsafeMutableBufferPointer { hvb in
            heapIndex.withUnsafeMutableBufferPointer { hib in
                let hv = hvb.baseAddress! + r * cap, hi = hib.baseAddress! + r * cap
                var n = size[r]
                if n < cap {
                    // sift up
                    var i = n
                    hv[i] = value; hi[i] = index
                    while i > 0 {
                        let parent = (i - 1) / 2
                        if TopKSelector.worse(hv[i], hi[i], hv[parent], hi[parent]) {
                            swap(&hv[i], &hv[parent]); swap(&hi[i], &hi[parent])
                            i = parent
                        } else { break }
                    }
                    n += 1
                    size[r] = n
                    if n == cap { thr[r] = hv[0] }
                } else {
                    // replace the root, sift down
                    hv[0] = value; hi[0] = index
                    var i = 0
                    while true {
                        let l = 2 * i + 1, rr = l + 1
                        var w = i
                        if l < n && TopKSelector.worse(hv[l], hi[l], hv[w], hi[w]) { w = l }
                        if rr < n && TopKSelector.worse(hv[rr], hi[rr], hv[w], hi[w]) { w = rr }
                        if w == i { break }
                        swap(&hv[i], &hv[w]); swap(&hi[i], &hi[w])
                        i = w
                    }
                    thr[r] = hv[0]
                }
            }
        }
    }

    mutating func scan(row r: Int, c: UnsafePointer<Float>, latent0: Int, count: Int) {
        var t = thr[r]
        var j = 0
        // 64 values per test: the max of four vectors against the running threshold (after the first
        // tiles almost every block is rejected by this one compare).
        while j + 64 <= count {
            let v0 = Vec.load(c + j)
            let v1 = Vec.load(c + j + 16)
            let v2 = Vec.load(c + j + 32)
            let v3 = Vec.load(c + j + 48)
            let m = SIMDOps.max(SIMDOps.max(v0, v1), SIMDOps.max(v2, v3))
            if any(m .> SIMD16<Float>(repeating: t)) {
                for q in 0..<64 {
                    let v = c[j + q]
                    if v > t {
                        insert(row: r, value: v, index: Int32(latent0 + j + q))
                        t = thr[r]
                    }
                }
            }
            j += 64
        }
        while j < count {
            let v = c[j]
            if v > t {
                insert(row: r, value: v, index: Int32(latent0 + j))
                t = thr[r]
            }
            j += 1
        }
    }

    mutating func finish(into block: CodeBlock) {
        for r in 0..<rows {
            let n = size[r]
            block.counts.append(n)
            for s in 0..<n {
                let local = heapIndex[r * cap + s]
                block.latent.append(map.map { $0[Int(local)] } ?? local)
                let v = heapValue[r * cap + s]
                block.value.append(v)
                block.pre.append(v)
            }
        }
    }
}

/// Every latent with pre_j > lower_j; an entry is active (z = pre) when pre_j > active_j, else kept
/// with z = 0 (JumpReLU training keeps entries within epsilon/2 below the threshold).
struct ThresholdSelector: TileSelector {
    let lower: UnsafePointer<Float>
    let active: UnsafePointer<Float>
    var rowEntries: [[(Int32, Float)]] = []
    var rows = 0

    init(lower: UnsafePointer<Float>, active: UnsafePointer<Float>) {
        self.lower = lower
        self.active = active
    }

    mutating func begin(rows: Int) {
        self.rows = rows
        if rowEntries.count < rows { rowEntries = [[(Int32, Float)]](repeating: [], count: rows) }
        for r in 0..<rows { rowEntries[r].removeAll(keepingCapacity: true) }
    }

    mutating func scan(row r: Int, c: UnsafePointer<Float>, latent0: Int, count: Int) {
        let lo = lower + latent0
        var j = 0
        while j + 16 <= count {
            let v = Vec.load(c + j)
            if any(v .> Vec.load(lo + j)) {
                for lane in 0..<16 where v[lane] > lo[j + lane] {
                    rowEntries[r].append((Int32(latent0 + j + lane), v[lane]))
                }
            }
            j += 16
        }
        while j < count {
            let v = c[j]
            if v > lo[j] { rowEntries[r].append((Int32(latent0 + j), v)) }
            j += 1
        }
    }

    mutating func finish(into block: CodeBlock) {
        for r in 0..<rows {
            block.counts.append(rowEntries[r].count)
            for (index, v) in rowEntries[r] {
                block.latent.append(index)
                block.pre.append(v)
                block.value.append(v > active[Int(index)] ? v : 0)
            }
        }
    }
}

enum SAEEncoderKernel {
    /// Rows per task and latents per gemm tile (tuning knobs LAMINA_SAE_BR / LAMINA_SAE_LT, clamped to
    /// 16...65536). 512 x 1024 tiles: W_enc is repacked by OpenBLAS once per 512 rows, a tile is 2 MB.
    static let blockRows = tuning("LAMINA_SAE_BR", 512)
    static let latentTile = tuning("LAMINA_SAE_LT", 1024)

    static func tuning(_ name: String, _ fallback: Int) -> Int {
        guard let raw = getenv(name) else { return fallback }
        return min(max(Int(atoi(raw)), 16), 1 << 16)
    }

    /// Runs the fused encoder over rows [0, rows) of xc (rows x d, already x - b_dec), against the
    /// encoder rows wEnc (nl x d) and biases bEnc (nl), one task per block of `blockRows` rows.
    static func run<S: TileSelector>(xc: UnsafePointer<Float>, rows: Int, d: Int, wEnc: UnsafePointer<Float>,
                                     bEnc: UnsafePointer<Float>, nl: Int, selector: S, into codes: SparseCodes) {
        let blockCount = (rows + blockRows - 1) / blockRows
        let tileCols = min(latentTile, nl)
        while codes.blocks.count < blockCount { codes.blocks.append(CodeBlock()) }
        for task in 0..<blockCount where codes.tiles.count <= task || codes.tiles[task].count < blockRows * tileCols {
            if codes.tiles.count <= task { codes.tiles.append(FloatBuffer(blockRows * tileCols, zero: 0)) }
            else { codes.tiles[task] = FloatBuffer(blockRows * tileCols, zero: 0) }
        }
        let blocks = Array(codes.blocks[0..<blockCount])
        let tiles = codes.tiles.map { $0.p }
        Parallel.forEachTask(blockCount) { task in
            let r0 = task * blockRows, nr = min(blockRows, rows - r0)
            var sel = selector
            sel.begin(rows: nr)
            let tile = tiles[task]
            var t0 = 0
            while t0 < nl {
                let nt = min(tileCols, nl - t0)
                // C starts as the bias rows and the gemm accumulates onto it (beta = 1: no separate
                // zeroing pass, no bias add in the scan).
                for r in 0..<nr { (tile + r * nt).update(from: bEnc + t0, count: nt) }
                Gemm.abT(m: nr, n: nt, k: d, a: xc + r0 * d, lda: d, b: wEnc + t0 * d, ldb: d, beta: 1, c: tile, ldc: nt)
                for r in 0..<nr {
                    sel.scan(row: r, c: tile + r * nt, latent0: t0, count: nt)
                }
                t0 += nt
            }
            let block = blocks[task]
            block.reset(rows: nr)
            sel.finish(into: block)
        }
        flatten(blocks, rows: rows, into: codes)
    }

    static func flatten(_ blocks: [CodeBlock], rows: Int, into codes: SparseCodes) {
        var total = 0
        for b in blocks { total += b.latent.count }
        codes.rows = rows
        codes.rowStart = [Int](repeating: 0, count: rows + 1)
        codes.latent.removeAll(keepingCapacity: true)
        codes.value.removeAll(keepingCapacity: true)
        codes.pre.removeAll(keepingCapacity: true)
        codes.latent.reserveCapacity(total)
        codes.value.reserveCapacity(total)
        codes.pre.reserveCapacity(total)
        var row = 0
        for b in blocks {
            for c in b.counts {
                codes.rowStart[row + 1] = codes.rowStart[row] + c
                row += 1
            }
            codes.latent.append(contentsOf: b.latent)
            codes.value.append(contentsOf: b.value)
            codes.pre.append(contentsOf: b.pre)
        }
        codes.grad = [Float](repeating: 0, count: total)
        codes.rowOf = [Int32](repeating: 0, count: total)
        for r in 0..<rows {
            for e in codes.rowStart[r]..<codes.rowStart[r + 1] { codes.rowOf[e] = Int32(r) }
        }
    }
}

import CBLAS
#if canImport(Glibc)
import Glibc
#endif

/// RBF-kernel CKA (Kornblith et al. 2019): K_ij = exp(-||x_i - x_j||^2 / (2 sigma_x^2)), likewise L,
///     CKA = <HKH, HLH>_F / (||HKH||_F ||HLH||_F),  H = I - 11^T / n,
/// with <HKH, HLH> = sum_ij K_ij L_ij - (2/n) (K1).(L1) + (1^T K 1)(1^T L 1) / n^2. The sums are taken
/// over tiles of rows; no n x n matrix is kept. sigma = factor * median of the n (n - 1) / 2 pairwise
/// Euclidean distances (numpy's median: the mean of the two middle values for an even count) unless
/// given. The exact median is selected from tiles without keeping the pairs (radix selection,
/// `streamedMedianSquared`), so no n x n quantity is kept for any n. (Sorting the pair vector was the
/// small-n path until measured: 9.0 s against 0.90 s for the selection at n = 11,000, d = 64.)
extension CKA {
    /// Candidates the tiled selection collects and sorts once a prefix narrows them down this far.
    static let medianCollectCap = 1 << 22
    static let rbfTile = 256
    static let medianColumns = 2048

    /// Centred float64 copy of x with its squared row norms.
    struct Centred {
        let values: [Double]
        let norms: [Double]
        let rows: Int
        let cols: Int
    }

    static func centred(_ x: MatrixView) -> Centred {
        let n = x.rows, d = x.cols
        var mean = [Double](repeating: 0, count: d)
        mean.withUnsafeMutableBufferPointer { a in
            for r in 0..<n { Reduce.accumulate(x.row(r), into: a.baseAddress!, d) }
            for c in 0..<d { a[c] /= Double(n) }
        }
        var values = [Double](repeating: 0, count: n * d)
        var norms = [Double](repeating: 0, count: n)
        values.withUnsafeMutableBufferPointer { v in
            for r in 0..<n {
                let src = x.row(r)
                var s = 0.0
                for c in 0..<d { let t = Double(src[c]) - mean[c]; v[r * d + c] = t; s += t * t }
                norms[r] = s
            }
        }
        return Centred(values: values, norms: norms, rows: n, cols: d)
    }

    /// Squared distances of the tile rows i0..<i1 x cols j0..<j1 into `out` (ld = j1 - j0), clamped at 0,
    /// exactly 0 on the diagonal.
    static func squaredDistanceTile(_ c: Centred, _ i0: Int, _ i1: Int, _ j0: Int, _ j1: Int,
                                    _ out: UnsafeMutablePointer<Double>) {
        let mi = i1 - i0, mj = j1 - j0, d = c.cols
        c.values.withUnsafeBufferPointer { v in
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(mi), Int32(mj), Int32(d), -2,
                        v.baseAddress! + i0 * d, Int32(d), v.baseAddress! + j0 * d, Int32(d), 0, out, Int32(mj))
        }
        for a in 0..<mi {
            let ni = c.norms[i0 + a]
            for b in 0..<mj {
                let t = out[a * mj + b] + ni + c.norms[j0 + b]
                out[a * mj + b] = (i0 + a == j0 + b) ? 0 : max(0, t)
            }
        }
    }

    /// numpy's median of the pairwise Euclidean distances i < j.
    package static func medianDistance(_ x: MatrixView) throws -> Double {
        try medianDistance(centred(x))
    }

    static func medianDistance(_ c: Centred) throws -> Double {
        let n = c.rows
        if n < 2 { throw LaminaError.invalid("n is \(n); the median distance needs n >= 2") }
        let pairs = n * (n - 1) / 2
        let mid = pairs / 2
        if pairs % 2 == 1 { return streamedMedianSquared(c, rank: mid).value.squareRoot() }
        // The two middle order statistics: rank mid - 1, then rank mid is the same value when it is
        // repeated enough, else the smallest squared distance above it.
        let lower = streamedMedianSquared(c, rank: mid - 1)
        let upper = lower.atMost > mid ? lower.value : streamedNextAbove(c, lower.value)
        return (lower.value.squareRoot() + upper.squareRoot()) / 2
    }

    /// Calls body(group, key) for every pair i < j of the row blocks of `group` (blocks group, group +
    /// groups, ...), key the bit pattern of the squared distance (>= 0, so patterns order as values; -0
    /// folded to +0). Tiles are rbfTile rows x medianColumns columns through one single-threaded gemm
    /// each, so every pass over the pairs sees bit-identical values.
    @inline(__always)
    static func forEachPairKey(_ c: Centred, group: Int, groups: Int, _ body: (UInt64) -> Void) {
        let n = c.rows, tile = rbfTile, width = medianColumns
        let buf = UnsafeMutablePointer<Double>.allocate(capacity: tile * width)
        defer { buf.deallocate() }
        var bi = group
        while bi * tile < n {
            let i0 = bi * tile, i1 = min(n, i0 + tile)
            var j0 = i0
            while j0 < n {
                let j1 = min(n, j0 + width), mj = j1 - j0
                squaredDistanceTile(c, i0, i1, j0, j1, buf)
                for i in i0..<i1 {
                    let row = buf + (i - i0) * mj
                    for j in max(j0, i + 1)..<max(j1, i + 1) { body(row[j - j0].bitPattern & 0x7FFF_FFFF_FFFF_FFFF) }
                }
                j0 = j1
            }
            bi += groups
        }
    }

    /// The squared distance of 0-based rank `rank` among the n (n - 1) / 2 pairs, and how many pairs
    /// are at most it, without keeping the pairs: radix selection on the 64-bit keys, 16 bits per pass
    /// (per-group histograms merged in group order), every pass recomputing the tiles; once the pairs
    /// sharing the selected prefix number at most medianCollectCap, they are collected and sorted. At
    /// most 4 passes; memory O(tile x medianColumns + 65536) per group.
    static func streamedMedianSquared(_ c: Centred, rank wanted: Int) -> (value: Double, atMost: Int) {
        let n = c.rows
        let groups = min((n + rbfTile - 1) / rbfTile, 16)
        var prefix: UInt64 = 0, known = 0, rank = wanted
        while true {
            let shift = UInt64(64 - known - 16)
            let high = UInt64(64 - known), pre = prefix, all = known == 0
            var hist = [Int](repeating: 0, count: groups << 16)
            hist.withUnsafeMutableBufferPointer { h in
                let hp = h.baseAddress!
                Parallel.forEachTask(groups) { g in
                    let mine = hp + (g << 16)
                    forEachPairKey(c, group: g, groups: groups) { key in
                        if all || key >> high == pre { mine[Int((key >> shift) & 0xFFFF)] += 1 }
                    }
                }
            }
            var counts = [Int](repeating: 0, count: 1 << 16)
            for g in 0..<groups { for b in 0..<(1 << 16) { counts[b] += hist[(g << 16) + b] } }
            var digit = 0
            while rank >= counts[digit] { rank -= counts[digit]; digit += 1 }
            let below = wanted - rank, inBucket = counts[digit]
            prefix = (prefix << 16) | UInt64(digit)
            known += 16
            if known == 64 { return (Double(bitPattern: prefix), below + inBucket) }
            if inBucket <= medianCollectCap {
                let high = UInt64(64 - known), pre = prefix
                var parts = [[UInt64]](repeating: [], count: groups)
                parts.withUnsafeMutableBufferPointer { pp in
                    let base = pp.baseAddress!
                    Parallel.forEachTask(groups) { g in
                        var mine = [UInt64]()
                        forEachPairKey(c, group: g, groups: groups) { key in if key >> high == pre { mine.append(key) } }
                        (base + g).pointee = mine
                    }
                }
                var keys = parts.flatMap { $0 }
                keys.sort()
                let key = keys[rank]
                var atMost = rank + 1
                while atMost < keys.count && keys[atMost] == key { atMost += 1 }
                return (Double(bitPattern: key), below + atMost)
            }
        }
    }

    /// The smallest squared distance above `value` (one pass over the tiles).
    static func streamedNextAbove(_ c: Centred, _ value: Double) -> Double {
        let n = c.rows
        let groups = min((n + rbfTile - 1) / rbfTile, 16)
        let floor = value.bitPattern & 0x7FFF_FFFF_FFFF_FFFF
        var least = [UInt64](repeating: .max, count: groups)
        least.withUnsafeMutableBufferPointer { lp in
            let base = lp.baseAddress!
            Parallel.forEachTask(groups) { g in
                var m = UInt64.max
                forEachPairKey(c, group: g, groups: groups) { key in if key > floor && key < m { m = key } }
                base[g] = m
            }
        }
        return Double(bitPattern: least.min()!)
    }

    /// RBF CKA. sigmaX / sigmaY: the bandwidths, or nil for factor * median distance.
    package static func rbf(_ x: MatrixView, _ y: MatrixView, sigmaFactor: Double,
                           sigmaX: Double? = nil, sigmaY: Double? = nil) throws -> Double {
        let n = x.rows
        if y.rows != n {
            throw LaminaError.shape("y has \(y.rows) rows; expected \(n) (the rows of x: the same inputs)")
        }
        if n < 2 { throw LaminaError.invalid("n is \(n); CKA needs n >= 2 samples") }
        if !(sigmaFactor > 0) || !sigmaFactor.isFinite {
            throw LaminaError.invalid("sigma_factor is \(sigmaFactor); expected a finite value > 0")
        }
        let cx = centred(x), cy = centred(y)
        if cx.norms.allSatisfy({ $0 == 0 }) { throw LaminaError.invalid("x is constant (every feature has zero variance); CKA is undefined for it") }
        if cy.norms.allSatisfy({ $0 == 0 }) { throw LaminaError.invalid("y is constant (every feature has zero variance); CKA is undefined for it") }
        let sx = try sigmaX ?? sigmaFactor * medianDistance(cx)
        let sy = try sigmaY ?? sigmaFactor * medianDistance(cy)
        if !(sx > 0) || !sx.isFinite { throw LaminaError.invalid("the bandwidth of x is \(sx); expected a finite value > 0 (the median distance is 0 when more than half the rows coincide)") }
        if !(sy > 0) || !sy.isFinite { throw LaminaError.invalid("the bandwidth of y is \(sy); expected a finite value > 0 (the median distance is 0 when more than half the rows coincide)") }
        let gx = -1 / (2 * sx * sx), gy = -1 / (2 * sy * sy)
        // 2 sigma^2 must be a positive finite float64: overflowing it makes every kernel value 1, underflowing
        // it makes the diagonal exp(-0/0) = NaN.
        for (g, s, name) in [(gx, sx, "x"), (gy, sy, "y")] where !(g.isFinite && g < 0) {
            throw LaminaError.invalid("the bandwidth of \(name) is \(s); 2 sigma^2 \(g == 0 ? "overflows" : "underflows") in float64; expected about 1e-154 < sigma < 1e154")
        }

        let tile = rbfTile
        let blocks = (n + tile - 1) / tile
        // Per block row: sum K∘L, K∘K, L∘L over its full rows, and the row sums of K and L.
        var partial = [Double](repeating: 0, count: blocks * 3)
        var rowK = [Double](repeating: 0, count: n), rowL = [Double](repeating: 0, count: n)
        partial.withUnsafeMutableBufferPointer { pp in
            rowK.withUnsafeMutableBufferPointer { rk in
                rowL.withUnsafeMutableBufferPointer { rl in
                    let pb = pp.baseAddress!, rkb = rk.baseAddress!, rlb = rl.baseAddress!
                    Parallel.forEachTask(blocks) { bi in
                        let i0 = bi * tile, i1 = min(n, i0 + tile)
                        let kb = UnsafeMutablePointer<Double>.allocate(capacity: tile * tile)
                        let lb = UnsafeMutablePointer<Double>.allocate(capacity: tile * tile)
                        defer { kb.deallocate(); lb.deallocate() }
                        var skl = 0.0, skk = 0.0, sll = 0.0
                        for bj in 0..<blocks {
                            let j0 = bj * tile, j1 = min(n, j0 + tile), mj = j1 - j0
                            squaredDistanceTile(cx, i0, i1, j0, j1, kb)
                            squaredDistanceTile(cy, i0, i1, j0, j1, lb)
                            for a in 0..<(i1 - i0) {
                                var rsk = 0.0, rsl = 0.0
                                for b in 0..<mj {
                                    let k = exp(gx * kb[a * mj + b]), l = exp(gy * lb[a * mj + b])
                                    skl += k * l; skk += k * k; sll += l * l
                                    rsk += k; rsl += l
                                }
                                rkb[i0 + a] += rsk; rlb[i0 + a] += rsl
                            }
                        }
                        pb[bi * 3] = skl; pb[bi * 3 + 1] = skk; pb[bi * 3 + 2] = sll
                    }
                }
            }
        }
        var skl = 0.0, skk = 0.0, sll = 0.0
        for b in 0..<blocks { skl += partial[b * 3]; skk += partial[b * 3 + 1]; sll += partial[b * 3 + 2] }
        let nd = Double(n)
        let kk = dot(rowK, rowK), ll = dot(rowL, rowL), kl = dot(rowK, rowL)
        let tk = rowK.reduce(0, +), tl = rowL.reduce(0, +)
        let hkl = skl - 2 / nd * kl + tk * tl / (nd * nd)
        let hkk = skk - 2 / nd * kk + tk * tk / (nd * nd)
        let hll = sll - 2 / nd * ll + tl * tl / (nd * nd)
        if !(hkk > 0) || !(hll > 0) {
            throw LaminaError.invalid("the centred RBF kernel of \(hkk > 0 ? "y" : "x") is zero (all rows at the same point, or a bandwidth so large against the distances that every kernel value rounds to 1)")
        }
        return min(1, max(0, hkl / (hkk * hll).squareRoot()))
    }

    static func dot(_ a: [Double], _ b: [Double]) -> Double {
        var s0 = 0.0, s1 = 0.0
        var i = 0
        while i + 2 <= a.count { s0 += a[i] * b[i]; s1 += a[i + 1] * b[i + 1]; i += 2 }
        if i < a.count { s0 += a[i] * b[i] }
        return s0 + s1
    }
}

/// Exact ranking of long float64 vectors for RSA's rank correlations: a radix sort on the values' bit
/// patterns (no comparisons of doubles, no closures), average ranks for Spearman, dense ranks and an
/// inversion count for Kendall's tau-a (Knight 1966). Ties are exact: equal values have equal keys.
#if canImport(Glibc)
import Glibc
#endif

enum RankSort {

    /// A key whose unsigned order is the numeric order of v: the IEEE-754 bits with the sign bit set for
    /// v >= 0 and every bit flipped for v < 0. -0 is folded to +0 first, so equal values have equal keys.
    /// (NaN is excluded by the callers.)
    @inline(__always)
    static func key(_ v: Double) -> UInt64 {
        let b = (v + 0).bitPattern
        return b >> 63 != 0 ? ~b : b | (1 << 63)
    }

    /// `count` uninitialised values for a large working buffer: 2 MiB aligned and advised to use
    /// transparent huge pages (MADV_HUGEPAGE), since the sorts scatter over the whole buffer and 4 KiB
    /// pages would make most writes a TLB miss. Throws LaminaError(.outOfMemory) naming `what`.
    static func allocate<T>(_ count: Int, _ what: @autoclosure () -> String) throws -> UnsafeMutablePointer<T> {
        let (bytes, overflow) = max(count, 1).multipliedReportingOverflow(by: MemoryLayout<T>.stride)
        if count < 0 || overflow { throw LaminaError(.outOfMemory, "\(what()) would hold \(count) values, which overflows") }
        if bytes < 4 << 20 { return try Memory.allocate(count, what()) }
        var raw: UnsafeMutableRawPointer?
        if posix_memalign(&raw, 2 << 20, bytes) != 0 || raw == nil { throw Memory.outOfMemory(bytes, what()) }
        _ = madvise(raw, bytes & ~((2 << 20) - 1), MADV_HUGEPAGE)
        return raw!.bindMemory(to: T.self, capacity: max(count, 1))
    }

    /// Where the keys come from: a specialised generic (static dispatch in the hot loops).
    protocol Source {
        func key(_ i: Int) -> UInt64
    }

    /// Keys of float64 values, computed on the fly.
    struct Values: Source {
        let base: UnsafePointer<Double>
        @inline(__always) func key(_ i: Int) -> UInt64 { RankSort.key(base[i]) }
    }

    /// What is sorted: a key, possibly with the index it came from.
    protocol Item {
        var sortKey: UInt64 { get }
        init(sortKey: UInt64, index: Int)
    }

    struct KeyIndex: Item {
        var sortKey: UInt64
        var index: UInt32
        @inline(__always) init(sortKey: UInt64, index: Int) { self.sortKey = sortKey; self.index = UInt32(truncatingIfNeeded: index) }
    }

    /// Below this many items a range is finished by insertion sort.
    static let small = 48
    /// Sorts the m keys of `source` ascending into `out` (m items, uninitialised memory). Most significant
    /// digit first: one scatter pass by the top (up to 11) bits of key - min over memory, then every
    /// bucket (a few thousand items, in cache) by further 8-bit digits of key - min, down to insertion
    /// sort; digits on which a range is constant are skipped, so narrow ranges of values cost no passes.
    /// Equal keys end adjacent, in unspecified order.
    static func sort<S: Source, T: Item>(_ source: S, count m: Int, into out: UnsafeMutablePointer<T>) throws {
        if m == 0 { return }
        var lo = UInt64.max, hi = UInt64.min
        for i in 0..<m { let k = source.key(i); lo = min(lo, k); hi = max(hi, k) }
        let range = hi &- lo
        if range == 0 {
            for i in 0..<m { (out + i).initialize(to: T(sortKey: source.key(i), index: i)) }
            return
        }
        let width = 64 - range.leadingZeroBitCount
        // Top buckets of ~4096 items on average (64 KiB of 16-byte items: L2-resident), at most 2^11.
        let topBits = min(width, max(1, min(11, (Int.bitWidth - m.leadingZeroBitCount) - 12)))
        let shift = width - topBits
        let buckets = 1 << topBits
        let start = UnsafeMutablePointer<Int>.allocate(capacity: buckets + 1)
        let fill = UnsafeMutablePointer<Int>.allocate(capacity: buckets)
        defer { start.deallocate(); fill.deallocate() }
        start.initialize(repeating: 0, count: buckets + 1)
        for i in 0..<m { start[Int((source.key(i) &- lo) &>> UInt64(shift)) + 1] += 1 }
        for b in 0..<buckets { start[b + 1] += start[b] }
        fill.initialize(from: start, count: buckets)
        for i in 0..<m {
            let k = source.key(i)
            let b = Int((k &- lo) &>> UInt64(shift))
            (out + fill[b]).initialize(to: T(sortKey: k, index: i))
            fill[b] += 1
        }
        if shift == 0 { return }
        // The in-cache phase, bucket by bucket, with one scratch as large as the largest bucket.
        var largest = 0
        for b in 0..<buckets { largest = max(largest, start[b + 1] - start[b]) }
        let scratch: UnsafeMutablePointer<T> = try allocate(largest, "the sorting scratch of an RDM")
        defer { Memory.free(scratch) }
        for b in 0..<buckets { sortRange(out + start[b], scratch, start[b + 1] - start[b], shift, lo) }
    }

    /// Sorts a[0..<n], whose keys agree above their `bits` low bits of key - lo, using tmp (n items).
    static func sortRange<T: Item>(_ a: UnsafeMutablePointer<T>, _ tmp: UnsafeMutablePointer<T>, _ n: Int,
                                   _ bits: Int, _ lo: UInt64) {
        if n <= small { insertionSort(a, n); return }
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * 257) { buffer in
            let count = buffer.baseAddress!, pos = count + 257
            var bits = bits
            while bits > 0 {
                let digitBits = min(8, bits), shift = UInt64(bits - digitBits)
                let mask = UInt64((1 << digitBits) - 1)
                let digits = 1 << digitBits
                count.update(repeating: 0, count: digits + 1)
                for i in 0..<n { count[Int(((a[i].sortKey &- lo) &>> shift) & mask) + 1] += 1 }
                bits -= digitBits
                var constant = false
                for d in 1...digits where count[d] == n { constant = true; break }
                if constant { continue }
                for d in 0..<digits { count[d + 1] += count[d] }
                pos.update(from: count, count: digits)
                for i in 0..<n {
                    let item = a[i]
                    let d = Int(((item.sortKey &- lo) &>> shift) & mask)
                    tmp[pos[d]] = item
                    pos[d] += 1
                }
                a.update(from: tmp, count: n)
                if bits == 0 { return }
                for d in 0..<digits {
                    let s = count[d], c = count[d + 1] - s
                    if c > 1 { sortRange(a + s, tmp + s, c, bits, lo) }
                }
                return
            }
        }
    }

    @inline(__always)
    static func insertionSort<T: Item>(_ a: UnsafeMutablePointer<T>, _ n: Int) {
        if n < 2 { return }
        for i in 1..<n {
            let x = a[i], k = x.sortKey
            var j = i
            while j > 0 && a[j - 1].sortKey > k { a[j] = a[j - 1]; j -= 1 }
            a[j] = x
        }
    }

    /// Calls body(start, end) for every run of equal keys of the sorted items, in order.
    @inline(__always)
    static func forEachRun<T: Item>(_ a: UnsafePointer<T>, _ m: Int, _ body: (Int, Int) -> Void) {
        var i = 0
        while i < m {
            let k = a[i].sortKey
            var j = i + 1
            while j < m && a[j].sortKey == k { j += 1 }
            body(i, j)
            i = j
        }
    }

    /// Spearman's pieces of one vector: dev[i] = 2 r_i - (m + 1) for the 1-based average rank r_i (ties
    /// share the mean of the ranks they span, scipy.stats.rankdata "average"); returns sum of dev^2.
    static func rankDeviations<S: Source>(_ source: S, count m: Int, into dev: UnsafeMutablePointer<Int32>) throws -> Double {
        let items: UnsafeMutablePointer<KeyIndex> = try allocate(m, "the sorted values of an RDM")
        defer { Memory.free(items) }
        try sort(source, count: m, into: items)
        var squares = 0.0
        forEachRun(items, m) { i, j in
            // ranks i + 1 ... j: twice their mean is i + 1 + j.
            let d = Int32(i + j - m)
            for t in i..<j { dev[Int(items[t].index)] = d }
            squares += Double(j - i) * (Double(d) * Double(d))
        }
        return squares
    }

    /// sum_i a[i] b[i] of two Int32 vectors (float64 accumulation; each product is exact).
    static func dot(_ a: UnsafePointer<Int32>, _ b: UnsafePointer<Int32>, _ m: Int) -> Double {
        var s0 = SIMD8<Double>(), s1 = SIMD8<Double>()
        var i = 0
        while i + 16 <= m {
            let a0 = SIMD8<Double>(UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Int32>.self))
            let b0 = SIMD8<Double>(UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Int32>.self))
            let a1 = SIMD8<Double>(UnsafeRawPointer(a + i + 8).loadUnaligned(as: SIMD8<Int32>.self))
            let b1 = SIMD8<Double>(UnsafeRawPointer(b + i + 8).loadUnaligned(as: SIMD8<Int32>.self))
            s0.addProduct(a0, b0); s1.addProduct(a1, b1)
            i += 16
        }
        var tail = 0.0
        while i < m { tail += Double(a[i]) * Double(b[i]); i += 1 }
        return (s0 + s1).sum() + tail
    }

    /// Spearman's rho of two vectors given as key sources: the Pearson correlation of their average
    /// ranks, computed from the exact integer deviations 2 r - (m + 1) (their mean is 0). The two
    /// rankings run as two tasks. Returns nil when a ranking is constant (naming which one via `which`).
    static func spearman<S: Source>(_ a: S, _ b: S, count m: Int) throws -> (rho: Double, constant: Int?) {
        let dev: UnsafeMutablePointer<Int32> = try allocate(2 * m, "the ranks of two RDMs")
        defer { Memory.free(dev) }
        var squares = [0.0, 0.0]
        var failure: [Error?] = [nil, nil]
        squares.withUnsafeMutableBufferPointer { sq in
            failure.withUnsafeMutableBufferPointer { fail in
                let sp = sq.baseAddress!, fp = fail.baseAddress!
                Parallel.forEachTask(2) { t in
                    do { sp[t] = try rankDeviations(t == 0 ? a : b, count: m, into: dev + t * m) } catch { fp[t] = error }
                }
            }
        }
        if let error = failure[0] ?? failure[1] { throw error }
        if squares[0] == 0 { return (0, 0) }
        if squares[1] == 0 { return (0, 1) }
        let cross = dot(dev, dev + m, m)
        return (min(1, max(-1, cross / (squares[0] * squares[1]).squareRoot())), nil)
    }

    /// Dense ranks (0-based ranks of the distinct values) into dense; returns the number of distinct
    /// values and the number of tied pairs sum t (t - 1) / 2 over the groups of equal values.
    static func denseRanks<S: Source>(_ source: S, count m: Int, into dense: UnsafeMutablePointer<UInt32>) throws -> (distinct: Int, ties: Int) {
        let items: UnsafeMutablePointer<KeyIndex> = try allocate(m, "the sorted values of an RDM")
        defer { Memory.free(items) }
        try sort(source, count: m, into: items)
        var distinct = 0, ties = 0
        forEachRun(items, m) { i, j in
            let r = UInt32(distinct)
            for t in i..<j { dense[Int(items[t].index)] = r }
            ties += (j - i) * (j - i - 1) / 2
            distinct += 1
        }
        return (distinct, ties)
    }

    /// Kendall's tau-a = (concordant - discordant) / (m (m - 1) / 2), tied pairs counting as neither, by
    /// Knight's O(m log m) algorithm as scipy.stats.kendalltau and rsatoolbox compute it: order the pairs
    /// by (a, b), count the strict inversions of b in that order (the discordant pairs), and
    /// con - dis = total - ties(a) - ties(b) + ties(a and b) - 2 dis. One task sorts a, the other gives
    /// b's dense ranks; b's ranks are gathered in a's order and sorted inside each run of equal a.
    /// Exact integer counts.
    static func kendallTauA<S: Source>(_ a: S, _ b: S, count m: Int) throws -> Double {
        let items: UnsafeMutablePointer<KeyIndex> = try allocate(m, "the sorted values of the first RDM")
        defer { Memory.free(items) }
        // [0, m): b's dense ranks, later the merge scratch; [m, 2m): b's ranks in (a, b) order.
        let dense: UnsafeMutablePointer<UInt32> = try allocate(2 * m, "the ranks of the second RDM")
        defer { Memory.free(dense) }
        var bTies = 0
        var failure: [Error?] = [nil, nil]
        failure.withUnsafeMutableBufferPointer { fail in
            let fp = fail.baseAddress!
            withUnsafeMutablePointer(to: &bTies) { bt in
                Parallel.forEachTask(2) { t in
                    do {
                        if t == 0 { try sort(a, count: m, into: items) } else { bt.pointee = try denseRanks(b, count: m, into: dense).ties }
                    } catch { fp[t] = error }
                }
            }
        }
        if let error = failure[0] ?? failure[1] { throw error }
        let seq = dense + m
        let halves = m >= 1 << 16 ? 2 : 1
        Parallel.forEachTask(halves) { h in
            for k in (m * h / halves)..<(m * (h + 1) / halves) { seq[k] = dense[Int(items[k].index)] }
        }
        var aTies = 0, jointTies = 0
        forEachRun(items, m) { i, j in
            if j - i < 2 { return }
            aTies += (j - i) * (j - i - 1) / 2
            var run = UnsafeMutableBufferPointer(start: seq + i, count: j - i)
            run.sort()
            var k = 0
            while k < run.count {
                var l = k + 1
                while l < run.count && run[l] == run[k] { l += 1 }
                jointTies += (l - k) * (l - k - 1) / 2
                k = l
            }
        }
        let discordant = inversions(seq, m, scratch: dense)
        let total = m * (m - 1) / 2
        let conMinusDis = total - aTies - bTies + jointTies - 2 * discordant
        return min(1, max(-1, Double(conMinusDis) / Double(total)))
    }

    /// Number of pairs i < j with v[i] > v[j] (strict), by merge sort (v is left partly sorted): fixed
    /// chunks sorted with counting in parallel, merged pairwise, and the last two halves only counted.
    static func inversions(_ v: UnsafeMutablePointer<UInt32>, _ m: Int, scratch: UnsafeMutablePointer<UInt32>) -> Int {
        let chunks = m >= 1 << 16 ? 8 : 1
        let bound = { (k: Int) in m * k / chunks }
        var counts = [Int](repeating: 0, count: chunks)
        counts.withUnsafeMutableBufferPointer { cp in
            let c = cp.baseAddress!
            Parallel.forEachTask(chunks) { k in
                let lo = bound(k), hi = bound(k + 1)
                c[k] = sortCounting(v + lo, scratch + lo, hi - lo)
            }
            var width = 1
            while 2 * width < chunks {
                let pairs = chunks / (2 * width)
                Parallel.forEachTask(pairs) { p in
                    let lo = bound(2 * p * width), mid = bound((2 * p + 1) * width), hi = bound((2 * p + 2) * width)
                    c[2 * p * width] += c[(2 * p + 1) * width] + merge(v, scratch, lo, mid, hi)
                    c[(2 * p + 1) * width] = 0
                    (v + lo).update(from: scratch + lo, count: hi - lo)
                }
                width *= 2
            }
        }
        var total = counts.reduce(0, +)
        if chunks > 1 {
            // The two sorted halves: count only.
            let mid = bound(chunks / 2)
            var p = 0
            for q in mid..<m {
                let y = v[q]
                while p < mid && v[p] <= y { p += 1 }
                total += mid - p
            }
        }
        return total
    }

    /// Merges the sorted runs L = src[lo..<mid] and R = src[mid..<hi] into dst[lo..<hi]; returns the
    /// pairs (l in L, r in R) with l > r. Branch-free, from both ends at once (two independent
    /// dependency chains): the front takes the first ceil(n/2) outputs, counting for each r it takes the
    /// l not yet taken (all > r); the back takes the rest, counting for each l it takes the r not taken by
    /// the back (all < l). Ties go to L first at the front and R first at the back, so the two agree on
    /// one merged order; the pairs (l taken by the back, r taken by the front) are counted by both and
    /// subtracted once.
    @inline(__always)
    static func merge(_ src: UnsafePointer<UInt32>, _ dst: UnsafeMutablePointer<UInt32>, _ lo: Int, _ mid: Int, _ hi: Int) -> Int {
        if lo == mid || mid == hi {
            dst.advanced(by: lo).update(from: src + lo, count: hi - lo)
            return 0
        }
        let n = hi - lo
        var p = lo, q = mid, pe = mid - 1, qe = hi - 1
        var front = 0, back = 0, backL = 0
        @inline(__always) func frontStep(_ o: Int) {
            let x = src[p]                       // p == mid reads R[0]: in bounds, not used
            let y = src[q < hi ? q : hi - 1]
            let takeR = (q < hi ? 1 : 0) & ((p == mid ? 1 : 0) | (y < x ? 1 : 0))
            let select = UInt32(truncatingIfNeeded: 0 &- takeR)
            dst[o] = (y & select) | (x & ~select)
            front &+= takeR &* (mid &- p)
            q &+= takeR
            p &+= 1 &- takeR
        }
        var k = 0
        while k < n / 2 {
            frontStep(lo + k)
            let xe = src[pe >= lo ? pe : lo]
            let ye = src[qe]                     // qe == mid - 1 reads L's last: in bounds, not used
            let takeL = (pe >= lo ? 1 : 0) & ((qe < mid ? 1 : 0) | (xe > ye ? 1 : 0))
            let select = UInt32(truncatingIfNeeded: 0 &- takeL)
            dst[hi - 1 - k] = (xe & select) | (ye & ~select)
            back &+= takeL &* (qe &- mid &+ 1)
            backL &+= takeL
            pe &-= takeL
            qe &-= 1 &- takeL
            k += 1
        }
        if n % 2 == 1 { frontStep(lo + k) }
        return front + back - backL * (q - mid)
    }

    /// Sorts a[0..<n] (result in a) with tmp as scratch; returns its inversions. Insertion sort of runs
    /// of 16 (counting the moves), then bottom-up merges.
    static func sortCounting(_ a: UnsafeMutablePointer<UInt32>, _ tmp: UnsafeMutablePointer<UInt32>, _ n: Int) -> Int {
        var count = 0
        let run = 16
        var s = 0
        while s < n {
            let e = min(n, s + run)
            var i = s + 1
            while i < e {
                let x = a[i]
                var j = i
                while j > s && a[j - 1] > x { a[j] = a[j - 1]; j -= 1 }
                a[j] = x
                count += i - j
                i += 1
            }
            s = e
        }
        var src = a, dst = tmp
        var width = run
        while width < n {
            var lo = 0
            while lo < n {
                let mid = min(lo + width, n), hi = min(lo + 2 * width, n)
                count += merge(src, dst, lo, mid, hi)
                lo = hi
            }
            swap(&src, &dst)
            width *= 2
        }
        if src != a { a.update(from: src, count: n) }
        return count
    }
}

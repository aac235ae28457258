#if canImport(Glibc)
import Glibc
#endif

/// HDBSCAN* (Campello, Moulavi & Sander 2013; Campello et al. 2015) computed as scikit-learn's
/// `sklearn.cluster.HDBSCAN` (>= 1.3) computes it with the Euclidean metric, alpha = 1,
/// cluster_selection_method = "eom", allow_single_cluster = False, cluster_selection_epsilon = 0:
///   core_k(i)   = distance from i to its k-th nearest row, the row itself counted first (k = min_samples,
///                 scikit-learn's convention; the `hdbscan` package's min_samples is k - 1)
///   mreach(i,j) = max(core_k(i), core_k(j), ||x_i - x_j||)
///   MST of the dense mutual-reachability graph by Prim (one row of distances at a time: O(n) memory,
///   O(n^2 d) time), its edges sorted by weight (stable), merged by union-find into the single-linkage
///   tree (scipy layout: node n + i is the i-th merge), condensed with min_cluster_size (scikit-learn's
///   `_condense_tree`, breadth-first, same row order), stability of cluster c
///   S(c) = sum over rows with parent c of (lambda - lambda_birth(c)) * size, excess-of-mass selection
///   (root excluded), labels by union-find over the condensed tree (-1 noise, clusters numbered in
///   increasing node id). Every distance and lambda in float64.
package enum HDBSCAN {
    /// One row of the condensed tree: node ids are scikit-learn's (points 0..<n, clusters n, n + 1, ...,
    /// the root is n), lambda = 1 / distance (+inf at distance 0).
    package struct CondensedRow: Equatable, Sendable {
        package var parent: Int
        package var child: Int
        package var lambda: Double
        package var size: Int
    }

    package struct Result: Sendable {
        /// n labels, -1 noise.
        package var labels: [Int32]
        package var tree: [CondensedRow]
        /// Stability of cluster node n + r at index r (scikit-learn's `_compute_stability`, before selection).
        package var stability: [Double]
        /// Single-linkage tree: merge i joins left[i] and right[i] at distance[i] (scipy layout).
        package var left: [Int]
        package var right: [Int]
        package var distance: [Double]
        package var mergedSize: [Int]
    }

    package static func check(rows n: Int, minClusterSize: Int, minSamples: Int) throws {
        if minClusterSize < 2 {
            throw LaminaError.invalid("min_cluster_size is \(minClusterSize); expected >= 2")
        }
        if minSamples < 1 { throw LaminaError.invalid("min_samples is \(minSamples); expected >= 1 (0 in the C API means min_cluster_size)") }
        if minSamples > n {
            throw LaminaError.invalid("min_samples is \(minSamples) but there are \(n) rows; expected min_samples <= n (scikit-learn's rule)")
        }
        if n < 2 { throw LaminaError.invalid("n is \(n); HDBSCAN needs at least 2 rows") }
    }

    /// x: n x d row-major float64 (finite, validated by the caller).
    package static func fit(_ x: UnsafeBufferPointer<Double>, rows n: Int, cols d: Int, minClusterSize: Int,
                            minSamples: Int) throws -> Result {
        try check(rows: n, minClusterSize: minClusterSize, minSamples: minSamples)
        let core = coreDistances(x, rows: n, cols: d, k: minSamples)
        let mst = prim(x, rows: n, cols: d, core: core)
        var result = singleLinkage(mst, rows: n)
        result.tree = condense(left: result.left, right: result.right, distance: result.distance,
                               size: result.mergedSize, rows: n, minClusterSize: minClusterSize)
        result.stability = stability(result.tree, rows: n)
        result.labels = labels(result.tree, stability: result.stability, rows: n)
        return result
    }

    /// Rows in column-major order (column c of row j at c * n + j), so that the distance from one row to
    /// every row is d vectorisable passes; each distance is still the sequential sum over c of
    /// (a_c - b_c)^2, as scikit-learn's Euclidean DistanceMetric and KDTree compute it (same rounding, so
    /// the same ties).
    static func columnMajor(_ x: UnsafeBufferPointer<Double>, rows n: Int, cols d: Int)
        -> UnsafeMutableBufferPointer<Double> {
        let cols = UnsafeMutableBufferPointer<Double>.allocate(capacity: n * d)
        for j in 0..<n { for c in 0..<d { cols[c * n + j] = x[j * d + c] } }
        return cols
    }

    /// out[p] = sum over c of (cols[c * stride + p] - xi[c])^2 for p in 0..<count.
    @inline(__always)
    static func squaredDistances(from xi: UnsafePointer<Double>, to cols: UnsafePointer<Double>, stride: Int,
                                 count: Int, cols d: Int, into out: UnsafeMutablePointer<Double>) {
        let x0 = xi[0]
        for p in 0..<count { let u = cols[p] - x0; out[p] = u * u }
        for c in 1..<max(d, 1) {
            let xc = xi[c], col = cols + c * stride
            for p in 0..<count { let u = col[p] - xc; out[p] += u * u }
        }
    }

    /// k-th smallest distance from each row to every row (itself included, distance 0); rows in parallel
    /// chunks, one scratch row per chunk. For k up to `heapLimit`, a bounded max-heap of the k smallest
    /// squared distances rejects almost every row with one comparison; larger k use quickselect.
    static func coreDistances(_ x: UnsafeBufferPointer<Double>, rows n: Int, cols d: Int, k: Int) -> [Double] {
        let base = x.baseAddress!
        let cols = columnMajor(x, rows: n, cols: d)
        defer { cols.deallocate() }
        let heapLimit = 64
        let parts = Parallel.mapChunks(count: n, chunk: 64) { range -> [Double] in
            let row = UnsafeMutableBufferPointer<Double>.allocate(capacity: n)
            let heap = UnsafeMutableBufferPointer<Double>.allocate(capacity: min(k, heapLimit))
            defer { row.deallocate(); heap.deallocate() }
            var out = [Double]()
            out.reserveCapacity(range.count)
            for i in range {
                squaredDistances(from: base + i * d, to: cols.baseAddress!, stride: n, count: n, cols: d,
                                 into: row.baseAddress!)
                out.append(sqrt(k <= heapLimit ? kthSmallestByHeap(row, k: k, heap: heap) : select(row, k - 1)))
            }
            return out
        }
        return parts.flatMap { $0 }
    }

    /// The k-th smallest of `values`, through a max-heap of size k in `heap`.
    static func kthSmallestByHeap(_ values: UnsafeMutableBufferPointer<Double>, k: Int,
                                  heap: UnsafeMutableBufferPointer<Double>) -> Double {
        for j in 0..<k {
            var c = j
            let v = values[j]
            while c > 0 {
                let p = (c - 1) / 2
                if heap[p] >= v { break }
                heap[c] = heap[p]; c = p
            }
            heap[c] = v
        }
        var top = heap[0]
        let base = values.baseAddress!, count = values.count
        var j = k
        while j < count {
            // Four at a time: almost every block is rejected by one vector comparison.
            if j + 4 <= count {
                let block = UnsafeRawPointer(base + j).loadUnaligned(as: SIMD4<Double>.self)
                if !any(block .< SIMD4(repeating: top)) { j += 4; continue }
            }
            let v = values[j]
            j += 1
            if !(v < top) { continue }
            var p = 0
            while true {
                var c = 2 * p + 1
                if c >= k { break }
                if c + 1 < k && heap[c + 1] > heap[c] { c += 1 }
                if heap[c] <= v { break }
                heap[p] = heap[c]; p = c
            }
            heap[p] = v
            top = heap[0]
        }
        return top
    }

    /// The k-th smallest (0-based) of `values` (reordered in place), quickselect with median-of-three.
    static func select(_ values: UnsafeMutableBufferPointer<Double>, _ k: Int) -> Double {
        var lo = 0, hi = values.count - 1
        while lo < hi {
            let mid = lo + (hi - lo) / 2
            if values[mid] < values[lo] { values.swapAt(mid, lo) }
            if values[hi] < values[lo] { values.swapAt(hi, lo) }
            if values[hi] < values[mid] { values.swapAt(hi, mid) }
            let pivot = values[mid]
            var i = lo, j = hi
            while i <= j {
                while values[i] < pivot { i += 1 }
                while values[j] > pivot { j -= 1 }
                if i <= j { values.swapAt(i, j); i += 1; j -= 1 }
            }
            if k <= j { hi = j } else if k >= i { lo = i } else { return values[k] }
        }
        return values[k]
    }

    /// Prim's algorithm on the implicit dense mutual-reachability graph, started at row 0, with
    /// scikit-learn's `mst_from_data_matrix` scan order and tie rules (so the same edges in the same order):
    /// each step updates best[j] = m_j when m_j = max(core(current), core(j), ||x_current - x_j||) < best[j]
    /// and adds the first row (in row order) of smallest best[j]. The rows not yet in the tree are kept
    /// in row order (column-major), so a step is a few branch-free vector passes over them; a row that
    /// joins the tree is made inert (core and best +inf: never updated, never the minimum) and the arrays
    /// are compacted once a fifth of them is inert (O(n d) moved in all, not per step).
    /// Returns n - 1 edges (source, new, weight).
    static func prim(_ x: UnsafeBufferPointer<Double>, rows n: Int, cols d: Int, core: [Double])
        -> [(Int, Int, Double)] {
        let base = x.baseAddress!
        let cols = columnMajor(x, rows: n, cols: d)
        let coreLeft = UnsafeMutableBufferPointer<Double>.allocate(capacity: n)
        let best = UnsafeMutableBufferPointer<Double>.allocate(capacity: n)
        let distance = UnsafeMutableBufferPointer<Double>.allocate(capacity: n)
        // Sources as doubles (exact below 2^53) so that the step's blend uses one mask type.
        let source = UnsafeMutableBufferPointer<Double>.allocate(capacity: n)
        let row = UnsafeMutableBufferPointer<Int>.allocate(capacity: n)
        let inTree = UnsafeMutableBufferPointer<Bool>.allocate(capacity: n)
        defer {
            cols.deallocate(); coreLeft.deallocate(); best.deallocate(); distance.deallocate()
            source.deallocate(); row.deallocate(); inTree.deallocate()
        }
        inTree.initialize(repeating: false)
        _ = coreLeft.initialize(from: core)
        best.initialize(repeating: .infinity); source.initialize(repeating: 1)
        for j in 0..<n { row[j] = j }
        var size = n, inert = 0
        // Drops the inert positions from every per-row array, keeping row order.
        func compact() {
            var w = 0
            for p in 0..<size where !inTree[row[p]] {
                if w != p {
                    for c in 0..<d { cols[c * n + w] = cols[c * n + p] }
                    coreLeft[w] = coreLeft[p]; best[w] = best[p]; source[w] = source[p]; row[w] = row[p]
                }
                w += 1
            }
            size = w; inert = 0
        }
        func retire(_ q: Int) {
            inTree[row[q]] = true; coreLeft[q] = .infinity; best[q] = .infinity; inert += 1
            if inert * 5 > size { compact() }
        }
        var edges: [(Int, Int, Double)] = []
        edges.reserveCapacity(n - 1)
        var current = 0
        retire(0)
        for _ in 0..<(n - 1) {
            let cc = core[current]
            squaredDistances(from: base + current * d, to: cols.baseAddress!, stride: n, count: size, cols: d,
                             into: distance.baseAddress!)
            let q = relax(from: current, core: cc, count: size, coreLeft: coreLeft.baseAddress!,
                          distance: distance.baseAddress!, best: best.baseAddress!, source: source.baseAddress!)
            let value = best[q]
            edges.append((Int(source[q]), row[q], value))
            current = row[q]
            retire(q)
        }
        return edges
    }

    /// One Prim step over `count` positions: best[p] = m_p and source[p] = current where
    /// m_p = max(core, coreLeft[p], sqrt(distance[p])) < best[p]; returns the first position of the smallest
    /// best (the strict-< scan's choice). Four lanes at a time.
    @inline(__always)
    static func relax(from current: Int, core cc: Double, count: Int, coreLeft: UnsafeMutablePointer<Double>,
                      distance: UnsafeMutablePointer<Double>, best: UnsafeMutablePointer<Double>,
                      source: UnsafeMutablePointer<Double>) -> Int {
        typealias V = SIMD4<Double>
        let ccv = V(repeating: cc), currentv = V(repeating: Double(current))
        var lowest = V(repeating: .infinity)
        var p = 0
        while p + 4 <= count {
            let m = SIMDOps.max(SIMDOps.max(ccv, UnsafeRawPointer(coreLeft + p).loadUnaligned(as: V.self)),
                                UnsafeRawPointer(distance + p).loadUnaligned(as: V.self).squareRoot())
            var b = UnsafeRawPointer(best + p).loadUnaligned(as: V.self)
            let better = m .< b
            b.replace(with: m, where: better)
            var src = UnsafeRawPointer(source + p).loadUnaligned(as: V.self)
            src.replace(with: currentv, where: better)
            UnsafeMutableRawPointer(best + p).storeBytes(of: b, as: V.self)
            UnsafeMutableRawPointer(source + p).storeBytes(of: src, as: V.self)
            lowest = SIMDOps.min(lowest, b)
            p += 4
        }
        var value = lowest.min()
        while p < count {
            let m = max(max(cc, coreLeft[p]), distance[p].squareRoot())
            if m < best[p] { best[p] = m; source[p] = Double(current) }
            value = min(value, best[p])
            p += 1
        }
        var q = 0
        while best[q] != value { q += 1 }
        return q
    }

    /// Single-linkage tree from the MST: edges sorted by weight (stable), merged by union-find.
    static func singleLinkage(_ edges: [(Int, Int, Double)], rows n: Int) -> Result {
        let order = edges.indices.sorted { edges[$0].2 < edges[$1].2 || (edges[$0].2 == edges[$1].2 && $0 < $1) }
        var parent = [Int](repeating: -1, count: 2 * n - 1)
        var size = [Int](repeating: 1, count: 2 * n - 1)
        func find(_ v: Int) -> Int {
            var r = v
            while parent[r] >= 0 { r = parent[r] }
            var c = v
            while parent[c] >= 0 { let next = parent[c]; parent[c] = r; c = next }
            return r
        }
        var left = [Int](), right = [Int](), dist = [Double](), merged = [Int]()
        left.reserveCapacity(n - 1); right.reserveCapacity(n - 1); dist.reserveCapacity(n - 1); merged.reserveCapacity(n - 1)
        for (i, e) in order.enumerated() {
            let a = find(edges[e].0), b = find(edges[e].1)
            let node = n + i
            left.append(a); right.append(b); dist.append(edges[e].2); merged.append(size[a] + size[b])
            parent[a] = node; parent[b] = node; size[node] = size[a] + size[b]
        }
        return Result(labels: [], tree: [], stability: [], left: left, right: right, distance: dist, mergedSize: merged)
    }

    /// Breadth-first order of the subtree of `root` in the single-linkage tree (scikit-learn's
    /// bfs_from_hierarchy).
    static func bfs(_ root: Int, left: [Int], right: [Int], rows n: Int) -> [Int] {
        var result: [Int] = [], queue = [root]
        while !queue.isEmpty {
            result.append(contentsOf: queue)
            var next: [Int] = []
            for node in queue where node >= n { next.append(left[node - n]); next.append(right[node - n]) }
            queue = next
        }
        return result
    }

    /// scikit-learn's `_condense_tree`, row for row.
    package static func condense(left: [Int], right: [Int], distance: [Double], size: [Int], rows n: Int,
                                 minClusterSize mcs: Int) -> [CondensedRow] {
        let root = 2 * (n - 1)
        var relabel = [Int](repeating: 0, count: root + 1)
        relabel[root] = n
        var nextLabel = n + 1
        var ignore = [Bool](repeating: false, count: root + 1)
        var rows: [CondensedRow] = []
        rows.reserveCapacity(n + 2 * (n / mcs + 1))
        func count(_ node: Int) -> Int { node >= n ? size[node - n] : 1 }
        func dropAll(_ sub: Int, parent p: Int, _ lambda: Double) {
            for s in bfs(sub, left: left, right: right, rows: n) {
                if s < n { rows.append(CondensedRow(parent: p, child: s, lambda: lambda, size: 1)) }
                ignore[s] = true
            }
        }
        for node in bfs(root, left: left, right: right, rows: n) {
            if ignore[node] || node < n { continue }
            let l = left[node - n], r = right[node - n], dist = distance[node - n]
            let lambda = dist > 0 ? 1.0 / dist : Double.infinity
            let lc = count(l), rc = count(r)
            let p = relabel[node]
            if lc >= mcs && rc >= mcs {
                relabel[l] = nextLabel; nextLabel += 1
                rows.append(CondensedRow(parent: p, child: relabel[l], lambda: lambda, size: lc))
                relabel[r] = nextLabel; nextLabel += 1
                rows.append(CondensedRow(parent: p, child: relabel[r], lambda: lambda, size: rc))
            } else if lc < mcs && rc < mcs {
                dropAll(l, parent: p, lambda)
                dropAll(r, parent: p, lambda)
            } else if lc < mcs {
                relabel[r] = p
                dropAll(l, parent: p, lambda)
            } else {
                relabel[l] = p
                dropAll(r, parent: p, lambda)
            }
        }
        return rows
    }

    /// Number of cluster nodes (root included) of a condensed tree over n points.
    static func clusterCount(_ tree: [CondensedRow], rows n: Int) -> Int {
        1 + tree.reduce(0) { $0 + ($1.child >= n ? 1 : 0) }
    }

    /// scikit-learn's `_compute_stability`: entry r is cluster n + r.
    package static func stability(_ tree: [CondensedRow], rows n: Int) -> [Double] {
        let m = clusterCount(tree, rows: n)
        var birth = [Double](repeating: 0, count: m)
        for row in tree where row.child >= n { birth[row.child - n] = row.lambda }
        birth[0] = 0
        var s = [Double](repeating: 0, count: m)
        for row in tree { s[row.parent - n] += (row.lambda - birth[row.parent - n]) * Double(row.size) }
        return s
    }

    /// Excess-of-mass selection (root excluded) and labelling (scikit-learn's `_get_clusters` and
    /// `_do_labelling` with the defaults above).
    package static func labels(_ tree: [CondensedRow], stability raw: [Double], rows n: Int) -> [Int32] {
        let m = raw.count
        var stab = raw
        var children = [[Int]](repeating: [], count: m)
        for row in tree where row.child >= n { children[row.parent - n].append(row.child - n) }
        var isCluster = [Bool](repeating: true, count: m)
        isCluster[0] = false
        if m > 1 {
            for c in stride(from: m - 1, through: 1, by: -1) {
                let sub = children[c].reduce(0.0) { $0 + stab[$1] }
                if sub > stab[c] {
                    isCluster[c] = false
                    stab[c] = sub
                } else {
                    var queue = children[c]
                    while let q = queue.popLast() { isCluster[q] = false; queue.append(contentsOf: children[q]) }
                }
            }
        }
        var label = [Int32](repeating: -1, count: m)
        var next: Int32 = 0
        for c in 0..<m where isCluster[c] { label[c] = next; next += 1 }
        // Each node's selected ancestor (itself if selected), or -1: the rows come parents first
        // (breadth-first), so one pass suffices. Same labels as scikit-learn's union-find labelling.
        var owner = [Int](repeating: -1, count: n + m)   // selected cluster (node id) containing each node, or -1
        for row in tree {
            let pc = row.parent - n
            let parentOwner = isCluster[pc] ? row.parent : owner[row.parent]
            if row.child >= n {
                owner[row.child] = isCluster[row.child - n] ? row.child : parentOwner
            } else {
                owner[row.child] = parentOwner
            }
        }
        var out = [Int32](repeating: -1, count: n)
        for i in 0..<n { let o = owner[i]; out[i] = o >= 0 ? label[o - n] : -1 }
        return out
    }
}

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

    /// Sequential sum, as scikit-learn's Euclidean DistanceMetric and KDTree (same rounding, so the same
    /// ties).
    @inline(__always)
    static func squaredDistance(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ d: Int) -> Double {
        var s = 0.0
        for j in 0..<d { let u = a[j] - b[j]; s += u * u }
        return s
    }

    /// k-th smallest distance from each row to every row (itself included, distance 0); rows in parallel
    /// chunks, one scratch row per chunk.
    static func coreDistances(_ x: UnsafeBufferPointer<Double>, rows n: Int, cols d: Int, k: Int) -> [Double] {
        let base = x.baseAddress!
        let parts = Parallel.mapChunks(count: n, chunk: 64) { range -> [Double] in
            let row = UnsafeMutableBufferPointer<Double>.allocate(capacity: n)
            defer { row.deallocate() }
            var out = [Double]()
            out.reserveCapacity(range.count)
            for i in range {
                let xi = base + i * d
                for j in 0..<n { row[j] = squaredDistance(xi, base + j * d, d) }
                out.append(sqrt(select(row, k - 1)))
            }
            return out
        }
        return parts.flatMap { $0 }
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
    /// scikit-learn's `mst_from_data_matrix` scan order and tie rules (so the same edges in the same order).
    /// Returns n - 1 edges (source, new, weight).
    static func prim(_ x: UnsafeBufferPointer<Double>, rows n: Int, cols d: Int, core coreArray: [Double])
        -> [(Int, Int, Double)] {
        let base = x.baseAddress!
        let inTree = UnsafeMutableBufferPointer<Bool>.allocate(capacity: n)
        let best = UnsafeMutableBufferPointer<Double>.allocate(capacity: n)
        let source = UnsafeMutableBufferPointer<Int>.allocate(capacity: n)
        defer { inTree.deallocate(); best.deallocate(); source.deallocate() }
        inTree.initialize(repeating: false); best.initialize(repeating: .infinity); source.initialize(repeating: 1)
        var edges: [(Int, Int, Double)] = []
        edges.reserveCapacity(n - 1)
        coreArray.withUnsafeBufferPointer { core in
            var current = 0
            for _ in 0..<(n - 1) {
                inTree[current] = true
                let cc = core[current]
                let xc = base + current * d
                var newValue = Double.greatestFiniteMagnitude, from = 0, next = 0
                for j in 0..<n where !inTree[j] {
                    let known = best[j], knownSource = source[j]
                    let m = max(max(cc, core[j]), sqrt(squaredDistance(xc, base + j * d, d)))
                    if m < known {
                        best[j] = m; source[j] = current
                        if m < newValue { newValue = m; from = current; next = j }
                    } else if known < newValue {
                        newValue = known; from = knownSource; next = j
                    }
                }
                edges.append((from, next, newValue))
                current = next
            }
        }
        return edges
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

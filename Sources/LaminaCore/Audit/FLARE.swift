#if canImport(Glibc)
import Glibc
#endif

/// FLARE poisoned-sample detection (Hou et al., "Toward Universal Dataset Purification against Backdoor
/// Attacks", TIFS 2025, Algorithm 1), following the released code (BackdoorBox core/defenses/FLARE.py)
/// except where stated.
///   Aggregation ("abnormal activation"): for each BatchNorm layer l, sample i's feature is
///     a_il = min over channels c and positions p of log N(h_icp; mu_c, var_c + eps)
///   with the layer's per-channel running mean / variance (or, when none are given, the mean and the
///   biased variance of channel c over all samples and positions, as BatchNorm normalises a batch).
///   Subspace selection: for w = 0, 1, ..., L - 1 (the paper's text: exclude the deepest w layers until a
///   stable split is found; the released loop exits after w = 0 whatever happens) cluster the first
///   L - w columns, each standardised (z-score; a constant column becomes 0), with HDBSCAN
///   (min_cluster_size, min_samples; the C default min_samples = min_cluster_size + 1, the `hdbscan`
///   package's convention the released code inherits). The released code runs HDBSCAN on a 2-D UMAP
///   embedding; UMAP is stochastic and not part of Lamina, and the aggregated matrix has only L columns,
///   so HDBSCAN runs on the standardised columns directly.
///   Walk (the released find_first_large_drop): start at the condensed-tree row of largest size (first
///   such row), then up to `depth` times: among the rows whose parent is the current node take the first
///   of largest size (points count, size 1); if its lambda exceeds the current node's lambda by more
///   than xi it marks the split, else descend into it. A node without children ends the walk (the
///   released code raises there).
///   Cut: single-linkage labels at distance 1 / (lambda_split - 1e-4) (merges strictly below it; clusters
///   smaller than min_cluster_size are noise), the label with most members (noise included, ties to the
///   lowest label) is clean, every other non-noise cluster is flagged; noise is clean.
package enum FLARE {
    package struct Layer {
        package var base: UnsafePointer<Float>
        package var channels: Int
        package var positions: Int
        package var mean: [Double]?
        package var variance: [Double]?
        package init(base: UnsafePointer<Float>, channels: Int, positions: Int, mean: [Double]?, variance: [Double]?) {
            self.base = base; self.channels = channels; self.positions = positions; self.mean = mean; self.variance = variance
        }
    }

    /// n x L row-major float64 aggregated features.
    package static func aggregate(_ layers: [Layer], rows n: Int, eps: Double) throws -> [Double] {
        if !(eps >= 0) || !eps.isFinite { throw LaminaError.invalid("eps is \(eps); expected a finite value >= 0") }
        let L = layers.count
        var out = [Double](repeating: 0, count: n * L)
        let halfLog2Pi = 0.5 * log(2 * Double.pi)
        for (l, layer) in layers.enumerated() {
            let C = layer.channels, P = layer.positions, stride = C * P
            var mu = [Double](repeating: 0, count: C), v = [Double](repeating: 0, count: C)
            if let m = layer.mean, let s = layer.variance {
                mu = m; v = s
            } else {
                for i in 0..<n {
                    let row = layer.base + i * stride
                    for c in 0..<C { var t = 0.0; for p in 0..<P { t += Double(row[c * P + p]) }; mu[c] += t }
                }
                let count = Double(n * P)
                for c in 0..<C { mu[c] /= count }
                for i in 0..<n {
                    let row = layer.base + i * stride
                    for c in 0..<C {
                        var t = 0.0
                        for p in 0..<P { let u = Double(row[c * P + p]) - mu[c]; t += u * u }
                        v[c] += t
                    }
                }
                for c in 0..<C { v[c] /= count }
            }
            var inv = [Double](repeating: 0, count: C), logScale = [Double](repeating: 0, count: C)
            for c in 0..<C {
                let s = v[c] + eps
                if !(s > 0) || !s.isFinite {
                    throw LaminaError.invalid("layer \(l), channel \(c): variance + eps is \(s); expected a finite value > 0")
                }
                inv[c] = 1 / (2 * s); logScale[c] = 0.5 * log(s) + halfLog2Pi
            }
            for i in 0..<n {
                let row = layer.base + i * stride
                var lowest = Double.infinity
                for c in 0..<C {
                    let m = mu[c], a = inv[c], b = logScale[c]
                    for p in 0..<P {
                        let u = Double(row[c * P + p]) - m
                        let value = -u * u * a - b
                        if value < lowest { lowest = value }
                    }
                }
                out[i * L + l] = lowest
            }
        }
        return out
    }

    /// The first `keep` columns of an n x L matrix, each z-scored (population std; constant -> 0).
    package static func standardised(_ x: [Double], rows n: Int, cols L: Int, keep: Int) -> [Double] {
        var out = [Double](repeating: 0, count: n * keep)
        for j in 0..<keep {
            var mean = 0.0
            for i in 0..<n { mean += x[i * L + j] }
            mean /= Double(n)
            var ss = 0.0
            for i in 0..<n { let u = x[i * L + j] - mean; ss += u * u }
            let sd = (ss / Double(n)).squareRoot()
            for i in 0..<n { out[i * keep + j] = sd > 0 ? (x[i * L + j] - mean) / sd : 0 }
        }
        return out
    }

    /// The walk of the released find_first_large_drop: the row index of the split child, or nil.
    package static func walk(_ tree: [HDBSCAN.CondensedRow], xi: Double, depth: Int) -> Int? {
        guard !tree.isEmpty else { return nil }
        var start = 0
        for (r, row) in tree.enumerated() where row.size > tree[start].size { start = r }
        var current = tree[start].child
        for _ in 0..<depth {
            guard let own = tree.firstIndex(where: { $0.child == current }) else { return nil }
            let lambda = tree[own].lambda
            var best = -1
            for (r, row) in tree.enumerated() where row.parent == current {
                if best < 0 || row.size > tree[best].size { best = r }
            }
            if best < 0 { return nil }
            if tree[best].lambda - lambda > xi { return best }
            current = tree[best].child
        }
        return nil
    }

    /// scikit-learn's labelling_at_cut (TreeUnionFind with union by rank, labels in increasing root id).
    package static func labellingAtCut(left: [Int], right: [Int], distance: [Double], rows n: Int, cut: Double,
                                       minClusterSize: Int) -> [Int] {
        let total = 2 * n - 1
        var parent = Array(0..<total), rank = [Int](repeating: 0, count: total)
        func find(_ x: Int) -> Int {
            var r = x
            while parent[r] != r { r = parent[r] }
            var c = x
            while parent[c] != r { let nx = parent[c]; parent[c] = r; c = nx }
            return r
        }
        func union(_ x: Int, _ y: Int) {
            let xr = find(x), yr = find(y)
            if rank[xr] < rank[yr] { parent[xr] = yr } else if rank[xr] > rank[yr] { parent[yr] = xr } else { parent[yr] = xr; rank[xr] += 1 }
        }
        for i in 0..<(n - 1) where distance[i] < cut { union(left[i], n + i); union(right[i], n + i) }
        var root = [Int](repeating: 0, count: n), size = [Int](repeating: 0, count: total)
        for i in 0..<n { root[i] = find(i); size[root[i]] += 1 }
        var map = [Int](repeating: -2, count: total)
        var next = 0
        for r in Set(root).sorted() {
            if size[r] < minClusterSize { map[r] = -1 } else { map[r] = next; next += 1 }
        }
        return root.map { map[$0] }
    }

    package struct Detection {
        /// Whether a stable split was found for some w; when not, flags are all 0, scores NaN, w = -1.
        package var found: Bool
        package var excluded: Int
        package var lambda: Double
        package var cut: Double
        package var flags: [Int32]
        package var scores: [Double]
        /// The HDBSCAN labels of the chosen subspace (or of w = L - 1 when nothing was found).
        package var labels: [Int32]
    }

    package static func checkParameters(rows n: Int, cols L: Int, minClusterSize: Int, minSamples: Int, xi: Double,
                                        depth: Int) throws {
        if !(xi > 0) || !xi.isFinite { throw LaminaError.invalid("xi is \(xi); expected a finite value > 0") }
        if depth < 1 { throw LaminaError.invalid("depth is \(depth); expected >= 1") }
        if L < 1 { throw LaminaError.invalid("the feature matrix has \(L) columns; expected >= 1 (one per layer)") }
        if n < minClusterSize {
            throw LaminaError.invalid("n is \(n) but min_cluster_size is \(minClusterSize); expected n >= min_cluster_size")
        }
        try HDBSCAN.check(rows: n, minClusterSize: minClusterSize, minSamples: minSamples)
    }

    /// features: n x L float64, finite.
    package static func detect(_ features: [Double], rows n: Int, cols L: Int, minClusterSize: Int, minSamples: Int,
                               xi: Double, depth: Int) throws -> Detection {
        try checkParameters(rows: n, cols: L, minClusterSize: minClusterSize, minSamples: minSamples, xi: xi, depth: depth)
        var lastLabels = [Int32](repeating: -1, count: n)
        for w in 0..<L {
            let keep = L - w
            let z = standardised(features, rows: n, cols: L, keep: keep)
            let fit = try z.withUnsafeBufferPointer {
                try HDBSCAN.fit($0, rows: n, cols: keep, minClusterSize: minClusterSize, minSamples: minSamples)
            }
            lastLabels = fit.labels
            guard let split = walk(fit.tree, xi: xi, depth: depth) else { continue }
            let lambda = fit.tree[split].lambda
            let cut = 1.0 / (lambda - 1e-4)
            let labels = labellingAtCut(left: fit.left, right: fit.right, distance: fit.distance, rows: n, cut: cut,
                                        minClusterSize: minClusterSize)
            var counts: [Int: Int] = [:]
            for l in labels { counts[l, default: 0] += 1 }
            var clean = Int.min, cleanCount = -1
            for l in counts.keys.sorted() where counts[l]! > cleanCount { clean = l; cleanCount = counts[l]! }
            let flags = labels.map { Int32($0 != -1 && $0 != clean ? 1 : 0) }
            let scores = joinDistances(fit, rows: n, labels: labels, clean: clean,
                                       core: z.withUnsafeBufferPointer {
                                           HDBSCAN.coreDistances($0, rows: n, cols: keep, k: minSamples) })
            return Detection(found: true, excluded: w, lambda: lambda, cut: cut, flags: flags, scores: scores,
                             labels: fit.labels)
        }
        return Detection(found: false, excluded: -1, lambda: .nan, cut: .nan, flags: [Int32](repeating: 0, count: n),
                         scores: [Double](repeating: .nan, count: n), labels: lastLabels)
    }

    /// Score of sample i: the single-linkage (mutual-reachability) distance at which i joins the clean
    /// cluster's densest member (smallest core distance, lowest index on ties); 0 for that member. Clean
    /// samples score below the cut, flagged samples at or above it.
    static func joinDistances(_ fit: HDBSCAN.Result, rows n: Int, labels: [Int], clean: Int, core: [Double]) -> [Double] {
        var anchor = -1
        for i in 0..<n where labels[i] == clean { if anchor < 0 || core[i] < core[anchor] { anchor = i } }
        var scores = [Double](repeating: .infinity, count: n)
        if anchor < 0 { return scores }
        scores[anchor] = 0
        // members of each single-linkage node, as linked lists over points
        let total = 2 * n - 1
        var head = [Int](repeating: -1, count: total), tail = [Int](repeating: -1, count: total)
        var next = [Int](repeating: -1, count: n)
        for i in 0..<n { head[i] = i; tail[i] = i }
        var holder = [Bool](repeating: false, count: total)
        holder[anchor] = true
        for m in 0..<(n - 1) {
            let a = fit.left[m], b = fit.right[m], node = n + m
            if holder[a] != holder[b] {
                var p = holder[a] ? head[b] : head[a]
                while p >= 0 { scores[p] = fit.distance[m]; p = next[p] }
            }
            holder[node] = holder[a] || holder[b]
            next[tail[a]] = head[b]
            head[node] = head[a]; tail[node] = tail[b]
        }
        return scores
    }
}

/// k-means on CSR input: scikit-learn's sparse Lloyd (`_kmeans_single_lloyd` with
/// `lloyd_iter_chunked_sparse`) step for step, on the rows as given (no centring, as scikit-learn does
/// for sparse X), with dense float64 centers rounded to the element type after every M-step (so a
/// float32 fit keeps float32 centers like scikit-learn's). Per iteration: labels by
/// argmin_c ||c||^2 - 2 x.c (first on ties; x.c a sparse-dense product in float64), the M-step's
/// weighted sums, empty clusters relocated to the farthest points (`_relocate_empty_clusters_sparse`),
/// a cluster still empty placed at the largest cluster's center; stop when the labels did not change
/// (strict) or the squared center shift sum <= tol * mean column variance (then one more E-step).
/// Inertia: sum_i w_i ||x_i - c||^2 computed exactly per row in float64.
extension KMeans {
    /// Fits on a CSR matrix. `initialCenters` (k x d) is required for `.given`; `sampleWeight` (n
    /// finite values >= 0, not all 0) or nil for unit weights.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    package func fit<T: LaminaFloat>(_ x: CSRViewOf<T>, initialCenters: MatrixViewOf<T>? = nil, sampleWeight: [Double]? = nil) throws {
        let k = parameters.clusterCount, n = x.rows, d = x.cols
        try checkSampleCount(n)
        if parameters.initialization == .given {
            guard let given = initialCenters else { throw LaminaError.invalid("init is 'given' but no initial centers were passed") }
            if given.rows != k || given.cols != d {
                throw LaminaError.shape("init has shape (\(given.rows), \(given.cols)); expected (n_clusters, n_features) = (\(k), \(d))")
            }
        }
        try Self.checkSparseSampleWeight(sampleWeight, n)
        let (cells, overflow) = k.multipliedReportingOverflow(by: d)
        if overflow { throw LaminaError(.outOfMemory, "n_clusters x d = \(k) x \(d) overflows") }
        // centers, sums, transposed centers, a copy per run kept: about 5 k x d float64 arrays.
        try Memory.reserve(cells.multipliedReportingOverflow(by: 40).overflow ? Int.max : cells * 40,
                           "the dense centers of k-means on sparse x (\(k) x \(d) float64, a few copies)")
        let (sampleWeight, weightScale) = Self.distinctWeights(sampleWeight)
        let runs = parameters.initialization == .given ? 1 : parameters.initCount
        var rngs = generators(runs)
        let tol = parameters.tolerance == 0 ? 0 : parameters.tolerance * Self.meanColumnVariance(x)
        let columns = try plusPlusColumns(x)
        var best: (centers: [Double], labels: [Int32], iterations: Int, inertia: Double)? = nil
        for run in 0..<runs {
            let start: [Double]
            switch parameters.initialization {
            case .given:
                start = (0..<(k * d)).map { Double(initialCenters!.base[$0]) }
            case .random, .kMeansPlusPlus:
                start = Self.densify(x, rows: startRows(n, columns, sampleWeight, &rngs[run]))
            }
            let result = lloyd(x, start: start, weights: sampleWeight, tol: tol, T.self)
            if best == nil || result.inertia < best!.inertia { best = result }
        }
        let centers = best!.centers.map { T($0) }
        store(Fitted<T>(centers: centers, workingCenters: centers, workingMean: [Double](repeating: 0, count: d), workingUnit: 1,
                        frameIsInput: true))
        labels = best!.labels
        inertia = best!.inertia * weightScale
        iterations = best!.iterations
        dims = d
    }

    /// Index of the nearest fitted center for each CSR row (argmin ||c||^2 - 2 x.c in float64, first on
    /// ties) and, with `distances`, each row's exact squared distance to it.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    package func predict<T: LaminaFloat>(_ x: CSRViewOf<T>, distances: Bool = false) throws -> (labels: [Int32], squared: [Double]) {
        guard isFitted else { throw LaminaError.invalid("this KMeans instance is not fitted yet; call fit first") }
        if x.cols != dims { throw LaminaError.shape("x has \(x.cols) features; the model was fitted with \(dims)") }
        let centers = centers64
        let labels = Self.assign(x, centers, parameters.clusterCount)
        guard distances else { return (labels, []) }
        let norms = Self.centerNorms(centers, parameters.clusterCount, dims)
        var squared = [Double](repeating: 0, count: x.rows)
        centers.withUnsafeBufferPointer { c in
            squared.withUnsafeMutableBufferPointer { out in
                Parallel.forEachTask((x.rows + 4095) / 4096) { task in
                    for i in (task * 4096)..<min(x.rows, task * 4096 + 4096) {
                        let l = Int(labels[i])
                        out[i] = x.squaredDistance(i, to: c.baseAddress! + l * dims, centerNorm: norms[l])
                    }
                }
            }
        }
        return (labels, squared)
    }

    /// Euclidean distances of every CSR row to every fitted center (n x k, row-major, float64): from
    /// ||x||^2 + ||c||^2 - 2 x.c, recomputed exactly where that is within 2^-10 of ||x||^2 + ||c||^2
    /// (a row equal to a center is at exactly 0).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    package func transform<T: LaminaFloat>(_ x: CSRViewOf<T>) throws -> [Double] {
        guard isFitted else { throw LaminaError.invalid("this KMeans instance is not fitted yet; call fit first") }
        if x.cols != dims { throw LaminaError.shape("x has \(x.cols) features; the model was fitted with \(dims)") }
        let k = parameters.clusterCount, d = dims, n = x.rows
        let (cells, overflow) = n.multipliedReportingOverflow(by: k)
        try Memory.reserve(overflow || cells > Int.max / 8 ? Int.max : cells * 8, "the n x n_clusters distances (\(n) x \(k) float64)")
        let centers = centers64
        let norms = Self.centerNorms(centers, k, d)
        let transposed = Self.transposed(centers, k, d)
        let rowNorms = x.squaredNorms()
        var out = [Double](repeating: 0, count: n * k)
        centers.withUnsafeBufferPointer { c in
            transposed.withUnsafeBufferPointer { ct in
                out.withUnsafeMutableBufferPointer { o in
                    Parallel.forEachTask((n + 1023) / 1024) { task in
                        for i in (task * 1024)..<min(n, task * 1024 + 1024) {
                            let g = o.baseAddress! + i * k
                            Self.dots(x, i, ct.baseAddress!, k, into: g)
                            for m in 0..<k {
                                let base = rowNorms[i] + norms[m]
                                var v = base - 2 * g[m]
                                if v < sparseNearFraction * base { v = x.squaredDistance(i, to: c.baseAddress! + m * d, centerNorm: norms[m]) }
                                g[m] = max(v, 0).squareRoot()
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    // MARK: - Internals

    /// One Lloyd run from `start` (k x d), scikit-learn's loop (see the extension's comment).
    private func lloyd<T: LaminaFloat>(_ x: CSRViewOf<T>, start: [Double], weights: [Double]?, tol: Double, _: T.Type)
        -> (centers: [Double], labels: [Int32], iterations: Int, inertia: Double) {
        let k = parameters.clusterCount, d = x.cols, n = x.rows
        var centers = start.map { Double(T($0)) }
        var labels = [Int32](repeating: -1, count: n)
        var strict = false, iterations = 0
        var sums = [Double](repeating: 0, count: k * d), weight = [Double](repeating: 0, count: k)
        for iteration in 0..<parameters.maxIterations {
            let fresh = Self.assign(x, centers, k)
            // M-step: weighted sums in row order (deterministic).
            for t in 0..<(k * d) { sums[t] = 0 }
            for c in 0..<k { weight[c] = 0 }
            sums.withUnsafeMutableBufferPointer { s in
                for i in 0..<n {
                    let c = Int(fresh[i]), w = weights?[i] ?? 1
                    weight[c] += w
                    let dst = s.baseAddress! + c * d
                    for t in x.start(i)..<x.end(i) { dst[Int(x.indices[t])] += w * Double(x.data[t]) }
                }
            }
            if weight.contains(0) { relocateEmpty(x, fresh, centers, weights, &sums, &weight) }
            var largest = 0
            for c in 1..<max(k, 1) where weight[c] > weight[largest] { largest = c }
            var next = sums
            for c in 0..<k where weight[c] > 0 {
                let inverse = 1 / weight[c]
                for j in 0..<d { next[c * d + j] = Double(T(next[c * d + j] * inverse)) }
            }
            for c in 0..<k where !(weight[c] > 0) {
                for j in 0..<d { next[c * d + j] = next[largest * d + j] }
            }
            var shift = 0.0
            for t in 0..<(k * d) { let v = next[t] - centers[t]; shift += v * v }
            centers = next
            iterations = iteration + 1
            if fresh == labels { strict = true; break }
            labels = fresh
            if shift <= tol { break }
        }
        if !strict { labels = Self.assign(x, centers, k) }
        let norms = Self.centerNorms(centers, k, d)
        let partials = centers.withUnsafeBufferPointer { c in
            Parallel.mapChunks(count: n, chunk: 4096) { range -> Double in
                var s = 0.0
                for i in range {
                    let l = Int(labels[i])
                    s += (weights?[i] ?? 1) * x.squaredDistance(i, to: c.baseAddress! + l * d, centerNorm: norms[l])
                }
                return s
            }
        }
        return (centers, labels, iterations, partials.reduce(0, +))
    }

    /// scikit-learn's `_relocate_empty_clusters_sparse`: the empty clusters (zero weight, in index
    /// order) take the rows farthest from their own (old) centers, farthest first (ties: lower row
    /// first); each such row moves, in the M-step's sums and weights only, from its cluster to the empty
    /// one. Nothing moves when every row sits on its center.
    private func relocateEmpty<T: LaminaFloat>(_ x: CSRViewOf<T>, _ labels: [Int32], _ old: [Double], _ weights: [Double]?,
                                               _ sums: inout [Double], _ weight: inout [Double]) {
        let k = parameters.clusterCount, d = x.cols, n = x.rows
        let empty = (0..<k).filter { weight[$0] == 0 }
        if empty.isEmpty { return }
        let norms = Self.centerNorms(old, k, d)
        let far = old.withUnsafeBufferPointer { o in
            (0..<n).map { i in x.squaredDistance(i, to: o.baseAddress! + Int(labels[i]) * d, centerNorm: norms[Int(labels[i])]) }
        }
        if !(far.max()! > 0) { return }
        let chosen = KMeans.farthestRows(far, count: empty.count)
        for (slot, c) in empty.enumerated() where slot < chosen.count {
            let row = chosen[slot], from = Int(labels[row]), w = weights?[row] ?? 1
            for t in x.start(row)..<x.end(row) {
                let j = Int(x.indices[t]), v = Double(x.data[t]) * w
                sums[from * d + j] -= v
                sums[c * d + j] = v
            }
            weight[from] -= w
            weight[c] = w
        }
    }

    /// Nearest center (argmin ||c||^2 - 2 x.c, first on ties) of every row, in parallel blocks.
    static func assign<T: LaminaFloat>(_ x: CSRViewOf<T>, _ centers: [Double], _ k: Int) -> [Int32] {
        let n = x.rows, d = x.cols
        let norms = centerNorms(centers, k, d)
        let transposed = transposed(centers, k, d)
        var labels = [Int32](repeating: 0, count: n)
        labels.withUnsafeMutableBufferPointer { out in
            transposed.withUnsafeBufferPointer { ct in
                norms.withUnsafeBufferPointer { cn in
                    Parallel.forEachTask((n + 2047) / 2048) { task in
                        let g = UnsafeMutablePointer<Double>.allocate(capacity: k)
                        defer { g.deallocate() }
                        for i in (task * 2048)..<min(n, task * 2048 + 2048) {
                            dots(x, i, ct.baseAddress!, k, into: g)
                            var best = 0, bestV = cn[0] - 2 * g[0]
                            for c in 1..<max(k, 1) {
                                let v = cn[c] - 2 * g[c]
                                if v < bestV { bestV = v; best = c }
                            }
                            out[i] = Int32(best)
                        }
                    }
                }
            }
        }
        return labels
    }

    /// g[c] = x_i . center c for all k centers, from the transposed centers (d x k).
    @inline(__always)
    static func dots<T: LaminaFloat>(_ x: CSRViewOf<T>, _ i: Int, _ ct: UnsafePointer<Double>, _ k: Int, into g: UnsafeMutablePointer<Double>) {
        g.update(repeating: 0, count: k)
        for t in x.start(i)..<x.end(i) {
            let v = Double(x.data[t]), col = ct + Int(x.indices[t]) * k
            for c in 0..<k { g[c] += v * col[c] }
        }
    }

    static func centerNorms(_ centers: [Double], _ k: Int, _ d: Int) -> [Double] {
        (0..<k).map { c in var s = 0.0; for j in 0..<d { s += centers[c * d + j] * centers[c * d + j] }; return s }
    }

    static func transposed(_ centers: [Double], _ k: Int, _ d: Int) -> [Double] {
        var t = [Double](repeating: 0, count: k * d)
        for c in 0..<k { for j in 0..<d { t[j * k + c] = centers[c * d + j] } }
        return t
    }

    /// scikit-learn's `_tolerance` base for sparse X: the mean over columns of the column variances
    /// (`mean_variance_axis`: the entries' squared deviations plus the implicit zeros'), float64.
    static func meanColumnVariance<T: LaminaFloat>(_ x: CSRViewOf<T>) -> Double {
        let n = x.rows, d = x.cols
        var mean = [Double](repeating: 0, count: d), present = [Int](repeating: 0, count: d)
        for t in 0..<x.nnz { let j = Int(x.indices[t]); mean[j] += Double(x.data[t]); present[j] += 1 }
        for j in 0..<d { mean[j] /= Double(n) }
        var variance = [Double](repeating: 0, count: d)
        for t in 0..<x.nnz { let j = Int(x.indices[t]); let v = Double(x.data[t]) - mean[j]; variance[j] += v * v }
        var total = 0.0
        for j in 0..<d { total += (variance[j] + Double(n - present[j]) * mean[j] * mean[j]) / Double(n) }
        return total / Double(d)
    }

    /// sample_weight of a CSR fit: n finite values >= 0 with a positive sum, or nil (unit weights).
    static func checkSparseSampleWeight(_ sampleWeight: [Double]?, _ n: Int) throws {
        guard let w = sampleWeight else { return }
        if w.count != n { throw LaminaError.shape("sample_weight has \(w.count) entries; expected n = \(n)") }
        if let bad = w.firstIndex(where: { !($0 >= 0) || !$0.isFinite }) {
            throw LaminaError.invalid("sample_weight[\(bad)] is \(w[bad]); expected finite values >= 0")
        }
        if !(w.reduce(0, +) > 0) { throw LaminaError.invalid("sample_weight sums to 0; expected a positive total weight") }
    }

    /// Equal weights are no weights (the same draws and iterations; only the inertia scales), as
    /// scikit-learn's results are for unit or uniformly scaled weights: (nil, w) for all weights w.
    static func distinctWeights(_ sampleWeight: [Double]?) -> (weights: [Double]?, scale: Double) {
        if let w = sampleWeight, w.allSatisfy({ $0 == w[0] }) { return (nil, w[0]) }
        return (sampleWeight, 1)
    }

    /// The rows and columns k-means++ draws from (nil for the other inits).
    private func plusPlusColumns<T: LaminaFloat>(_ x: CSRViewOf<T>) throws -> SparseRowsAndColumns? {
        if parameters.initialization != .kMeansPlusPlus { return nil }
        try SparseRowsAndColumns.checkIndexable(x)
        return SparseRowsAndColumns(x, order: nil)
    }

    /// One restart's k start rows of a CSR fit (init random or k-means++; `columns` from plusPlusColumns).
    private func startRows(_ n: Int, _ columns: SparseRowsAndColumns?, _ weights: [Double]?, _ rng: inout Xoshiro256) -> [Int] {
        let k = parameters.clusterCount
        if let columns { return Self.plusPlus(columns, k, weights, &rng) }
        return Self.randomRows(n, k, weights, &rng)
    }

    /// The n_clusters rows of x that `fit(x, sampleWeight:)` (CSR) of this model starts its first
    /// restart from, in the order drawn: the same code and generator (restart 0, parameters.seed), so
    /// the fit's first start is exactly these rows. Checks as that fit does; init=given is refused.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    package func initialRows<T: LaminaFloat>(_ x: CSRViewOf<T>, sampleWeight: [Double]? = nil) throws -> [Int] {
        let n = x.rows
        try checkStartIsDrawn(n)
        try Self.checkSparseSampleWeight(sampleWeight, n)
        var rngs = generators(1)
        return startRows(n, try plusPlusColumns(x), Self.distinctWeights(sampleWeight).weights, &rngs[0])
    }

    /// The given rows as dense float64 centers (rows.count x d).
    static func densify<T: LaminaFloat>(_ x: CSRViewOf<T>, rows: [Int]) -> [Double] {
        let d = x.cols
        var out = [Double](repeating: 0, count: rows.count * d)
        for (c, i) in rows.enumerated() { for t in x.start(i)..<x.end(i) { out[c * d + Int(x.indices[t])] = Double(x.data[t]) } }
        return out
    }

    /// k distinct rows: uniformly (the dense fit's draw), or with probability proportional to the
    /// weights, without replacement.
    static func randomRows(_ n: Int, _ k: Int, _ weights: [Double]?, _ rng: inout Xoshiro256) -> [Int] {
        guard let weights else {
            var pool = Array(0..<n)
            for i in 0..<k { pool.swapAt(i, i + Int(rng.next() % UInt64(n - i))) }
            return Array(pool.prefix(k))
        }
        var taken = [Bool](repeating: false, count: n), rows: [Int] = []
        var remaining = weights.reduce(0, +)
        for _ in 0..<k {
            var pick = -1
            if remaining > 0 {
                let target = rng.nextUnit() * remaining
                var running = 0.0
                for i in 0..<n where !taken[i] && weights[i] > 0 {
                    running += weights[i]
                    pick = i
                    if running > target { break }
                }
            }
            if pick < 0 { pick = taken.firstIndex(of: false)! }   // only zero weights left
            taken[pick] = true
            remaining -= weights[pick]
            rows.append(pick)
        }
        return rows
    }

    /// Greedy k-means++ (2 + floor(ln k) candidates per step, the one lowering the potential most) on
    /// CSR rows: a candidate's squared distances to all rows from its column lists (sparse-sparse dot
    /// products), exact where they cancel. Weighted: draws proportional to w_i D(x_i)^2.
    static func plusPlus(_ m: SparseRowsAndColumns, _ k: Int, _ weights: [Double]?, _ rng: inout Xoshiro256) -> [Int] {
        let n = m.rows
        let trials = 2 + Int(log(Double(k)))
        var dots = [Double](repeating: 0, count: n)
        func distances(from c: Int, into out: inout [Double]) {
            for i in 0..<n { dots[i] = 0 }
            dots.withUnsafeMutableBufferPointer { m.scatterDots(c, into: $0.baseAddress!) }
            for i in 0..<n {
                let base = m.norms[i] + m.norms[c]
                var v = base - 2 * dots[i]
                if v < sparseNearFraction * base || i == c { v = i == c ? 0 : m.exactSquaredDistance(i, c) }
                out[i] = max(v, 0)
            }
        }
        func draw(_ mass: [Double], _ total: Double) -> Int {
            let target = rng.nextUnit() * total
            var running = 0.0
            // the first row whose cumulative mass reaches the target (the dense fit's binary search)
            for i in 0..<n { running += mass[i]; if running >= target { return i } }
            return n - 1
        }
        let w = weights ?? [Double](repeating: 1, count: n)
        var chosen = [weights == nil ? Int(rng.next() % UInt64(n)) : draw(w, w.reduce(0, +))]
        var closest = [Double](repeating: 0, count: n)
        distances(from: chosen[0], into: &closest)
        var candidate = [Double](repeating: 0, count: n), bestDistances = candidate
        for _ in 1..<max(k, 1) {
            let mass = (0..<n).map { w[$0] * closest[$0] }
            let potential = mass.reduce(0, +)
            var bestRow = -1, bestPotential = Double.infinity
            for _ in 0..<trials {
                let row = potential > 0 ? draw(mass, potential) : Int(rng.next() % UInt64(n))
                distances(from: row, into: &candidate)
                var pot = 0.0
                for i in 0..<n { pot += w[i] * min(candidate[i], closest[i]) }
                if bestRow < 0 || pot < bestPotential { bestPotential = pot; bestRow = row; swap(&bestDistances, &candidate) }
            }
            for i in 0..<n { closest[i] = min(closest[i], bestDistances[i]) }
            chosen.append(bestRow)
        }
        return chosen
    }
}

#if canImport(Glibc)
import Glibc
#endif

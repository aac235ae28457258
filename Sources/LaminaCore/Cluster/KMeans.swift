/// k-means (Lloyd's algorithm) with scikit-learn's semantics: k-means++ seeding with
/// 2 + floor(ln k) local trials (Arthur & Vassilvitskii 2007, greedy variant), or k random distinct
/// samples, or given centers; `nInit` restarts keeping the lowest inertia; convergence when the
/// assignment no longer changes or when the squared center shift sum <= tol * mean column variance;
/// empty clusters re-seeded at the points farthest from their centers. The E-step is a gemm per block of
/// rows. Deterministic for a seed, for any thread count.
public final class KMeans: @unchecked Sendable {
    public enum Initialization: Int32, Sendable { case kMeansPlusPlus = 0, random = 1, given = 2 }

    public struct Parameters: Sendable {
        public var clusterCount: Int
        public var initialization: Initialization
        public var initCount: Int
        public var maxIterations: Int
        public var tolerance: Double
        public var seed: UInt64
        public init(clusterCount: Int = 8, initialization: Initialization = .kMeansPlusPlus, initCount: Int = 1,
                    maxIterations: Int = 300, tolerance: Double = 1e-4, seed: UInt64 = 0) {
            self.clusterCount = clusterCount
            self.initialization = initialization
            self.initCount = initCount
            self.maxIterations = maxIterations
            self.tolerance = tolerance
            self.seed = seed
        }

        public func check() throws {
            if clusterCount < 1 { throw LaminaError.invalid("n_clusters is \(clusterCount); expected >= 1") }
            if initCount < 1 { throw LaminaError.invalid("n_init is \(initCount); expected >= 1") }
            if maxIterations < 1 { throw LaminaError.invalid("max_iter is \(maxIterations); expected >= 1") }
            if !(tolerance >= 0) || !tolerance.isFinite { throw LaminaError.invalid("tol is \(tolerance); expected a finite value >= 0") }
        }
    }

    public let parameters: Parameters
    public private(set) var centers: [Float] = []     // k x d
    public private(set) var labels: [Int32] = []
    public private(set) var inertia: Double = .nan
    public private(set) var iterations: Int = 0
    public private(set) var dims: Int = 0
    // The fit's working frame: centers as (c - mean) / unit, so that predict computes like fit did.
    private var workingCenters: [Float] = []
    private var workingMean: [Double] = []
    private var workingUnit = 1.0
    public var isFitted: Bool { !centers.isEmpty }

    public init(_ parameters: Parameters) throws {
        try parameters.check()
        self.parameters = parameters
    }

    /// Fits on x; `initialCenters` (k x d) is required for `.given` and ignored otherwise.
    public func fit(_ x: MatrixView, initialCenters: MatrixView? = nil) throws {
        let k = parameters.clusterCount, n = x.rows, d = x.cols
        if n < k { throw LaminaError.invalid("n_samples=\(n) should be >= n_clusters=\(k).") }
        if parameters.initialization == .given {
            guard let given = initialCenters else { throw LaminaError.invalid("init is 'given' but no initial centers were passed") }
            if given.rows != k || given.cols != d {
                throw LaminaError.shape("init has shape (\(given.rows), \(given.cols)); expected (n_clusters, n_features) = (\(k), \(d))")
            }
        }
        // Work on centred data in power-of-two units (distances unchanged up to the unit; less
        // cancellation in the gemm form; no float32 overflow or underflow whatever the data's scale).
        let mean = ColumnStats.mean(x)
        let variance = ColumnStats.std(x, mean: mean).map { $0 * $0 }
        let working = WorkingCopy(x, shift: mean)
        let unit = working.unit
        let tol = parameters.tolerance * variance.reduce(0, +) / Double(d) / (unit * unit)
        let data = working.points, norms = working.sqNorms
        var rng = Xoshiro256(seed: parameters.seed)
        let runs = parameters.initialization == .given ? 1 : parameters.initCount
        var best: (centers: [Double], labels: [Int32], inertia: Double, iterations: Int)? = nil
        for _ in 0..<runs {
            var start: [Double]
            switch parameters.initialization {
            case .kMeansPlusPlus: start = plusPlus(data, norms, k, &rng)
            case .random:
                var pool = Array(0..<n)
                for i in 0..<k { pool.swapAt(i, i + Int(rng.next() % UInt64(n - i))) }
                start = pool.prefix(k).flatMap { row in (0..<d).map { Double(data.storage[row * d + $0]) } }
            case .given:
                start = (0..<(k * d)).map { (Double(initialCenters!.base[$0]) - mean[$0 % d]) / unit }
            }
            let run = lloyd(data, norms, start, tol)
            let inertia = exactInertia(x, mean: mean, unit: unit, centers: run.centers, labels: run.labels)
            if best == nil || inertia < best!.inertia {
                best = (run.centers, run.labels, inertia, run.iterations)
            }
        }
        // A center is a mean of finite float32 values, so only rounding can push it past the largest
        // float: clamp rather than let it become infinite.
        let largest = Double(Float.greatestFiniteMagnitude)
        centers = (0..<(k * d)).map { Float(min(max(best!.centers[$0] * unit + mean[$0 % d], -largest), largest)) }
        workingCenters = best!.centers.map { Float($0) }
        workingMean = mean
        workingUnit = unit
        labels = best!.labels
        inertia = best!.inertia
        iterations = best!.iterations
        dims = d
    }

    /// Index of the nearest fitted center for each row of x (rows mapped into the fit's working frame
    /// block by block, so no magnitude can overflow the float32 gemm).
    public func predict(_ x: MatrixView) throws -> [Int32] {
        guard isFitted else { throw LaminaError.invalid("this KMeans instance is not fitted yet; call fit first") }
        if x.cols != dims { throw LaminaError.shape("x has \(x.cols) features; the model was fitted with \(dims)") }
        return assign(x, workingCenters, parameters.clusterCount, frame: (workingMean, 1 / workingUnit))
    }

    // MARK: - Internals

    private static let block = 1024

    /// argmin_c ||x - c||^2 = argmin_c (||c||^2 - 2 x.c), one gemm per block of rows. With `frame`
    /// (shift, 1/unit), each block of rows is first mapped to (x - shift) / unit.
    private func assign(_ x: MatrixView, _ centers: [Float], _ k: Int, frame: ([Double], Double)? = nil) -> [Int32] {
        let d = x.cols, n = x.rows
        var labels = [Int32](repeating: 0, count: n)
        let centerNorms = (0..<k).map { c in (0..<d).reduce(Float(0)) { $0 + centers[c * d + $1] * centers[c * d + $1] } }
        labels.withUnsafeMutableBufferPointer { out in
            centers.withUnsafeBufferPointer { cp in
                let blocks = (n + Self.block - 1) / Self.block
                Parallel.forEachTask(blocks) { b in
                    let r0 = b * Self.block, r1 = min(n, r0 + Self.block)
                    let tile = UnsafeMutablePointer<Float>.allocate(capacity: (r1 - r0) * k)
                    defer { tile.deallocate() }
                    var rows = x.row(r0)
                    var mapped: UnsafeMutablePointer<Float>? = nil
                    if let (shift, inverseUnit) = frame {
                        let m = UnsafeMutablePointer<Float>.allocate(capacity: (r1 - r0) * d)
                        for r in r0..<r1 {
                            let src = x.row(r), dst = m + (r - r0) * d
                            for j in 0..<d { dst[j] = Float((Double(src[j]) - shift[j]) * inverseUnit) }
                        }
                        mapped = m
                        rows = UnsafePointer(m)
                    }
                    defer { mapped?.deallocate() }
                    Gemm.abT(m: r1 - r0, n: k, k: d, a: rows, lda: d, b: cp.baseAddress!, ldb: d, c: tile, ldc: k)
                    for r in r0..<r1 {
                        let g = tile + (r - r0) * k
                        var bestC = 0, bestV = centerNorms[0] - 2 * g[0]
                        for c in 1..<max(k, 1) where centerNorms[c] - 2 * g[c] < bestV { bestC = c; bestV = centerNorms[c] - 2 * g[c] }
                        out[r] = Int32(bestC)
                    }
                }
            }
        }
        return labels
    }

    private func plusPlus(_ data: Matrix, _ norms: [Float], _ k: Int, _ rng: inout Xoshiro256) -> [Double] {
        let n = data.rows, d = data.cols
        let trials = 2 + Int(log(Double(k)))
        var chosen = [Int(rng.next() % UInt64(n))]
        var closest = squaredDistances(data, norms, from: chosen)[0]
        var potential = closest.reduce(0, +)
        var cumulative = [Double](repeating: 0, count: n)
        while chosen.count < k {
            // Candidates by inverse-CDF sampling on the cumulative potential (float64).
            var running = 0.0
            for i in 0..<n { running += closest[i]; cumulative[i] = running }
            let candidates = (0..<trials).map { _ -> Int in
                let target = rng.nextUnit() * potential
                var lo = 0, hi = n - 1
                while lo < hi { let m = (lo + hi) / 2; if cumulative[m] < target { lo = m + 1 } else { hi = m } }
                return lo
            }
            // Keep the candidate that lowers the potential most (greedy k-means++).
            var bestId = -1, bestPot = Double.infinity
            var bestDist: [Double] = []
            for (candidate, var dist) in zip(candidates, squaredDistances(data, norms, from: candidates)) {
                var pot = 0.0
                for i in 0..<n { dist[i] = min(dist[i], closest[i]); pot += dist[i] }
                // The first candidate always counts, so a NaN potential (overflowing data) cannot leave none.
                if bestId < 0 || pot < bestPot { bestPot = pot; bestId = candidate; bestDist = dist }
            }
            chosen.append(bestId)
            closest = bestDist
            potential = bestPot
        }
        return chosen.flatMap { row in (0..<d).map { Double(data.storage[row * d + $0]) } }
    }

    /// Squared distances from each of the given rows to all rows: ||x||^2 + ||c||^2 - 2 x.c with one
    /// gemm per block of rows (the data are centred, which keeps the cancellation small), clipped at 0.
    private func squaredDistances(_ data: Matrix, _ norms: [Float], from rows: [Int]) -> [[Double]] {
        let n = data.rows, d = data.cols, t = rows.count
        var centers = [Float](repeating: 0, count: t * d)
        for (c, row) in rows.enumerated() { for j in 0..<d { centers[c * d + j] = data.storage[row * d + j] } }
        var out = [Double](repeating: 0, count: t * n)
        data.storage.withUnsafeBufferPointer { p in
            centers.withUnsafeBufferPointer { cp in
                out.withUnsafeMutableBufferPointer { o in
                    Parallel.forEachTask((n + Self.block - 1) / Self.block) { b in
                        let r0 = b * Self.block, r1 = min(n, r0 + Self.block)
                        let tile = UnsafeMutablePointer<Float>.allocate(capacity: (r1 - r0) * t)
                        defer { tile.deallocate() }
                        Gemm.abT(m: r1 - r0, n: t, k: d, a: p.baseAddress! + r0 * d, lda: d, b: cp.baseAddress!, ldb: d, c: tile, ldc: t)
                        for r in r0..<r1 {
                            for c in 0..<t {
                                let v = Double(norms[r]) + Double(norms[rows[c]]) - 2 * Double(tile[(r - r0) * t + c])
                                o[c * n + r] = r == rows[c] ? 0 : max(v, 0)
                            }
                        }
                    }
                }
            }
        }
        return (0..<t).map { Array(out[($0 * n)..<($0 * n + n)]) }
    }

    private func lloyd(_ data: Matrix, _ norms: [Float], _ start: [Double], _ tol: Double)
        -> (centers: [Double], labels: [Int32], iterations: Int) {
        let k = parameters.clusterCount, n = data.rows, d = data.cols
        var centers = start
        var labels = [Int32](repeating: -1, count: n)
        var iterations = 0
        var strict = false
        for iteration in 0..<parameters.maxIterations {
            iterations = iteration + 1
            let newLabels = data.withView { assign($0, centers.map(Float.init), k) }
            var newCenters = meanPerCluster(data, newLabels, k)
            relocateEmpty(data, newLabels, centers, &newCenters)
            if newLabels == labels { strict = true; labels = newLabels; centers = newCenters; break }
            var shift = 0.0
            for t in 0..<(k * d) { let s = newCenters[t] - centers[t]; shift += s * s }
            labels = newLabels
            centers = newCenters
            if shift <= tol { break }
        }
        if !strict { labels = data.withView { assign($0, centers.map(Float.init), k) } }
        return (centers, labels, iterations)
    }

    /// Cluster means in float64; per-group partial sums over a fixed partition, combined in order.
    private func meanPerCluster(_ data: Matrix, _ labels: [Int32], _ k: Int) -> [Double] {
        let n = data.rows, d = data.cols
        let groups = min(16, max(1, n / 4096))
        let groupSize = (n + groups - 1) / groups
        let partials = data.withView { x in
            Parallel.mapChunks(count: n, chunk: groupSize) { range -> ([Double], [Int]) in
                var sums = [Double](repeating: 0, count: k * d)
                var counts = [Int](repeating: 0, count: k)
                sums.withUnsafeMutableBufferPointer { s in
                    for i in range {
                        let c = Int(labels[i]), row = x.row(i), dst = s.baseAddress! + c * d
                        counts[c] += 1
                        for j in 0..<d { dst[j] += Double(row[j]) }
                    }
                }
                return (sums, counts)
            }
        }
        var sums = [Double](repeating: 0, count: k * d), counts = [Int](repeating: 0, count: k)
        for (s, c) in partials {
            for t in 0..<(k * d) { sums[t] += s[t] }
            for t in 0..<k { counts[t] += c[t] }
        }
        for c in 0..<k where counts[c] > 0 { for j in 0..<d { sums[c * d + j] /= Double(counts[c]) } }
        // Empty clusters are marked NaN here and re-seeded by relocateEmpty.
        for c in 0..<k where counts[c] == 0 { for j in 0..<d { sums[c * d + j] = .nan } }
        return sums
    }

    /// scikit-learn's rule: each empty cluster takes one of the points farthest from their (old) centers.
    private func relocateEmpty(_ data: Matrix, _ labels: [Int32], _ old: [Double], _ centers: inout [Double]) {
        let k = parameters.clusterCount, d = data.cols
        let empty = (0..<k).filter { centers[$0 * d].isNaN }
        if empty.isEmpty { return }
        let far = data.withView { x in
            (0..<data.rows).map { i in old.withUnsafeBufferPointer { Reduce.squaredDistance(x.row(i), $0.baseAddress! + Int(labels[i]) * d, d) } }
        }
        let order = (0..<data.rows).sorted { far[$0] > far[$1] || (far[$0] == far[$1] && $0 < $1) }
        for (slot, c) in empty.enumerated() {
            let row = order[slot]
            for j in 0..<d { centers[c * d + j] = Double(data.storage[row * d + j]) }
        }
    }

    /// sum_i ||x_i - c_{label(i)}||^2 in float64 on the original data.
    private func exactInertia(_ x: MatrixView, mean: [Double], unit: Double, centers: [Double], labels: [Int32]) -> Double {
        let k = parameters.clusterCount, d = x.cols
        var absolute = [Double](repeating: 0, count: k * d)
        for t in 0..<(k * d) { absolute[t] = centers[t] * unit + mean[t % d] }
        let partials = Parallel.mapChunks(count: x.rows, chunk: 8192) { range -> Double in
            absolute.withUnsafeBufferPointer { c in
                var s = 0.0
                for i in range { s += Reduce.squaredDistance(x.row(i), c.baseAddress! + Int(labels[i]) * d, d) }
                return s
            }
        }
        return partials.reduce(0, +)
    }
}

#if canImport(Glibc)
import Glibc
#endif

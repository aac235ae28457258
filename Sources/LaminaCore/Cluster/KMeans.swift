/// k-means (Lloyd's algorithm) with scikit-learn's semantics: k-means++ seeding with
/// 2 + floor(ln k) local trials (Arthur & Vassilvitskii 2007, greedy variant), or k random distinct
/// samples, or given centers; `nInit` restarts keeping the lowest inertia; convergence when the
/// assignment no longer changes or when the squared center shift sum <= tol * mean column variance;
/// empty clusters relocated as scikit-learn does (`relocateEmpty`, LockstepLloyd.run). Runs are seeded and iterated in
/// lock-step (LockstepLloyd: one pass over the data serves every run; Hamerly's bounds skip points that
/// cannot change cluster). Deterministic for a seed, for any thread count.
package final class KMeans: @unchecked Sendable {
    package enum Initialization: Int32, Sendable { case kMeansPlusPlus = 0, random = 1, given = 2 }

    package struct Parameters: Sendable {
        package var clusterCount: Int
        package var initialization: Initialization
        package var initCount: Int
        package var maxIterations: Int
        package var tolerance: Double
        package var seed: UInt64
        /// Record scikit-learn's verbose lines for every run (`verboseLog`): costs one float64 pass over the
        /// data per iteration (the inertia of each iteration).
        package var verbose: Bool = false
        package init(clusterCount: Int = 8, initialization: Initialization = .kMeansPlusPlus, initCount: Int = 1,
                    maxIterations: Int = 300, tolerance: Double = 1e-4, seed: UInt64 = 0, verbose: Bool = false) {
            self.verbose = verbose
            self.clusterCount = clusterCount
            self.initialization = initialization
            self.initCount = initCount
            self.maxIterations = maxIterations
            self.tolerance = tolerance
            self.seed = seed
        }

        package func check() throws {
            if clusterCount < 1 { throw LaminaError.invalid("n_clusters is \(clusterCount); expected >= 1") }
            if initCount < 1 { throw LaminaError.invalid("n_init is \(initCount); expected >= 1") }
            if maxIterations < 1 { throw LaminaError.invalid("max_iter is \(maxIterations); expected >= 1") }
            if !(tolerance >= 0) || !tolerance.isFinite { throw LaminaError.invalid("tol is \(tolerance); expected a finite value >= 0") }
        }
    }

    package let parameters: Parameters
    package internal(set) var labels: [Int32] = []
    package internal(set) var inertia: Double = .nan
    package internal(set) var iterations: Int = 0
    package internal(set) var dims: Int = 0
    /// The last fit's verbose lines (parameters.verbose; empty otherwise): for each run in order,
    /// "Initialization complete", then per iteration "Iteration i, inertia v." and, when it converged,
    /// "Converged at iteration i: strict convergence." or "Converged at iteration i: center shift s
    /// within tolerance t." (scikit-learn's KMeans(verbose=1) lines, in the caller's units). Runs are
    /// iterated in lock-step, so the lines are assembled per run and made available after the fit.
    package private(set) var verboseLog: String = ""

    /// A fit in the precision of its data (float32, or float64 for float64 input): the centers and the
    /// working frame, centers as (c - mean) / unit, so that predict computes like fit did.
    struct Fitted<T: LaminaFloat> {
        var centers: [T]              // k x d
        var workingCenters: [T]
        var workingMean: [Double]
        var workingUnit: Double
        var frameIsInput: Bool
    }
    private var fitted32: Fitted<Float>? = nil
    private var fitted64: Fitted<Double>? = nil

    package var isFitted: Bool { fitted32 != nil || fitted64 != nil }
    /// True when the model was fitted (or restored) from float64 data: it computes in float64.
    package var isFloat64: Bool { fitted64 != nil }
    /// The centers as float32 (a float64 fit's centers rounded to nearest, clamped to float32's range).
    package var centers: [Float] {
        if let fitted32 { return fitted32.centers }
        let largest = Double(Float.greatestFiniteMagnitude)
        return fitted64?.centers.map { Float(min(max($0, -largest), largest)) } ?? []
    }
    /// The centers as float64 (a float32 fit's centers widened exactly).
    package var centers64: [Double] { fitted64?.centers ?? fitted32?.centers.map { Double($0) } ?? [] }

    func store<T: LaminaFloat>(_ fit: Fitted<T>) {
        if let f = fit as? Fitted<Float> { fitted32 = f; fitted64 = nil } else { fitted64 = (fit as! Fitted<Double>); fitted32 = nil }
    }

    package init(_ parameters: Parameters) throws {
        try parameters.check()
        self.parameters = parameters
    }

    /// Fits on x; `initialCenters` (k x d) is required for `.given` and ignored otherwise. T: float32,
    /// or float64 (the whole fit then runs in float64: working copy, center dots, bounds).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    package func fit<T: LaminaFloat>(_ x: MatrixViewOf<T>, initialCenters: MatrixViewOf<T>? = nil,
                                     sampleWeight: [Double]? = nil) throws {
        let k = parameters.clusterCount, n = x.rows, d = x.cols
        try checkSampleCount(n)
        try checkSampleWeight(sampleWeight, n)
        let weights = sampleWeight
        if parameters.initialization == .given {
            guard let given = initialCenters else { throw LaminaError.invalid("init is 'given' but no initial centers were passed") }
            if given.rows != k || given.cols != d {
                throw LaminaError.shape("init has shape (\(given.rows), \(given.cols)); expected (n_clusters, n_features) = (\(k), \(d))")
            }
        }
        let runs = parameters.initialization == .given ? 1 : parameters.initCount
        var rngs = generators(runs)
        let randomRows: [[Int]] = parameters.initialization != .random ? [] : rngs.indices.map {
            Self.randomStartRows(n, k, weights, &rngs[$0])
        }
        // Given or random starts in a frame (rows of the frame's data; given centers mapped into it).
        func startsIn(_ data: MatrixViewOf<T>, shift: [Double]?, unit: Double) -> [[Double]] {
            if parameters.initialization == .given {
                // Rounded like the frame's data, so a given center equal to a row is that row's point.
                return [(0..<(k * d)).map { Double(T((Double(initialCenters!.base[$0]) - (shift?[$0 % d] ?? 0)) / unit)) }]
            }
            return randomRows.map { Self.coordinates(data, $0) }
        }
        // Well-scaled data whose mean is no larger than their spread are iterated on as they are (no
        // working copy: no 61 MB of fresh pages and one pass less at n = 20,000, d = 768); otherwise on a
        // centred copy in power-of-two units (distances unchanged up to the unit; less cancellation in
        // the gemm form; no float32 overflow or underflow whatever the data's scale). With given or
        // random starts, the first E-step runs on the input and gathers the statistics that decide
        // this in the same pass (kept if the input is the frame, redone on the copy otherwise).
        let stats: Statistics<T>
        var firstOnInput: (lloyd: LockstepLloyd<T>, starts: [[Double]], runs: [LockstepLloyd<T>.Run])? = nil
        if parameters.initialization == .kMeansPlusPlus || weights != nil {
            stats = Self.statistics(x)
        } else {
            let starts = startsIn(x, shift: nil, unit: 1)
            var lloyd = LockstepLloyd<T>(data: x, norms: [], exactNorms: nil, k: k, maxIterations: parameters.maxIterations, tol: 0)
            let (first, gathered) = lloyd.firstAssignmentGathering(starts)
            stats = Self.statistics(columnSums: gathered.columnSums, low: gathered.low, high: gathered.high,
                                    rowNorms: gathered.rowNorms)
            if stats.isWellScaled { firstOnInput = (lloyd, starts, first) }
        }
        let frame = Frame(x, stats)
        let useInput = frame.useInput, mean = frame.mean, working = frame.working, unit = frame.unit
        // tol is relative to the mean column variance (working units here, like the center shifts it
        // is compared with).
        let meanVariance = useInput ? stats.totalVariance / Double(d)
            : max(0, working!.sqNorms.reduce(0.0) { $0 + Double($1) } / Double(n)
                  - (0..<d).reduce(0.0) { let v = (stats.mean[$1] - mean[$1]) / unit; return $0 + v * v }) / Double(d)
        let tol = parameters.tolerance * meanVariance
        var logs = [[String]](repeating: ["Initialization complete"], count: runs)
        let results = withFrame(x, working) { data -> [(centers: [Double], labels: [Int32], iterations: Int, inertia: Double?)] in
            var lloyd: LockstepLloyd<T>, starts: [[Double]], first: [LockstepLloyd<T>.Run]? = nil
            if let firstOnInput {
                (lloyd, starts, first) = (firstOnInput.lloyd, firstOnInput.starts, firstOnInput.runs)
                lloyd.tol = tol
            } else {
                let norms = frame.norms(stats)
                starts = parameters.initialization == .kMeansPlusPlus
                    ? plusPlus(data, norms, k, weights, &rngs).map { Self.coordinates(data, $0) }
                    : startsIn(data, shift: mean, unit: unit)
                lloyd = LockstepLloyd(data: data, norms: norms, exactNorms: useInput ? stats.rowNorms : nil, k: k,
                                      maxIterations: parameters.maxIterations, tol: tol, weights: weights)
            }
            let squaredUnit = unit * unit
            let trace: ((Int, Int, [Int32], [Double], LockstepLloyd<T>.TraceEnd) -> Void)? = !parameters.verbose ? nil : {
                run, iteration, labels, centers, end in
                let inertia = self.exactInertia(x, mean: mean, unit: unit, weights: weights, runs: [(centers, labels)])[0]
                logs[run].append("Iteration \(iteration), inertia \(inertia).")
                switch end {
                case .running: break
                case .strict: logs[run].append("Converged at iteration \(iteration): strict convergence.")
                case .tolerance(let shift):
                    logs[run].append("Converged at iteration \(iteration): center shift \(shift * squaredUnit) within tolerance \(tol * squaredUnit).")
                }
            }
            let out = lloyd.run(starts, first: first, relocate: { labels, old, sums, counts in
                relocateEmpty(data, labels, old, weights, &sums, &counts)
            }, trace: trace)
            return out
        }
        // The inertia from the runs' float64 sums where their rounding is provably negligible (the
        // input frame), otherwise one float64 pass over the original data.
        var inertias = results.map { $0.inertia ?? .nan }
        let exact = results.indices.filter { results[$0].inertia == nil }
        if !exact.isEmpty {
            let values = exactInertia(x, mean: mean, unit: unit, weights: weights,
                                      runs: exact.map { (results[$0].centers, results[$0].labels) })
            for (r, v) in zip(exact, values) { inertias[r] = v }
        }
        var best: (centers: [Double], labels: [Int32], inertia: Double, iterations: Int)? = nil
        for (run, inertia) in zip(results, inertias) where best == nil || inertia < best!.inertia {
            best = (run.centers, run.labels, inertia, run.iterations)
        }
        // A center is a mean of finite values, so only rounding can push it past the largest finite
        // value: clamp rather than let it become infinite.
        let largest = Double(T.greatestFiniteMagnitude)
        store(Fitted<T>(centers: (0..<(k * d)).map { T(min(max(best!.centers[$0] * unit + mean[$0 % d], -largest), largest)) },
                        workingCenters: best!.centers.map { T($0) }, workingMean: mean, workingUnit: unit,
                        frameIsInput: useInput))
        labels = best!.labels
        verboseLog = parameters.verbose ? logs.map { $0.joined(separator: "\n") + "\n" }.joined() : ""
        inertia = best!.inertia
        iterations = best!.iterations
        dims = d
    }

    /// Index of the nearest fitted center for each row of x (rows mapped into the fit's working frame
    /// block by block, so no magnitude can overflow the gemm). Computed in the model's precision: data
    /// of the other precision are converted first (float32 -> float64 exactly; float64 -> float32 as
    /// scikit-learn casts X to the centers' dtype, values beyond float32's range refused).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    package func predict<T: LaminaFloat>(_ x: MatrixViewOf<T>) throws -> [Int32] {
        guard isFitted else { throw LaminaError.invalid("this KMeans instance is not fitted yet; call fit first") }
        if x.cols != dims { throw LaminaError.shape("x has \(x.cols) features; the model was fitted with \(dims)") }
        if let fitted32 { return try Self.converted(x, to: Float.self) { try predict(fitted32, $0) } }
        return try Self.converted(x, to: Double.self) { try predict(fitted64!, $0) }
    }

    private func predict<T: LaminaFloat>(_ fit: Fitted<T>, _ x: MatrixViewOf<T>) throws -> [Int32] {
        assign(x, fit.workingCenters, parameters.clusterCount, frame: fit.frameIsInput ? nil : (fit.workingMean, 1 / fit.workingUnit))
    }

    /// Calls body with x as a view of element type U (x itself, or a converted copy).
    private static func converted<T: LaminaFloat, U: LaminaFloat, R>(_ x: MatrixViewOf<T>, to: U.Type,
                                                                    _ body: (MatrixViewOf<U>) throws -> R) throws -> R {
        if let same = x as? MatrixViewOf<U> { return try body(same) }
        let count = x.rows * x.cols
        try Memory.reserve(count * MemoryLayout<U>.size, "the converted copy of x (\(x.rows) x \(x.cols))")
        var copy = [U](repeating: 0, count: count)
        for i in 0..<count {
            let v = U(x.base[i])
            if !v.isFinite {
                throw LaminaError(.nonFinite, "x[\(i / x.cols), \(i % x.cols)] = \(x.base[i]) does not fit the model's float32 centers' precision; expected |x| <= \(Float.greatestFiniteMagnitude)")
            }
            copy[i] = v
        }
        return try copy.withUnsafeBufferPointer { try body(MatrixViewOf<U>(base: $0.baseAddress!, rows: x.rows, cols: x.cols)) }
    }

    // MARK: - Internals

    /// What one pass over the input gives: column means (float64), column minima and maxima, the rows'
    /// squared norms (float64), the total variance (sum of the column variances), and whether the data
    /// can be iterated on as they are: magnitudes in [2^-40, 2^40] (or all zero), so that float32 dot
    /// products and squared norms neither overflow nor underflow, and a squared mean norm no larger than
    /// the total variance, so that the gemm form ||x||^2 + ||c||^2 - 2 x.c cancels no more than on
    /// centred data (|x| <= |x - mean| + |mean|, about sqrt(2) times the centred norm at most on average).
    struct Statistics<T: LaminaFloat> {
        var mean: [Double]
        var low: [T]
        var high: [T]
        var rowNorms: [Double]
        var totalVariance: Double
        var isWellScaled: Bool
    }

    static func statistics<T: LaminaFloat>(_ x: MatrixViewOf<T>) -> Statistics<T> {
        let n = x.rows, d = x.cols
        var rowNorms = [Double](repeating: 0, count: n)
        let partials = rowNorms.withUnsafeMutableBufferPointer { norms in
            Parallel.mapChunks(count: n, chunk: 2048) { rows -> ([Double], [T], [T]) in
                var sums = [Double](repeating: 0, count: d)
                var low = Array(UnsafeBufferPointer(start: x.row(rows.lowerBound), count: d)), high = low
                sums.withUnsafeMutableBufferPointer { acc in
                    low.withUnsafeMutableBufferPointer { lo in
                        high.withUnsafeMutableBufferPointer { hi in
                            for i in rows {
                                norms[i] = T.rowStatistics(x.row(i), d, acc.baseAddress!, lo.baseAddress!, hi.baseAddress!)
                            }
                        }
                    }
                }
                return (sums, low, high)
            }
        }
        var sums = partials[0].0, low = partials[0].1, high = partials[0].2
        for (s, l, h) in partials.dropFirst() {
            for j in 0..<d { sums[j] += s[j]; low[j] = min(low[j], l[j]); high[j] = max(high[j], h[j]) }
        }
        return statistics(columnSums: sums, low: low, high: high, rowNorms: rowNorms)
    }

    static func statistics<T: LaminaFloat>(columnSums: [Double], low: [T], high: [T], rowNorms: [Double]) -> Statistics<T> {
        let n = rowNorms.count, d = columnSums.count
        let mean = columnSums.map { $0 / Double(n) }
        let squaredMean = mean.reduce(0) { $0 + $1 * $1 }
        let totalVariance = max(0, rowNorms.reduce(0, +) / Double(n) - squaredMean)
        var largest: T = 0
        for j in 0..<d { largest = max(largest, abs(low[j]), abs(high[j])) }
        let scaled = largest == 0 || (largest >= T(0x1p-40) && largest <= T(0x1p40))
        return Statistics(mean: mean, low: low, high: high, rowNorms: rowNorms, totalVariance: totalVariance,
                          isWellScaled: scaled && squaredMean <= totalVariance)
    }

    /// Adds the row to the column sums, widens the column ranges, returns the row's squared norm.
    @inline(__always)
    static func rowStatistics(_ row: UnsafePointer<Float>, _ d: Int, _ sums: UnsafeMutablePointer<Double>,
                                      _ low: UnsafeMutablePointer<Float>, _ high: UnsafeMutablePointer<Float>) -> Double {
        var sq0 = SIMD8<Double>(), sq1 = SIMD8<Double>()
        var j = 0
        while j + 16 <= d {
            let a = UnsafeRawPointer(row + j).loadUnaligned(as: SIMD16<Float>.self)
            let v0 = SIMD8<Double>(a.lowHalf), v1 = SIMD8<Double>(a.highHalf)
            let s = UnsafeMutableRawPointer(sums + j)
            s.storeBytes(of: s.loadUnaligned(as: SIMD8<Double>.self) + v0, as: SIMD8<Double>.self)
            s.storeBytes(of: s.loadUnaligned(fromByteOffset: 64, as: SIMD8<Double>.self) + v1, toByteOffset: 64, as: SIMD8<Double>.self)
            sq0.addProduct(v0, v0)
            sq1.addProduct(v1, v1)
            let l = UnsafeMutableRawPointer(low + j), h = UnsafeMutableRawPointer(high + j)
            l.storeBytes(of: SIMDOps.min(l.loadUnaligned(as: SIMD16<Float>.self), a), as: SIMD16<Float>.self)
            h.storeBytes(of: SIMDOps.max(h.loadUnaligned(as: SIMD16<Float>.self), a), as: SIMD16<Float>.self)
            j += 16
        }
        var sq = (sq0 + sq1).sum()
        while j < d {
            let v = Double(row[j])
            sums[j] += v
            sq += v * v
            low[j] = min(low[j], row[j]); high[j] = max(high[j], row[j])
            j += 1
        }
        return sq
    }

    /// Calls body with the frame the iterations run in: the working copy if there is one, else x.
    private func withFrame<T: LaminaFloat, R>(_ x: MatrixViewOf<T>, _ working: WorkingCopy<T>?, _ body: (MatrixViewOf<T>) throws -> R) rethrows -> R {
        if let working { return try working.points.withView(body) }
        return try body(x)
    }

    private static let block = 1024

    /// Nearest center of every row of x. With `frame` (shift, 1/unit), each block of rows is first
    /// mapped to (x - shift) / unit, the fit's working frame.
    private func assign<T: LaminaFloat>(_ x: MatrixViewOf<T>, _ centers: [T], _ k: Int, frame: ([Double], Double)? = nil) -> [Int32] {
        let d = x.cols, n = x.rows
        var labels = [Int32](repeating: 0, count: n)
        let centerNorms = CenterDots.squaredNorms(centers, k, d)
        labels.withUnsafeMutableBufferPointer { out in
            centers.withUnsafeBufferPointer { cp in
                centerNorms.withUnsafeBufferPointer { cn in
                    let blocks = (n + Self.block - 1) / Self.block
                    Parallel.forEachTask(blocks) { b in
                        let r0 = b * Self.block, r1 = min(n, r0 + Self.block)
                        let tile = UnsafeMutablePointer<T>.allocate(capacity: (r1 - r0) * k)
                        defer { tile.deallocate() }
                        var rows = x.row(r0)
                        var mapped: UnsafeMutablePointer<T>? = nil
                        if let (shift, inverseUnit) = frame {
                            let m = UnsafeMutablePointer<T>.allocate(capacity: (r1 - r0) * d)
                            for r in r0..<r1 {
                                let src = x.row(r), dst = m + (r - r0) * d
                                for j in 0..<d { dst[j] = T((Double(src[j]) - shift[j]) * inverseUnit) }
                            }
                            mapped = m
                            rows = UnsafePointer(m)
                        }
                        defer { mapped?.deallocate() }
                        CenterDots.nearest(rows, r1 - r0, d, cp.baseAddress!, cn.baseAddress!, k, tile, out.baseAddress! + r0)
                    }
                }
            }
        }
        return labels
    }

    /// Greedy k-means++ for several runs in lock-step, each with its own generator: one pass over the
    /// data gives the distances of every run's candidates (the seeding is memory-bound, so this is
    /// what makes restarts cheap). Each run's rows are the same as if it were seeded alone.
    /// Returns each run's k chosen rows, in the order chosen.
    private func plusPlus<T: LaminaFloat>(_ data: MatrixViewOf<T>, _ norms: [T], _ k: Int, _ weights: [Double]?,
                                          _ rngs: inout [Xoshiro256]) -> [[Int]] {
        let n = data.rows, runs = rngs.count
        let trials = 2 + Int(log(Double(k)))
        // Buffers reused by every step: candidate distances (runs * trials x n), each run's distance to
        // its closest chosen center, the cumulative potential.
        var candidateDistances = [Double](repeating: 0, count: runs * max(trials, 1) * n)
        // The weights (1 when unweighted: w * x = x exactly, so unit weights give the same draws).
        let w = weights ?? [Double](repeating: 1, count: n)
        var cumulative = [Double](repeating: 0, count: n)
        // First center: drawn with probability proportional to its weight (scikit-learn's
        // random_state.choice(n, p=sample_weight / sample_weight.sum())).
        var running = 0.0
        for i in 0..<n { running += w[i]; cumulative[i] = running }
        var chosen = (0..<runs).map { [Self.search(cumulative, rngs[$0].nextUnit() * running)] }
        squaredDistances(data, norms, from: chosen.map { $0[0] }, into: &candidateDistances)
        var closest = (0..<runs).map { Array(candidateDistances[($0 * n)..<($0 * n + n)]) }
        var potential = closest.map { near in (0..<n).reduce(0.0) { $0 + w[$1] * near[$1] } }
        for _ in 1..<max(k, 1) {
            // Candidates by inverse-CDF sampling on each run's cumulative potential (float64).
            var candidates: [Int] = []
            for run in 0..<runs {
                var running = 0.0
                for i in 0..<n { running += w[i] * closest[run][i]; cumulative[i] = running }
                for _ in 0..<trials {
                    candidates.append(Self.search(cumulative, rngs[run].nextUnit() * potential[run]))
                }
            }
            squaredDistances(data, norms, from: candidates, into: &candidateDistances)
            // Each run keeps the candidate that lowers its potential most (greedy k-means++).
            candidateDistances.withUnsafeBufferPointer { all in
                for run in 0..<runs {
                    closest[run].withUnsafeMutableBufferPointer { near in
                        var bestT = -1, bestPot = Double.infinity
                        for t in (run * trials)..<((run + 1) * trials) {
                            let dist = all.baseAddress! + t * n
                            var pot = 0.0
                            for i in 0..<n { pot += w[i] * min(dist[i], near[i]) }
                            // The first candidate always counts, so a NaN potential (overflowing data)
                            // cannot leave none.
                            if bestT < 0 || pot < bestPot { bestPot = pot; bestT = t }
                        }
                        let dist = all.baseAddress! + bestT * n
                        for i in 0..<n { near[i] = min(dist[i], near[i]) }
                        chosen[run].append(candidates[bestT])
                        potential[run] = bestPot
                    }
                }
            }
        }
        return chosen
    }

    /// The given rows of data, row-major as float64 (rows.count x d): a run's start in data's frame.
    static func coordinates<T: LaminaFloat>(_ data: MatrixViewOf<T>, _ rows: [Int]) -> [Double] {
        let d = data.cols
        return rows.flatMap { row in (0..<d).map { Double(data.base[row * d + $0]) } }
    }

    /// The first index whose cumulative mass exceeds target (inverse-CDF sampling: an index of zero mass
    /// is never drawn), the last index if none does (target rounded up to the total).
    private static func search(_ cumulative: [Double], _ target: Double) -> Int {
        var lo = 0, hi = cumulative.count - 1
        while lo < hi { let m = (lo + hi) / 2; if cumulative[m] <= target { lo = m + 1 } else { hi = m } }
        return lo
    }

    /// k distinct rows drawn one after another with probability proportional to their weights among
    /// the rows not drawn yet (numpy's choice(n, k, replace=False, p=w / w.sum()) scheme; at least k
    /// weights are positive, checked by fit). The rows are kept in a pool from which each drawn row is
    /// swapped to the front, as the unweighted draw does: with unit weights (exact integer sums) both
    /// pick the same rows. O(n k).
    static func weightedDistinct(_ weights: [Double], _ k: Int, _ rng: inout Xoshiro256) -> [Int] {
        let n = weights.count
        var pool = Array(0..<n)
        for i in 0..<k {
            var total = 0.0
            for t in i..<n { total += weights[pool[t]] }
            let target = rng.nextUnit() * total
            var running = 0.0, pick = -1
            for t in i..<n where weights[pool[t]] > 0 {
                pick = t
                running += weights[pool[t]]
                if running > target { break }
            }
            pool.swapAt(i, pick)
        }
        return Array(pool.prefix(k))
    }

    /// Squared distances from each of the given rows to all rows, into out[c * n + r]:
    /// ||x||^2 + ||c||^2 - 2 x.c (the data are centred, which keeps the cancellation small), clipped
    /// at 0; a row is at 0 from itself.
    private func squaredDistances<T: LaminaFloat>(_ data: MatrixViewOf<T>, _ norms: [T], from rows: [Int], into out: inout [Double]) {
        let n = data.rows, d = data.cols, t = rows.count
        var centers = [T](repeating: 0, count: t * d)
        for (c, row) in rows.enumerated() { for j in 0..<d { centers[c * d + j] = data.base[row * d + j] } }
        do {
            let p = UnsafeBufferPointer(start: data.base, count: n * d)
            centers.withUnsafeBufferPointer { cp in
                out.withUnsafeMutableBufferPointer { o in
                    Parallel.forEachTask((n + Self.block - 1) / Self.block) { b in
                        let r0 = b * Self.block, r1 = min(n, r0 + Self.block)
                        let tile = UnsafeMutablePointer<T>.allocate(capacity: (r1 - r0) * t)
                        defer { tile.deallocate() }
                        T.centerDots(p.baseAddress! + r0 * d, r1 - r0, d, cp.baseAddress!, t, tile)
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
    }

    /// scikit-learn's `_relocate_empty_clusters_dense`: the empty clusters (count 0, in index order)
    /// take the points farthest from their own (old) centers, farthest first (ties: lower row first);
    /// each such point moves, in the M-step's sums and counts only, from its cluster to the empty one,
    /// so both centers move in this iteration (its label stays until the next E-step). Nothing moves
    /// when every point sits on its center (fewer distinct points than clusters).
    /// Weighted (sample_weight): a cluster of weight 0 is empty; the moved point carries its weight w
    /// (sums += w x, counts = w), as scikit-learn's weighted version does.
    private func relocateEmpty<T: LaminaFloat>(_ data: MatrixViewOf<T>, _ labels: [Int32], _ old: [Double], _ weights: [Double]?,
                               _ sums: inout [Double], _ counts: inout [Double]) {
        let k = parameters.clusterCount, d = data.cols, n = data.rows
        let empty = (0..<k).filter { counts[$0] == 0 }
        if empty.isEmpty { return }
        let far = old.withUnsafeBufferPointer { o in
            (0..<n).map { i in T.squaredDistance(data.row(i), o.baseAddress! + Int(labels[i]) * d, d) }
        }
        if !(far.max()! > 0) { return }
        let chosen = Self.farthestRows(far, count: empty.count)
        for (slot, c) in empty.enumerated() where slot < chosen.count {
            let row = chosen[slot], from = Int(labels[row])
            let w = weights?[row] ?? 1
            for j in 0..<d {
                let v = w * Double(data.base[row * d + j])
                sums[from * d + j] -= v
                sums[c * d + j] = v
            }
            counts[from] -= w
            counts[c] = w
        }
    }

    /// sum_i ||x_i - c_{label(i)}||^2 in float64 on the original data, for several runs in one pass.
    private func exactInertia<T: LaminaFloat>(_ x: MatrixViewOf<T>, mean: [Double], unit: Double, weights: [Double]?,
                                              runs: [(centers: [Double], labels: [Int32])]) -> [Double] {
        let k = parameters.clusterCount, d = x.cols
        let absolute = runs.map { run in (0..<(k * d)).map { run.centers[$0] * unit + mean[$0 % d] } }
        let partials = Parallel.mapChunks(count: x.rows, chunk: 2048) { range -> [Double] in
            runs.indices.map { r in
                absolute[r].withUnsafeBufferPointer { c in
                    runs[r].labels.withUnsafeBufferPointer { labels in
                        var s = 0.0
                        if let weights {
                            for i in range { s += weights[i] * T.squaredDistance(x.row(i), c.baseAddress! + Int(labels[i]) * d, d) }
                        } else {
                            for i in range { s += T.squaredDistance(x.row(i), c.baseAddress! + Int(labels[i]) * d, d) }
                        }
                        return s
                    }
                }
            }
        }
        return runs.indices.map { r in partials.reduce(0) { $0 + $1[r] } }
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// Dot products of rows with k-means centers. Every (row, center) pair is summed the same way
/// whichever kernel handles it (one 8-lane accumulator over the row, then the scalar tail), so a row's
/// distances, and so its label, do not depend on how rows were blocked (fit and predict agree).
enum CenterDots {
    /// Dot products of `count` rows (row-major, d columns) with `t` centers into out (count x t).
    /// Few centers: a register-blocked SIMD kernel (4 rows x 2 centers per step) that reads each row
    /// once while it sits in L1 (a gemm spends most of its time packing the rows for very little
    /// arithmetic: 38 vs 88 GFLOP/s measured at 10 centers). Many centers: a gemm.
    static func dots(_ rows: UnsafePointer<Float>, _ count: Int, _ d: Int, _ centers: UnsafePointer<Float>, _ t: Int,
                             _ out: UnsafeMutablePointer<Float>) {
        if t > 32 {
            Gemm.abT(m: count, n: t, k: d, a: rows, lda: d, b: centers, ldb: d, c: out, ldc: t)
            return
        }
        var r = 0
        while r + 4 <= count {
            var c = 0
            while c + 2 <= t {
                fourByTwo(rows + r * d, centers + c * d, d, out + r * t + c, t)
                c += 2
            }
            if c < t { for i in 0..<4 { out[(r + i) * t + c] = one(rows + (r + i) * d, centers + c * d, d) } }
            r += 4
        }
        while r < count {
            for c in 0..<t { out[r * t + c] = one(rows + r * d, centers + c * d, d) }
            r += 1
        }
    }

    /// The nearest center (first on ties) and the two smallest values of ||c||^2 - 2 g_c.
    @inline(__always)
    static func twoNearest<T: LaminaFloat>(_ g: UnsafePointer<T>, _ centerNorms: UnsafePointer<T>, _ k: Int) -> (Int, T, T) {
        var bestC = 0, bestV = centerNorms[0] - 2 * g[0], secondV = T.infinity
        var c = 1
        while c < k {
            let v = centerNorms[c] - 2 * g[c]
            if v < bestV { secondV = bestV; bestC = c; bestV = v } else if v < secondV { secondV = v }
            c += 1
        }
        return (bestC, bestV, secondV)
    }

    static func squaredNorms<T: LaminaFloat>(_ centers: [T], _ k: Int, _ d: Int) -> [T] {
        (0..<k).map { c in (0..<d).reduce(T(0)) { $0 + centers[c * d + $1] * centers[c * d + $1] } }
    }

    /// Index of the nearest center, argmin_c (||c||^2 - 2 x.c), for `count` rows.
    @inline(__always)
    static func nearest<T: LaminaFloat>(_ rows: UnsafePointer<T>, _ count: Int, _ d: Int, _ centers: UnsafePointer<T>,
                                        _ centerNorms: UnsafePointer<T>, _ k: Int, _ scratch: UnsafeMutablePointer<T>,
                                        _ out: UnsafeMutablePointer<Int32>) {
        T.centerDots(rows, count, d, centers, k, scratch)
        for r in 0..<count { out[r] = Int32(twoNearest(scratch + r * k, centerNorms, k).0) }
    }


    @inline(__always)
    private static func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self) }

    @inline(__always)
    private static func tail(_ x: UnsafePointer<Float>, _ c: UnsafePointer<Float>, _ from: Int, _ d: Int) -> Float {
        var s: Float = 0
        for j in from..<d { s += x[j] * c[j] }
        return s
    }

    @inline(__always)
    static func one(_ x: UnsafePointer<Float>, _ c: UnsafePointer<Float>, _ d: Int) -> Float {
        var acc = SIMD8<Float>()
        var j = 0
        while j + 8 <= d { acc.addProduct(load(x + j), load(c + j)); j += 8 }
        return acc.sum() + tail(x, c, j, d)
    }

    /// One row against `t` centers (stride d) into out[0..<t], four centers at a time with independent
    /// accumulators (each pair summed exactly as `one` sums it).
    @inline(__always)
    static func oneRow(_ x: UnsafePointer<Float>, _ d: Int, _ c: UnsafePointer<Float>, _ t: Int, _ out: UnsafeMutablePointer<Float>) {
        var m = 0
        while m + 4 <= t {
            var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
            let c0 = c + m * d, c1 = c0 + d, c2 = c1 + d, c3 = c2 + d
            var j = 0
            while j + 8 <= d {
                let v = load(x + j)
                a0.addProduct(v, load(c0 + j)); a1.addProduct(v, load(c1 + j))
                a2.addProduct(v, load(c2 + j)); a3.addProduct(v, load(c3 + j))
                j += 8
            }
            out[m] = a0.sum() + tail(x, c0, j, d); out[m + 1] = a1.sum() + tail(x, c1, j, d)
            out[m + 2] = a2.sum() + tail(x, c2, j, d); out[m + 3] = a3.sum() + tail(x, c3, j, d)
            m += 4
        }
        while m < t { out[m] = one(x, c + m * d, d); m += 1 }
    }

    /// Rows x..x+3 (stride d) against centers c, c+1 (stride d): out[i * ldo + m].
    @inline(__always)
    static func fourByTwo(_ x: UnsafePointer<Float>, _ c: UnsafePointer<Float>, _ d: Int,
                          _ out: UnsafeMutablePointer<Float>, _ ldo: Int) {
        var a00 = SIMD8<Float>(), a01 = SIMD8<Float>(), a10 = SIMD8<Float>(), a11 = SIMD8<Float>()
        var a20 = SIMD8<Float>(), a21 = SIMD8<Float>(), a30 = SIMD8<Float>(), a31 = SIMD8<Float>()
        let x0 = x, x1 = x + d, x2 = x + 2 * d, x3 = x + 3 * d, c0 = c, c1 = c + d
        var j = 0
        while j + 8 <= d {
            let v0 = load(c0 + j), v1 = load(c1 + j)
            let r0 = load(x0 + j), r1 = load(x1 + j), r2 = load(x2 + j), r3 = load(x3 + j)
            a00.addProduct(r0, v0); a01.addProduct(r0, v1)
            a10.addProduct(r1, v0); a11.addProduct(r1, v1)
            a20.addProduct(r2, v0); a21.addProduct(r2, v1)
            a30.addProduct(r3, v0); a31.addProduct(r3, v1)
            j += 8
        }
        out[0] = a00.sum() + tail(x0, c0, j, d); out[1] = a01.sum() + tail(x0, c1, j, d)
        out[ldo] = a10.sum() + tail(x1, c0, j, d); out[ldo + 1] = a11.sum() + tail(x1, c1, j, d)
        out[2 * ldo] = a20.sum() + tail(x2, c0, j, d); out[2 * ldo + 1] = a21.sum() + tail(x2, c1, j, d)
        out[3 * ldo] = a30.sum() + tail(x3, c0, j, d); out[3 * ldo + 1] = a31.sum() + tail(x3, c1, j, d)
    }
}

// MARK: - Restoring a fitted model (lamina_kmeans_set_centers; Python pickling)

extension KMeans {
    /// Makes this model a fitted one with the given centers (k x d, finite; k = n_clusters): predict
    /// then assigns the nearest of them. Predictions run in a working frame derived from the centers
    /// (their column mean and a power-of-two unit), so they equal the original model's except for a row
    /// whose two nearest centers tie within float32 rounding. labels are left empty, inertia NaN,
    /// iterations 0 (they describe a training run this model did not do).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    package func restore<T: LaminaFloat>(centers given: MatrixViewOf<T>) throws {
        let k = parameters.clusterCount, d = given.cols
        if given.rows != k { throw LaminaError.shape("centers has \(given.rows) rows; expected n_clusters = \(k)") }
        if d < 1 { throw LaminaError.invalid("n_features is \(d); expected >= 1") }
        if let bad = given.firstNonFinite() {
            throw LaminaError(.nonFinite, "centers[\(bad.row), \(bad.col)] is not finite; expected finite centers")
        }
        let (mean, low, high) = ColumnStats.meanAndRange(given)
        let working = WorkingCopy<T>(given, shift: mean, range: (low, high))
        store(Fitted<T>(centers: Array(UnsafeBufferPointer(start: given.base, count: k * d)),
                        workingCenters: working.points.storage, workingMean: mean, workingUnit: working.unit,
                        frameIsInput: false))
        labels = []
        inertia = .nan
        iterations = 0
        dims = d
    }
}

extension KMeans {
    /// The `count` rows of largest `far` (the farthest from their centers), farthest first, earlier rows
    /// first on ties: scikit-learn's choice of the points that move to empty clusters. A partial
    /// selection: relocation is rare, but n may be large.
    static func farthestRows(_ far: [Double], count: Int) -> [Int] {
        var chosen: [Int] = []
        for i in 0..<far.count {
            if chosen.count == count && !(far[i] > far[chosen.last!]) { continue }
            var at = chosen.count
            while at > 0 && far[i] > far[chosen[at - 1]] { at -= 1 }
            chosen.insert(i, at: at)
            if chosen.count > count { chosen.removeLast() }
        }
        return chosen
    }
}

// MARK: - Seeding (shared by the fits and `initialRows`)

extension KMeans {
    /// scikit-learn's sample_weight for n rows: n finite values >= 0 with a finite positive sum (nil:
    /// unit weights); with init=random, at least n_clusters positive weights (the draw is without
    /// replacement and never takes a row of weight 0).
    func checkSampleWeight(_ sampleWeight: [Double]?, _ n: Int) throws {
        guard let w = sampleWeight else { return }
        let k = parameters.clusterCount
        if w.count != n { throw LaminaError.shape("sample_weight has \(w.count) values; expected n_samples = \(n)") }
        var total = 0.0
        for (i, v) in w.enumerated() {
            if !v.isFinite { throw LaminaError(.nonFinite, "sample_weight[\(i)] = \(v); expected finite weights") }
            if v < 0 { throw LaminaError.invalid("sample_weight[\(i)] = \(v); expected weights >= 0") }
            total += v
        }
        if !(total > 0) || !total.isFinite {
            throw LaminaError.invalid("sample_weight sums to \(total); expected a finite positive sum")
        }
        if parameters.initialization == .random {
            let positive = w.reduce(0) { $0 + ($1 > 0 ? 1 : 0) }
            if positive < k {
                throw LaminaError.invalid("init='random' draws n_clusters=\(k) distinct samples with probability proportional to sample_weight, but only \(positive) samples have a positive weight")
            }
        }
    }

    /// One generator per restart, seeded from the model's seed and the restart's index, so that a
    /// restart's draws do not depend on the others (restart 0 uses the seed itself).
    func generators(_ runs: Int) -> [Xoshiro256] {
        (0..<runs).map { Xoshiro256(seed: parameters.seed, stream: $0) }
    }

    /// init=random on dense x: k distinct rows, by weight (weightedDistinct) or, unweighted, the same
    /// draws as weightedDistinct with unit weights (position floor(u m) of the m rows not drawn yet)
    /// in O(k).
    static func randomStartRows(_ n: Int, _ k: Int, _ weights: [Double]?, _ rng: inout Xoshiro256) -> [Int] {
        if let weights { return weightedDistinct(weights, k, &rng) }
        var pool = Array(0..<n)
        for i in 0..<k { pool.swapAt(i, i + min(n - i - 1, Int(rng.nextUnit() * Double(n - i)))) }
        return Array(pool.prefix(k))
    }

    /// The frame a dense fit seeds and iterates in, decided by one pass of statistics: x itself when it
    /// is well scaled (Statistics.isWellScaled: no working copy), else a copy centred on the column
    /// means rounded to a few bits of the spread (roundedShift: data with few significant bits, such as
    /// integers, stay exact in the copy, so identical points have identical centers and map back
    /// exactly), in power-of-two units.
    struct Frame<T: LaminaFloat> {
        let useInput: Bool
        let mean: [Double]
        let working: WorkingCopy<T>?
        var unit: Double { working?.unit ?? 1 }

        init(_ x: MatrixViewOf<T>, _ stats: Statistics<T>) {
            useInput = stats.isWellScaled
            mean = useInput ? [Double](repeating: 0, count: x.cols)
                : WorkingCopy.roundedShift(stats.mean, low: stats.low, high: stats.high)
            working = useInput ? nil : WorkingCopy<T>(x, shift: mean, range: (stats.low, stats.high))
        }

        /// The squared row norms in the frame (those of the copy, or the input's float64 norms).
        func norms(_ stats: Statistics<T>) -> [T] { working?.sqNorms ?? stats.rowNorms.map { T($0) } }
    }

    /// n_samples >= n_clusters, as every fit and every start draw requires.
    func checkSampleCount(_ n: Int) throws {
        let k = parameters.clusterCount
        if n < k { throw LaminaError.invalid("n_samples=\(n) should be >= n_clusters=\(k).") }
    }

    /// initialRows' checks: a drawn start (init=given draws nothing) from n >= n_clusters rows.
    func checkStartIsDrawn(_ n: Int) throws {
        if parameters.initialization == .given {
            throw LaminaError.invalid("params.init is LAMINA_KMEANS_INIT_GIVEN: given centers are their own start, nothing is drawn; use LAMINA_KMEANS_INIT_PLUSPLUS or LAMINA_KMEANS_INIT_RANDOM")
        }
        try checkSampleCount(n)
    }

    /// The n_clusters rows of x that `fit(x, sampleWeight:)` of this model starts its first restart
    /// from, in the order drawn: the same code and the same generator (restart 0, seeded with
    /// parameters.seed), so the fit's first start is exactly these rows of x. k-means++ runs in the
    /// fit's frame (Frame), as the fit does; init=random draws the rows directly. Checks as fit does
    /// (n_samples >= n_clusters, sample_weight); init=given is refused (nothing is drawn).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    package func initialRows<T: LaminaFloat>(_ x: MatrixViewOf<T>, sampleWeight: [Double]? = nil) throws -> [Int] {
        let k = parameters.clusterCount, n = x.rows
        try checkStartIsDrawn(n)
        try checkSampleWeight(sampleWeight, n)
        var rngs = generators(1)
        if parameters.initialization == .random { return Self.randomStartRows(n, k, sampleWeight, &rngs[0]) }
        let stats = Self.statistics(x)
        let frame = Frame(x, stats)
        return withFrame(x, frame.working) { data in plusPlus(data, frame.norms(stats), k, sampleWeight, &rngs)[0] }
    }
}

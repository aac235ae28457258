/// Lloyd's algorithm for several k-means runs in lock-step, with Hamerly's bounds (Hamerly 2010,
/// "Making k-means even faster").
///
/// Lloyd on large data is bound by memory bandwidth: every iteration reads all the data. Two things cut
/// the reads. Runs advance together, so one pass serves every run still iterating. And each point keeps
/// an upper bound on its distance to its own center and a lower bound on its distance to any other;
/// after the centers move by delta, upper += delta(own) and lower -= max delta(other). A point is read
/// only when upper > max(lower, half the distance from its center to the nearest other center); the
/// per-cluster sums are kept up to date by moving the points that change cluster. Once the centers
/// settle almost no point is read. Assignments are Lloyd's: a point whose bounds cannot rule out a
/// change is re-assigned with the same dot products and the same argmin (first index on ties) as a full
/// pass, and the bounds carry a margin for float32 rounding.
struct LockstepLloyd<T: LaminaFloat> {
    let data: MatrixViewOf<T>  // working frame, row-major n x d (float32, or float64 for float64 input)
    var norms: [T]             // ||x||^2 of the rows
    /// ||x||^2 of the rows in float64 when the frame holds the data exactly (the input itself): the
    /// runs then also keep each cluster's sum of squared norms, which gives the inertia without another
    /// pass over the data.
    var exactNorms: [Double]?
    let k: Int
    let maxIterations: Int
    var tol: Double            // on the sum of squared center shifts
    /// Sample weights (n, finite, >= 0) or nil for unit weights: a cluster's center is the weighted
    /// mean of its rows, its "count" the sum of their weights (a cluster of weight 0 is empty), its
    /// inertia the weighted sum of squared distances (scikit-learn's sample_weight). Unit weights give
    /// bit-identical results to nil (w * x = x, sums of ones are exact).
    var weights: [Double]? = nil

    init(data: MatrixViewOf<T>, norms: [T], exactNorms: [Double]?, k: Int, maxIterations: Int, tol: Double,
         weights: [Double]? = nil) {
        self.data = data
        self.norms = norms
        self.exactNorms = exactNorms
        self.k = k
        self.maxIterations = maxIterations
        self.tol = tol
        self.weights = weights
    }

    /// How an iteration ended, for `run`'s trace: still running, strict convergence (no label changed),
    /// or the squared center shift (working units) within the tolerance.
    enum TraceEnd { case running, strict, tolerance(Double) }

    struct Run {
        var centers: [Double]
        var labels: [Int32]
        var upper: [T]
        var lower: [T]
        var sums: [Double]
        var counts: [Double]       // per cluster, the sum of the weights (the count when unweighted)
        var squares: [Double]      // per cluster, sum of exactNorms (empty without them)
        var moves = 0              // points moved between clusters by bounded E-steps
        var iterations = 0
        var strict = false
    }

    /// Runs to convergence, scikit-learn's loop (`_kmeans_single_lloyd`): each iteration is an M-step
    /// from the last E-step's sums, then the convergence checks: strict when the labels did not change
    /// in that E-step (the centers are then the M-step's, no further E-step), else when the squared
    /// center shift sum is <= tol (one more E-step gives labels matching the centers).
    /// `relocate(labels, oldCenters, &sums, &counts)` re-seeds empty clusters (count 0) in the M-step's
    /// copy of the cluster sums and counts (scikit-learn's `_relocate_empty_clusters_dense`); the run's
    /// own labels, sums and counts are left as the E-step made them. A cluster still empty after it is
    /// placed at the center of the largest cluster (first on ties), as scikit-learn's `_average_centers`.
    /// `first`: the first E-step of these starts if it was already made (firstAssignmentGathering).
    /// `trace` (verbose fits): called for each run at each iteration with the labels of its last E-step,
    /// the centers that E-step used, and how the iteration ended (scikit-learn's verbose lines).
    func run(_ starts: [[Double]], first: [Run]? = nil,
             relocate: ([Int32], [Double], inout [Double], inout [Double]) -> Void,
             trace: ((_ run: Int, _ iteration: Int, _ labels: [Int32], _ centers: [Double], _ end: TraceEnd) -> Void)? = nil)
        -> [(centers: [Double], labels: [Int32], iterations: Int, inertia: Double?)] {
        let d = data.cols
        var runs = first ?? fullAssignment(starts).0
        var active = Array(runs.indices)
        var changed = [Bool](repeating: true, count: runs.count)   // labels changed in the last E-step
        var busy = [Bool](repeating: true, count: runs.count)      // many points moved or were re-checked
        for iteration in 0..<maxIterations where !active.isEmpty {
            var moving: [Int] = []
            for r in active {
                runs[r].iterations = iteration + 1
                // M-step; empty clusters are re-seeded by `relocate` in the sums first.
                var newCenters = runs[r].sums
                var counts = runs[r].counts
                if counts.contains(0) { relocate(runs[r].labels, runs[r].centers, &newCenters, &counts) }
                var largest = 0
                for c in 1..<max(k, 1) where counts[c] > counts[largest] { largest = c }
                for c in 0..<k where counts[c] > 0 {
                    let inverse = 1 / counts[c]
                    for j in 0..<d { newCenters[c * d + j] *= inverse }
                }
                for c in 0..<k where counts[c] == 0 {
                    for j in 0..<d { newCenters[c * d + j] = newCenters[largest * d + j] }
                }
                if iteration > 0 && !changed[r] {
                    trace?(r, iteration, runs[r].labels, runs[r].centers, .strict)
                    runs[r].strict = true
                    runs[r].centers = newCenters
                    continue
                }
                var shift = 0.0
                var delta = [Double](repeating: 0, count: k)
                for c in 0..<k {
                    var s = 0.0
                    for j in 0..<d { let v = newCenters[c * d + j] - runs[r].centers[c * d + j]; s += v * v }
                    delta[c] = s.squareRoot()
                    shift += s
                }
                trace?(r, iteration, runs[r].labels, runs[r].centers, shift > tol ? .running : .tolerance(shift))
                runs[r].centers = newCenters
                loosen(&runs[r], delta)
                if shift > tol { moving.append(r) }
            }
            // Runs stopped on the tolerance take one more E-step (cheap: bounds) for their final labels.
            let finishing = active.filter { !runs[$0].strict && !moving.contains($0) }
            // While many points still move, a full blocked pass is cheaper than per-point checks.
            let stepping = moving + finishing
            let full = stepping.filter { busy[$0] }, bounded = stepping.filter { !busy[$0] }
            if !full.isEmpty {
                for (r, fresh) in zip(full, fullAssignment(full.map { runs[$0].centers }).0) {
                    let moved = zip(fresh.labels, runs[r].labels).reduce(0) { $0 + ($1.0 != $1.1 ? 1 : 0) }
                    changed[r] = moved > 0
                    busy[r] = weights != nil || moved * 20 > fresh.labels.count
                    (runs[r].labels, runs[r].upper, runs[r].lower) = (fresh.labels, fresh.upper, fresh.lower)
                    (runs[r].sums, runs[r].counts, runs[r].squares) = (fresh.sums, fresh.counts, fresh.squares)
                    runs[r].moves = 0
                }
            }
            if !bounded.isEmpty {
                for (r, result) in zip(bounded, boundedAssignment(&runs, bounded)) {
                    changed[r] = result.changed
                    busy[r] = weights != nil || result.recomputed * 4 > data.rows
                }
            }

            active = moving
        }
        return runs.map { ($0.centers, $0.labels, $0.iterations, inertiaFromSums($0)) }
    }

    /// sum_c (Q_c - 2 c.S_c + n_c ||c||^2) with S_c, Q_c the float64 sums of the rows and of their
    /// squared norms over cluster c: the inertia of the labels at the centers, if its rounding error is
    /// provably below 1e-9 relative. Each of the three terms of a cluster is at most
    /// M_c = Q_c + n_c ||c||^2 in magnitude (2 |c.x| <= ||c||^2 + ||x||^2), and each is a float64 sum
    /// of at most n + moves + 17 iterations + d terms (rows, points moved by bounded E-steps, their 16
    /// group partials), so the error is at most 3 (n + moves + 17 iterations + d + 8) 2^-53 sum_c M_c.
    /// Otherwise nil (a float64 pass over the data computes it).
    private func inertiaFromSums(_ run: Run) -> Double? {
        guard exactNorms != nil, !run.squares.isEmpty else { return nil }
        let d = data.cols
        var total = 0.0, magnitude = 0.0
        for c in 0..<k {
            var cs = 0.0, cc = 0.0
            for j in 0..<d { let v = run.centers[c * d + j]; cs += v * run.sums[c * d + j]; cc += v * v }
            let count = run.counts[c]
            total += run.squares[c] - 2 * cs + count * cc
            magnitude += run.squares[c] + count * cc
        }
        let error = 3 * Double(data.rows + run.moves + 17 * run.iterations + d + 8) * 0x1p-53 * magnitude
        // float32 frames: 1e-9 relative; float64 frames are held to float64's standard (1e-13).
        if !(error <= (MemoryLayout<T>.size == 8 ? 1e-13 : 1e-9) * total) { return nil }
        return total
    }

    // MARK: - E-steps

    /// What the first E-step gathers on the side when it runs on the input itself (`gather`): the rows'
    /// squared norms, the column minima and maxima, the column sums (from the first run's cluster sums).
    struct Gathered {
        var rowNorms: [Double]
        var low: [T]
        var high: [T]
        var columnSums: [Double]
    }

    /// The first E-step on data whose norms are not known yet: it also gathers the norms and the
    /// statistics of the data in the same pass (KMeans decides from them whether this frame can be kept).
    mutating func firstAssignmentGathering(_ starts: [[Double]]) -> ([Run], Gathered) {
        let (runs, gathered) = fullAssignment(starts, gather: true)
        norms = gathered!.rowNorms.map { T($0) }
        exactNorms = gathered!.rowNorms
        return (runs, gathered!)
    }

    /// E-step of every given set of centers over all the data: labels, both bounds, sums and counts.
    /// One read of the data: each strip of 8 rows is multiplied by the centers (blocked SIMD kernel or
    /// gemm), assigned and added to its clusters' float64 sums while it is still in L1. With `gather`,
    /// the rows' norms and the column ranges are computed from the same loads.
    private func fullAssignment(_ starts: [[Double]], gather: Bool = false) -> ([Run], Gathered?) {
        let n = data.rows, d = data.cols, sets = starts.count, t = sets * k
        let centers = starts.flatMap { $0.map { T($0) } }
        let centerNorms = CenterDots.squaredNorms(centers, t, d)
        let weighted = weights != nil
        var labels = [Int32](repeating: 0, count: sets * n)
        var upper = [T](repeating: 0, count: sets * n), lower = [T](repeating: .infinity, count: sets * n)
        let squares = gather || exactNorms != nil
        var gatheredNorms = gather ? [Double](repeating: 0, count: n) : []
        let (groups, groupSize) = groupLayout(n)
        var lows = gather ? [T](repeating: 0, count: groups * d) : [], highs = gather ? [T](repeating: 0, count: groups * d) : []
        // Views taken once, outside the worker threads (each thread writes only its own rows).
        let partials = labels.withUnsafeMutableBufferPointer { lab in
            upper.withUnsafeMutableBufferPointer { up in
            lower.withUnsafeMutableBufferPointer { lo in
            centers.withUnsafeBufferPointer { cp in
            centerNorms.withUnsafeBufferPointer { cn in
            norms.withUnsafeBufferPointer { known in
            (weights ?? []).withUnsafeBufferPointer { wp in
            gatheredNorms.withUnsafeMutableBufferPointer { gn in
            lows.withUnsafeMutableBufferPointer { lows in
            highs.withUnsafeMutableBufferPointer { highs in
            groupPartials(n, sets: sets, extraSums: squares ? sets * k : 0) { range, sums, counts in
                let strip = 8
                let tile = UnsafeMutablePointer<T>.allocate(capacity: strip * t)
                defer { tile.deallocate() }
                let square = sums + sets * k * d
                let group = range.lowerBound / groupSize
                let low = gather ? lows.baseAddress! + group * d : nil, high = gather ? highs.baseAddress! + group * d : nil
                if gather {
                    low!.update(from: data.row(range.lowerBound), count: d)
                    high!.update(from: data.row(range.lowerBound), count: d)
                }
                for r0 in stride(from: range.lowerBound, to: range.upperBound, by: strip) {
                    let r1 = min(range.upperBound, r0 + strip)
                    T.centerDots(data.row(r0), r1 - r0, d, cp.baseAddress!, t, tile)
                    for i in r0..<r1 {
                        var rowNorm: T = gather ? 0 : known[i]
                        for set in 0..<sets {
                            let (c, first, second) = CenterDots.twoNearest(tile + (i - r0) * t + set * k, cn.baseAddress! + set * k, k)
                            let at = set * k + c
                            if weighted {
                                // (never gathering: KMeans gathers statistics only for unit weights)
                                let w = wp[i]
                                Self.addScaled(data.row(i), w, sums + at * d, d)
                                if squares { square[at] += w * exactNorms![i] }
                                counts[at] += w
                            } else {
                                if gather && set == 0 {
                                    let q = T.rowStatistics(data.row(i), d, sums + at * d, low!, high!)
                                    gn[i] = q
                                    rowNorm = T(q)
                                } else {
                                    T.accumulate(data.row(i), into: sums + at * d, d)
                                }
                                if squares { square[at] += gather ? gn[i] : exactNorms![i] }
                                counts[at] += 1
                            }
                            lab[set * n + i] = Int32(c)
                            up[set * n + i] = distance(rowNorm, first)
                            lo[set * n + i] = k > 1 ? distance(rowNorm, second) : .infinity
                        }
                    }
                }
            }
            }
            }
            }
            }
            }
            }
            }
            }
            }
        }
        let runs = (0..<sets).map { set in
            Run(centers: starts[set], labels: Array(labels[(set * n)..<((set + 1) * n)]),
                upper: Array(upper[(set * n)..<((set + 1) * n)]), lower: Array(lower[(set * n)..<((set + 1) * n)]),
                sums: Array(partials.sums[(set * k * d)..<((set + 1) * k * d)]),
                counts: Array(partials.counts[(set * k)..<((set + 1) * k)]),
                squares: squares ? Array(partials.sums[(sets * k * d + set * k)..<(sets * k * d + (set + 1) * k)]) : [])
        }
        guard gather else { return (runs, nil) }
        var low = Array(lows[0..<d]), high = Array(highs[0..<d])
        for g in 1..<groups {
            for j in 0..<d { low[j] = min(low[j], lows[g * d + j]); high[j] = max(high[j], highs[g * d + j]) }
        }
        var columnSums = [Double](repeating: 0, count: d)
        for c in 0..<k { for j in 0..<d { columnSums[j] += partials.sums[c * d + j] } }
        return (runs, Gathered(rowNorms: gatheredNorms, low: low, high: high, columnSums: columnSums))
    }

    /// Hamerly E-step for the given runs (unit weights only: weighted runs always take full passes,
    /// whose sums are made afresh, so that moving weights in and out cannot leave a cluster emptied of
    /// its points with a rounding residue for a weight); updates labels, bounds and (by moving points) sums and counts.
    /// Returns, per run, whether any label changed and how many points were re-assigned in full.
    private func boundedAssignment(_ runs: inout [Run], _ which: [Int]) -> [(changed: Bool, recomputed: Int)] {
        let n = data.rows, d = data.cols, sets = which.count
        let before = which.map { runs[$0].labels }
        let centers = which.map { r -> UnsafeMutablePointer<T> in
            let p = UnsafeMutablePointer<T>.allocate(capacity: k * d)
            for t in 0..<(k * d) { p[t] = T(runs[r].centers[t]) }
            return p
        }
        defer { centers.forEach { $0.deallocate() } }
        let centerNorms = centers.map { CenterDots.squaredNorms(Array(UnsafeBufferPointer(start: $0, count: k * d)), k, d) }
        let halfGap = which.map { halfGapToNearest(runs[$0].centers) }
        // A distance from ||x||^2 + ||c||^2 - 2 x.c carries float32 rounding of the norms, which
        // the square root can magnify near 0: bounds are trusted only beyond a margin well above it.
        let largestCenter = centerNorms.map { ($0.max() ?? 0).squareRoot() }
        let partials = withRunArrays(&runs, which) { labels, upper, lower in
            groupPartials(n, sets: sets, extraSums: exactNorms != nil ? sets * k : 0, extraCounters: 2 * sets) { range, sums, counts in
                do {
                    let square = sums + sets * k * d
                    var scratch = [T](repeating: 0, count: k)
                    for i in range {
                        let row = data.row(i)
                        let rowNorm = norms[i].squareRoot()
                        for s in 0..<sets {
                            let own = Int(labels[s][i])
                            let margin = 1e-3 * (rowNorm + largestCenter[s])
                            let bound = max(halfGap[s][own], lower[s][i])
                            if upper[s][i] + margin <= bound { continue }
                            // Tighten the upper bound with the distance to the own center.
                            let ownDot = T.dotOne(row, centers[s] + own * d, d)
                            upper[s][i] = distance(norms[i], centerNorms[s][own] - 2 * ownDot)
                            if upper[s][i] + margin <= bound { continue }
                            // Full re-assignment, as a full pass would do it.
                            counts[sets * k + s] += 1
                            scratch.withUnsafeMutableBufferPointer { T.dotRow(row, d, centers[s], k, $0.baseAddress!) }
                            let (c, first, second) = scratch.withUnsafeBufferPointer { g in
                                centerNorms[s].withUnsafeBufferPointer { CenterDots.twoNearest(g.baseAddress!, $0.baseAddress!, k) }
                            }
                            upper[s][i] = distance(norms[i], first)
                            lower[s][i] = k > 1 ? distance(norms[i], second) : .infinity
                            if c != own {
                                labels[s][i] = Int32(c)
                                counts[s * k + own] -= 1
                                counts[s * k + c] += 1
                                T.accumulate(row, into: sums + (s * k + c) * d, d)
                                T.subtract(row, from: sums + (s * k + own) * d, d)
                                counts[sets * k + sets + s] += 1
                                if let exactNorms {
                                    square[s * k + c] += exactNorms[i]
                                    square[s * k + own] -= exactNorms[i]
                                }
                            }
                        }
                    }
                }
            }
        }
        for (s, r) in which.enumerated() {
            for c in 0..<k { runs[r].counts[c] += partials.counts[s * k + c] }
            for t in 0..<(k * d) { runs[r].sums[t] += partials.sums[s * k * d + t] }
            if exactNorms != nil { for c in 0..<k { runs[r].squares[c] += partials.sums[sets * k * d + s * k + c] } }
            runs[r].moves += Int(partials.counts[sets * k + sets + s])
        }
        return which.enumerated().map { (runs[$0.element].labels != before[$0.offset], Int(partials.counts[sets * k + $0.offset])) }
    }

    // MARK: - Helpers

    /// acc[j] += w * x[j] in float64 (the weighted path; w = 1 adds exactly what accumulate adds).
    @inline(__always)
    private static func addScaled(_ x: UnsafePointer<T>, _ w: Double, _ acc: UnsafeMutablePointer<Double>, _ d: Int) {
        var j = 0
        while j + 4 <= d {
            acc[j] += w * Double(x[j]); acc[j + 1] += w * Double(x[j + 1])
            acc[j + 2] += w * Double(x[j + 2]); acc[j + 3] += w * Double(x[j + 3])
            j += 4
        }
        while j < d { acc[j] += w * Double(x[j]); j += 1 }
    }

    /// sqrt(max(0, ||x||^2 + v)), v = ||c||^2 - 2 x.c.
    @inline(__always)
    private func distance(_ rowNorm: T, _ v: T) -> T { max(0, rowNorm + v).squareRoot() }

    /// Half the distance from each center to its nearest other center (float64, then float32 rounded
    /// down so the bound stays safe).
    private func halfGapToNearest(_ centers: [Double]) -> [T] {
        let d = data.cols
        return (0..<k).map { a in
            var nearest = Double.infinity
            for b in 0..<k where b != a {
                var s = 0.0
                for j in 0..<d { let v = centers[a * d + j] - centers[b * d + j]; s += v * v }
                nearest = min(nearest, s)
            }
            return T(0.5 * nearest.squareRoot()).nextDown
        }
    }

    /// After the centers moved by delta: upper += delta(own), lower -= largest delta of another center.
    private func loosen(_ run: inout Run, _ delta: [Double]) {
        var first = 0.0, second = 0.0, firstIndex = -1
        for c in 0..<k {
            if delta[c] > first { second = first; first = delta[c]; firstIndex = c } else if delta[c] > second { second = delta[c] }
        }
        let grow = delta.map { T($0).nextUp }
        for i in 0..<run.labels.count {
            let own = Int(run.labels[i])
            run.upper[i] += grow[own]
            run.lower[i] -= T(own == firstIndex ? second : first).nextUp
        }
    }

    /// Up to 16 groups of rows of at least 1024 rows (the same for any thread count): (count, size).
    private func groupLayout(_ n: Int) -> (Int, Int) {
        let groups = min(16, max(1, n / 1024))
        let size = (n + groups - 1) / groups
        return ((n + size - 1) / size, size)
    }

    /// Per fixed group of rows (in parallel), sums and counts for `sets` runs, added in group order.
    /// `sums` has sets * k * d entries, then `extraSums` more; `counts` has sets * k entries, then
    /// `extraCounters` more.
    private func groupPartials(_ n: Int, sets: Int, extraSums: Int = 0, extraCounters: Int = 0,
                               _ body: (Range<Int>, UnsafeMutablePointer<Double>, inout [Double]) -> Void) -> (sums: [Double], counts: [Double]) {
        let d = data.cols, sumCount = sets * k * d + extraSums
        let (_, groupSize) = groupLayout(n)
        let partials = Parallel.mapChunks(count: n, chunk: groupSize) { range -> ([Double], [Double]) in
            var sums = [Double](repeating: 0, count: sumCount)
            var counts = [Double](repeating: 0, count: sets * k + extraCounters)
            sums.withUnsafeMutableBufferPointer { body(range, $0.baseAddress!, &counts) }
            return (sums, counts)
        }
        var sums = [Double](repeating: 0, count: sumCount), counts = [Double](repeating: 0, count: sets * k + extraCounters)
        for (s, c) in partials {
            for i in 0..<sumCount { sums[i] += s[i] }
            for i in 0..<counts.count { counts[i] += c[i] }
        }
        return (sums, counts)
    }

    /// Mutable views of the runs' per-row arrays, shared by the worker threads (each writes only the
    /// rows of its own group).
    private func withRunArrays<R>(_ runs: inout [Run], _ which: [Int],
                                  _ body: ([UnsafeMutablePointer<Int32>], [UnsafeMutablePointer<T>], [UnsafeMutablePointer<T>]) -> R) -> R {
        let n = data.rows
        let labels = which.map { _ in UnsafeMutablePointer<Int32>.allocate(capacity: n) }
        let upper = which.map { _ in UnsafeMutablePointer<T>.allocate(capacity: n) }
        let lower = which.map { _ in UnsafeMutablePointer<T>.allocate(capacity: n) }
        for (s, r) in which.enumerated() {
            runs[r].labels.withUnsafeBufferPointer { labels[s].initialize(from: $0.baseAddress!, count: n) }
            runs[r].upper.withUnsafeBufferPointer { upper[s].initialize(from: $0.baseAddress!, count: n) }
            runs[r].lower.withUnsafeBufferPointer { lower[s].initialize(from: $0.baseAddress!, count: n) }
        }
        let result = body(labels, upper, lower)
        for (s, r) in which.enumerated() {
            runs[r].labels = Array(UnsafeBufferPointer(start: labels[s], count: n))
            runs[r].upper = Array(UnsafeBufferPointer(start: upper[s], count: n))
            runs[r].lower = Array(UnsafeBufferPointer(start: lower[s], count: n))
            labels[s].deallocate(); upper[s].deallocate(); lower[s].deallocate()
        }
        return result
    }
}

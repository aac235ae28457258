/// Limited-memory BFGS (Nocedal 1980; Liu & Nocedal 1989) for smooth unconstrained problems, with the
/// stopping rules and defaults of scipy.optimize.minimize(method="L-BFGS-B") as scikit-learn's
/// LogisticRegression calls it: m = 10 correction pairs, stop when max_i |g_i| <= gtol or when
/// (f_k - f_{k+1}) / max(|f_k|, |f_{k+1}|, 1) <= ftol (64 * DBL_EPSILON), at most maxIterations
/// iterations, at most 50 function evaluations per line search; the first step has length
/// min(1, 1/||g||) along -g and later trial steps are 1. The line search finds a step satisfying the
/// strong Wolfe conditions f(a) <= f(0) + c1 a f'(0), |f'(a)| <= c2 |f'(0)| with c1 = 1e-3, c2 = 0.9
/// (scipy's dcsrch values) by bracketing and safeguarded cubic interpolation (Nocedal & Wright,
/// Algorithms 3.5 and 3.6).
package struct LBFGS {
    package var memory = 10
    package var maxIterations = 100
    package var gtol = 1e-4
    package var ftol = 64 * Double.ulpOfOne
    package var maxLineSearch = 50
    package var c1 = 1e-3
    package var c2 = 0.9

    package init() {}

    package struct Result {
        package var x: [Double]
        package var f: Double
        package var iterations: Int
        package var evaluations: Int
        package var converged: Bool
        /// Why the run stopped.
        package var reason: StopReason
    }

    package enum StopReason: Sendable { case gradient, relativeDecrease, lineSearch, maxIterations }

    /// Minimises `fg` (value; gradient written to its second argument) from x0.
    package func minimize(_ x0: [Double],
                         _ fg: (UnsafeBufferPointer<Double>, UnsafeMutableBufferPointer<Double>) throws -> Double,
                         onIteration: ((Int, Double) throws -> Void)? = nil) throws -> Result {
        let n = x0.count
        var x = x0
        var g = [Double](repeating: 0, count: n)
        var evaluations = 0
        func eval(_ point: [Double], _ grad: inout [Double]) throws -> Double {
            evaluations += 1
            return try point.withUnsafeBufferPointer { p in try grad.withUnsafeMutableBufferPointer { try fg(p, $0) } }
        }
        var f = try eval(x, &g)
        if maxAbs(g) <= gtol || n == 0 {
            return Result(x: x, f: f, iterations: 0, evaluations: evaluations, converged: true, reason: .gradient)
        }
        var sList: [[Double]] = [], yList: [[Double]] = [], rho: [Double] = []
        var alpha = [Double](repeating: 0, count: memory)
        var direction = [Double](repeating: 0, count: n)
        var trial = [Double](repeating: 0, count: n)
        var trialGrad = [Double](repeating: 0, count: n)
        var iteration = 0
        var converged = false
        var reason = StopReason.maxIterations
        while iteration < maxIterations {
            // Two-loop recursion: direction = -H g.
            for i in 0..<n { direction[i] = -g[i] }
            let pairs = sList.count
            if pairs > 0 {
                for j in stride(from: pairs - 1, through: 0, by: -1) {
                    alpha[j] = rho[j] * dot(sList[j], direction)
                    axpy(-alpha[j], yList[j], &direction)
                }
                let yy = dot(yList[pairs - 1], yList[pairs - 1])
                let gamma = yy > 0 ? 1 / (rho[pairs - 1] * yy) : 1
                for i in 0..<n { direction[i] *= gamma }
                for j in 0..<pairs {
                    let beta = rho[j] * dot(yList[j], direction)
                    axpy(alpha[j] - beta, sList[j], &direction)
                }
            }
            var slope = dot(g, direction)
            if !(slope < 0) {
                sList.removeAll(); yList.removeAll(); rho.removeAll()
                for i in 0..<n { direction[i] = -g[i] }
                slope = dot(g, direction)
            }
            let initialStep = sList.isEmpty ? min(1, 1 / norm(direction)) : 1
            // Strong-Wolfe line search.
            var found = try lineSearch(x: x, f0: f, slope0: slope, direction: direction, initialStep: initialStep,
                                       trial: &trial, trialGrad: &trialGrad, eval: eval)
            if found == nil && !sList.isEmpty {
                // Retry once from steepest descent with a fresh memory (as L-BFGS-B does).
                sList.removeAll(); yList.removeAll(); rho.removeAll()
                for i in 0..<n { direction[i] = -g[i] }
                slope = dot(g, direction)
                found = try lineSearch(x: x, f0: f, slope0: slope, direction: direction,
                                       initialStep: min(1, 1 / norm(direction)),
                                       trial: &trial, trialGrad: &trialGrad, eval: eval)
            }
            guard let fNew = found else { reason = .lineSearch; break }   // no decrease possible at this precision
            iteration += 1
            var s = [Double](repeating: 0, count: n), y = [Double](repeating: 0, count: n)
            for i in 0..<n { s[i] = trial[i] - x[i]; y[i] = trialGrad[i] - g[i] }
            let sy = dot(s, y)
            if sy > Double.ulpOfOne * dot(y, y) {
                if sList.count == memory { sList.removeFirst(); yList.removeFirst(); rho.removeFirst() }
                sList.append(s); yList.append(y); rho.append(1 / sy)
            }
            let fOld = f
            swap(&x, &trial)
            swap(&g, &trialGrad)
            f = fNew
            try onIteration?(iteration, f)
            if maxAbs(g) <= gtol { converged = true; reason = .gradient; break }
            if (fOld - f) / max(abs(fOld), abs(f), 1) <= ftol { converged = true; reason = .relativeDecrease; break }
        }
        return Result(x: x, f: f, iterations: iteration, evaluations: evaluations, converged: converged, reason: reason)
    }

    /// Returns f at the accepted point (written to trial / trialGrad), or nil if no step decreases f.
    private func lineSearch(x: [Double], f0: Double, slope0: Double, direction: [Double], initialStep: Double,
                            trial: inout [Double], trialGrad: inout [Double],
                            eval: ([Double], inout [Double]) throws -> Double) throws -> Double? {
        let n = x.count
        var bestStep = 0.0, bestF = f0
        var bestPoint: [Double]? = nil, bestGrad: [Double]? = nil
        func evaluate(_ a: Double) throws -> (Double, Double) {
            for i in 0..<n { trial[i] = x[i] + a * direction[i] }
            let fa = try eval(trial, &trialGrad)
            let da = dot(trialGrad, direction)
            if fa.isFinite && fa < bestF && fa <= f0 + c1 * a * slope0 {
                bestF = fa; bestStep = a; bestPoint = trial; bestGrad = trialGrad
            }
            return (fa, da)
        }
        var evaluations = 0
        var aPrev = 0.0, fPrev = f0, dPrev = slope0
        var a = initialStep
        var lo = 0.0, fLo = f0, dLo = slope0, hi = 0.0, fHi = 0.0, dHi = 0.0
        var bracketed = false
        while evaluations < maxLineSearch {
            let (fa, da) = try evaluate(a)
            evaluations += 1
            if !fa.isFinite {
                // Overflow: shrink towards the last good step.
                a = aPrev + 0.1 * (a - aPrev)
                continue
            }
            if fa > f0 + c1 * a * slope0 || (evaluations > 1 && fa >= fPrev) {
                lo = aPrev; fLo = fPrev; dLo = dPrev; hi = a; fHi = fa; dHi = da; bracketed = true; break
            }
            if abs(da) <= -c2 * slope0 { return fa }
            if da >= 0 {
                lo = a; fLo = fa; dLo = da; hi = aPrev; fHi = fPrev; dHi = dPrev; bracketed = true; break
            }
            let next = a + min(4 * (a - aPrev), max(1.1 * (a - aPrev), cubicMinimizer(aPrev, fPrev, dPrev, a, fa, da) - a))
            aPrev = a; fPrev = fa; dPrev = da
            a = next.isFinite && next > a ? next : 2 * a
        }
        if bracketed {
            while evaluations < maxLineSearch {
                let width = hi - lo
                if abs(width) <= 1e-14 * max(abs(lo), abs(hi)) { break }
                var aj = cubicMinimizer(lo, fLo, dLo, hi, fHi, dHi)
                let left = min(lo, hi), right = max(lo, hi), span = right - left
                if !aj.isFinite || aj < left + 0.1 * span || aj > right - 0.1 * span { aj = 0.5 * (lo + hi) }
                let (fa, da) = try evaluate(aj)
                evaluations += 1
                if !fa.isFinite || fa > f0 + c1 * aj * slope0 || fa >= fLo {
                    hi = aj; fHi = fa.isFinite ? fa : .greatestFiniteMagnitude; dHi = da.isFinite ? da : 0
                } else {
                    if abs(da) <= -c2 * slope0 { return fa }
                    if da * (hi - lo) >= 0 { hi = lo; fHi = fLo; dHi = dLo }
                    lo = aj; fLo = fa; dLo = da
                }
            }
        }
        // No strong-Wolfe point within the budget: accept the best sufficient-decrease point, if any.
        guard bestStep > 0, let p = bestPoint, let gr = bestGrad else { return nil }
        trial = p
        trialGrad = gr
        return bestF
    }

    /// Minimiser of the cubic interpolating (a, fa, da) and (b, fb, db); NaN if it has none.
    private func cubicMinimizer(_ a: Double, _ fa: Double, _ da: Double, _ b: Double, _ fb: Double, _ db: Double) -> Double {
        let d1 = da + db - 3 * (fa - fb) / (a - b)
        let disc = d1 * d1 - da * db
        if disc < 0 { return .nan }
        let d2 = (b > a ? 1.0 : -1.0) * disc.squareRoot()
        return b - (b - a) * (db + d2 - d1) / (db - da + 2 * d2)
    }
}

@inline(__always) func dot(_ a: [Double], _ b: [Double]) -> Double {
    a.withUnsafeBufferPointer { pa in
        b.withUnsafeBufferPointer { pb in
            var s0 = SIMD4<Double>(), s1 = SIMD4<Double>()
            let n = pa.count
            var i = 0
            while i + 8 <= n {
                s0 += UnsafeRawPointer(pa.baseAddress! + i).loadUnaligned(as: SIMD4<Double>.self)
                    * UnsafeRawPointer(pb.baseAddress! + i).loadUnaligned(as: SIMD4<Double>.self)
                s1 += UnsafeRawPointer(pa.baseAddress! + i + 4).loadUnaligned(as: SIMD4<Double>.self)
                    * UnsafeRawPointer(pb.baseAddress! + i + 4).loadUnaligned(as: SIMD4<Double>.self)
                i += 8
            }
            var t = 0.0
            while i < n { t += pa[i] * pb[i]; i += 1 }
            return (s0 + s1).sum() + t
        }
    }
}

@inline(__always) func axpy(_ a: Double, _ x: [Double], _ y: inout [Double]) {
    x.withUnsafeBufferPointer { px in
        y.withUnsafeMutableBufferPointer { py in
            for i in 0..<px.count { py[i] += a * px[i] }
        }
    }
}

@inline(__always) func norm(_ a: [Double]) -> Double { dot(a, a).squareRoot() }

@inline(__always) func maxAbs(_ a: [Double]) -> Double {
    var m = 0.0
    for v in a { m = max(m, abs(v)) }
    return m
}

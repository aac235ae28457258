import XCTest
@testable import LaminaCore

final class LinearProbeTests: XCTestCase {
    /// L-BFGS on a convex quadratic 0.5 x^T A x - b^T x (A diagonal): the minimiser is b / a.
    func testLBFGSQuadratic() throws {
        let a: [Double] = [1, 10, 100, 0.5, 3], b: [Double] = [1, -2, 3, 4, -5]
        var solver = LBFGS()
        solver.gtol = 1e-12
        solver.maxIterations = 200
        let r = try solver.minimize([Double](repeating: 0, count: 5)) { x, g in
            var f = 0.0
            for i in 0..<5 { f += 0.5 * a[i] * x[i] * x[i] - b[i] * x[i]; g[i] = a[i] * x[i] - b[i] }
            return f
        }
        XCTAssertTrue(r.converged)
        for i in 0..<5 { XCTAssertEqual(r.x[i], b[i] / a[i], accuracy: 1e-7) }   // ftol = 64 eps stops first
    }

    /// Two points x = -1 (class 0) and x = +1 (class 1), C = 1: by symmetry b = 0 and w solves
    /// f'(w) = -1 / (1 + e^w) + w / 2 = 0 (mean log-loss + w^2 / (2 C n), n = 2).
    func testBinaryHandSolved() throws {
        var lo = 0.0, hi = 5.0
        for _ in 0..<200 {
            let mid = (lo + hi) / 2
            if -1 / (1 + exp(mid)) + mid / 2 < 0 { lo = mid } else { hi = mid }
        }
        var p = LogisticProbe.Parameters()
        p.tolerance = 1e-12
        p.maxIterations = 500
        let probe = try LogisticProbe(p)
        try TestData.withView([-1, 1], d: 1) { try probe.fit($0, labels: EncodedLabels([3, 9])) }
        XCTAssertEqual(probe.coef.count, 1)
        XCTAssertEqual(probe.coef[0], lo, accuracy: 1e-8)
        XCTAssertEqual(probe.intercept[0], 0, accuracy: 1e-8)
        XCTAssertEqual(probe.classes, [3, 9])
        let pred = try TestData.withView([-2, 0.5], d: 1) { try probe.predict($0) }
        XCTAssertEqual(pred, [3, 9])
    }

    /// The analytic gradient of the multinomial objective matches central differences (float64 pass).
    func testGradientMatchesFiniteDifferences() {
        let (x, labels) = TestData.blobs(clusters: 3, perCluster: 20, d: 4, spread: 2)
        TestData.withView(x, d: 4) { view in
            let weights = (0..<60).map { 0.5 + Double($0 % 3) * 0.25 }
            let total = weights.reduce(0, +)
            var objective = LogisticObjective(x: view, link: .softmax, outputs: 3, classOf: labels, targets: [],
                                              rowWeight: weights.map { $0 / total }, l2: 1 / (0.7 * total),
                                              fitIntercept: true, parallel: true)
            objective.precise = true
            var theta = (0..<15).map { Double($0 % 7) * 0.1 - 0.3 }
            var grad = [Double](repeating: 0, count: 15), scratch = grad
            _ = theta.withUnsafeBufferPointer { t in grad.withUnsafeMutableBufferPointer { objective.evaluate(t, $0) } }
            for i in 0..<15 {
                let h = 1e-6
                theta[i] += h
                let fp = theta.withUnsafeBufferPointer { t in scratch.withUnsafeMutableBufferPointer { objective.evaluate(t, $0) } }
                theta[i] -= 2 * h
                let fm = theta.withUnsafeBufferPointer { t in scratch.withUnsafeMutableBufferPointer { objective.evaluate(t, $0) } }
                theta[i] += h
                XCTAssertEqual(grad[i], (fp - fm) / (2 * h), accuracy: 1e-7, "parameter \(i)")
            }
        }
    }

    /// Predicted probabilities sum to 1 and a well-separated problem is learned; softmax coefficients
    /// sum to zero over classes.
    func testMultinomialInvariants() throws {
        let (x, labels) = TestData.blobs(clusters: 4, perCluster: 30, d: 3)
        let probe = try LogisticProbe(LogisticProbe.Parameters())
        try TestData.withView(x, d: 3) { try probe.fit($0, labels: EncodedLabels(labels)) }
        let proba = try TestData.withView(x, d: 3) { try probe.predictProba($0) }
        for i in 0..<120 { XCTAssertEqual(proba[(i * 4)..<(i * 4 + 4)].reduce(0, +), 1, accuracy: 1e-12) }
        for j in 0..<3 { XCTAssertEqual((0..<4).reduce(0.0) { $0 + probe.coef[$1 * 3 + j] }, 0, accuracy: 1e-12) }
        let acc = try TestData.withView(x, d: 3) { v in try labels.withUnsafeBufferPointer { try probe.accuracy(v, labels: $0) } }
        XCTAssertGreaterThan(acc, 0.95)
    }

    func testOneClassIsAnError() throws {
        let probe = try LogisticProbe(LogisticProbe.Parameters())
        XCTAssertThrowsError(try TestData.withView([1, 2, 3], d: 1) { try probe.fit($0, labels: EncodedLabels([4, 4, 4])) })
        var bad = LogisticProbe.Parameters()
        bad.C = 0
        XCTAssertThrowsError(try LogisticProbe(bad))
    }

    /// 1-D ridge: w = sum xc yc / (sum xc^2 + alpha), b = ybar - xbar w.
    func testRidgeOneFeature() throws {
        let x: [Float] = [1, 2, 4, 7], y: [Double] = [2, 3, 9, 11]
        let xbar = 3.5, ybar = 6.25
        var sxy = 0.0, sxx = 0.0
        for i in 0..<4 { sxy += (Double(x[i]) - xbar) * (y[i] - ybar); sxx += (Double(x[i]) - xbar) * (Double(x[i]) - xbar) }
        let fit = try TestData.withView(x, d: 1) { v in try y.withUnsafeBufferPointer { try RidgeRegression.fit(v, y: $0, targets: 1, alpha: 2) } }
        XCTAssertEqual(fit.coef[0], sxy / (sxx + 2), accuracy: 1e-12)
        XCTAssertEqual(fit.intercept[0], ybar - xbar * sxy / (sxx + 2), accuracy: 1e-12)
    }

    /// StratifiedKFold's allocation: classes by first appearance, sorted labels dealt round-robin.
    func testStratifiedFoldSizes() throws {
        // class 5 (first seen) x 7, class 1 x 4: sorted order 5555555 1111, k = 3:
        // positions 0..6 -> folds 0,1,2,0,1,2,0 (class 5: 3,2,2); 7..10 -> 1,2,0,1 (class 1: 1,2,1)
        let labels: [Int32] = [5, 1, 5, 5, 1, 5, 5, 1, 5, 1, 5]
        let folds = try labels.withUnsafeBufferPointer { try ProbeTasks.stratifiedFolds($0, folds: 3, seed: 9) }
        func count(_ c: Int32, _ f: Int32) -> Int { zip(labels, folds).filter { $0.0 == c && $0.1 == f }.count }
        XCTAssertEqual([count(5, 0), count(5, 1), count(5, 2)], [3, 2, 2])
        XCTAssertEqual([count(1, 0), count(1, 1), count(1, 2)], [1, 2, 1])
        XCTAssertThrowsError(try labels.withUnsafeBufferPointer { try ProbeTasks.stratifiedFolds($0, folds: 5, seed: 0) })
    }

    /// GAP by hand: rows [0.9, 0.1] (pos, neg) and [0.8, 0.7] (neg, pos), k = 1: pooled list 0.9 (pos),
    /// 0.8 (neg); 2 positives in total: AP = (1/1) / 2 = 0.5. k = 2: 0.9 pos, 0.8 neg, 0.7 pos, 0.1 neg:
    /// (1/1 + 2/3) / 2.
    func testGapAndHitByHand() throws {
        let p: [Float] = [0.9, 0.1, 0.8, 0.7], a: [Float] = [1, 0, 0, 1]
        try p.withUnsafeBufferPointer { pb in
            try a.withUnsafeBufferPointer { ab in
                XCTAssertEqual(try MultiLabelMetrics.gap(predictions: pb, actuals: ab, n: 2, classes: 2, topK: 1), 0.5, accuracy: 1e-15)
                XCTAssertEqual(try MultiLabelMetrics.gap(predictions: pb, actuals: ab, n: 2, classes: 2, topK: 2), (1 + 2.0 / 3) / 2, accuracy: 1e-15)
                XCTAssertEqual(MultiLabelMetrics.hitAtOne(predictions: pb, actuals: ab, n: 2, classes: 2), 0.5)
            }
        }
    }

    func testControlLabelsPerType() throws {
        let types: [Int32] = [1, 2, 1, 3, 2, 1, 3, 3]
        let labels: [Int32] = [0, 1, 1, 0, 1, 0, 1, 0]
        let ctl = try types.withUnsafeBufferPointer { t in try labels.withUnsafeBufferPointer { try ProbeTasks.controlLabels(types: t, labels: $0, seed: 4) } }
        for (i, t) in types.enumerated() { for (j, u) in types.enumerated() where t == u { XCTAssertEqual(ctl[i], ctl[j]) } }
        XCTAssertTrue(ctl.allSatisfy { $0 == 0 || $0 == 1 })
    }

    /// INLP's projection is symmetric and idempotent and removes the classifier directions.
    func testINLPProjection() throws {
        let (x, labels) = TestData.blobs(clusters: 2, perCluster: 40, d: 5)
        let r = try TestData.withView(x, d: 5) { v in
            try labels.withUnsafeBufferPointer {
                try Directions.inlp(v, labels: $0, dev: nil, devLabels: nil, iterations: 3, minAccuracy: -1, parameters: LogisticProbe.Parameters())
            }
        }
        let d = 5, p = r.projection
        for i in 0..<d {
            for j in 0..<d {
                XCTAssertEqual(p[i * d + j], p[j * d + i], accuracy: 1e-12)
                var pp = 0.0
                for t in 0..<d { pp += p[i * d + t] * p[t * d + j] }
                XCTAssertEqual(pp, p[i * d + j], accuracy: 1e-10)
            }
        }
        XCTAssertEqual(r.basisRank, 3)
        XCTAssertEqual(r.rank, [1, 1, 1])
        XCTAssertGreaterThan(r.accuracy[0], 0.95)
    }
}

import XCTest
@testable import LaminaCore

final class KMeansTests: XCTestCase {
    func testRecoversSeparatedBlobsDeterministically() throws {
        let (x, labels) = TestData.blobs(clusters: 4, perCluster: 300, d: 6, spread: 20)
        let fit = { (seed: UInt64) -> KMeans in
            let model = try! KMeans(.init(clusterCount: 4, initCount: 2, seed: seed))
            try! TestData.withView(x, d: 6) { try model.fit($0) }
            return model
        }
        let a = fit(7), b = fit(7)
        XCTAssertEqual(a.centers, b.centers)
        XCTAssertEqual(ExternalIndices.adjustedRand(try Contingency(true: EncodedLabels(labels), pred: EncodedLabels(a.labels))), 1)
        // inertia is the float64 sum of squared distances to the assigned centers
        var inertia = 0.0
        for i in 0..<labels.count {
            for j in 0..<6 { let t = Double(x[i * 6 + j]) - Double(a.centers[Int(a.labels[i]) * 6 + j]); inertia += t * t }
        }
        XCTAssertEqual(a.inertia, inertia, accuracy: inertia * 1e-5)
        XCTAssertEqual(try TestData.withView(x, d: 6) { try a.predict($0) }, a.labels)
    }

    func testRejectsMoreClustersThanSamples() throws {
        let model = try KMeans(.init(clusterCount: 5))
        XCTAssertThrowsError(try TestData.withView([0, 1, 2], d: 1) { try model.fit($0) }) { error in
            XCTAssertEqual((error as? LaminaError)?.message, "n_samples=3 should be >= n_clusters=5.")
        }
        XCTAssertThrowsError(try KMeans(.init(clusterCount: 2, tolerance: -1)))
    }

    /// All points identical: every cluster but one is empty after the first step; relocation keeps k
    /// centers and the inertia is 0.
    func testDegenerateDataWithEmptyClusters() throws {
        let model = try KMeans(.init(clusterCount: 3, initialization: .random, initCount: 3, seed: 1))
        try TestData.withView([Float](repeating: 2, count: 20), d: 2) { try model.fit($0) }
        XCTAssertEqual(model.inertia, 0)
        XCTAssertEqual(model.centers.count, 6)
        XCTAssertTrue(model.centers.allSatisfy { $0 == 2 })
    }

    /// scikit-learn's test_kmeans_relocated_clusters: the far center is empty after the first E-step
    /// and takes the point farthest from its center, which leaves its old cluster in the same M-step
    /// (_relocate_empty_clusters_dense): 3 iterations, and one iteration gives scikit-learn's 22/36.
    func testEmptyClusterRelocationAsScikitLearn() throws {
        let x: [Float] = [0, 0, 0.5, 0, 0.5, 1, 1, 1]
        let initial: [Float] = [0.5, 0.5, 3, 3]
        for (maxIterations, iterations, inertia) in [(300, 3, 0.25), (1, 1, 22.0 / 36)] {
            let model = try KMeans(.init(clusterCount: 2, initialization: .given, maxIterations: maxIterations))
            try TestData.withView(x, d: 2) { v in try TestData.withView(initial, d: 2) { try model.fit(v, initialCenters: $0) } }
            XCTAssertEqual(model.iterations, iterations)
            XCTAssertEqual(model.inertia, inertia, accuracy: 1e-12)
        }
    }

    /// scikit-learn's test_relocating_with_duplicates: more clusters than distinct points; every point
    /// sits on its center, so nothing is relocated, the empty cluster takes the largest cluster's
    /// center, nothing moves: one iteration, inertia exactly 0, centers exactly the points.
    func testNoRelocationWhenEveryPointIsOnItsCenter() throws {
        let x: [Float] = [0, 0, 1, 1, 1, 1, 1, 0, 0, 1]
        let model = try KMeans(.init(clusterCount: 5, initialization: .given))
        try TestData.withView(x, d: 2) { v in try model.fit(v, initialCenters: v) }
        XCTAssertEqual(model.iterations, 1)
        XCTAssertEqual(model.inertia, 0)
        XCTAssertEqual(model.labels, [0, 1, 1, 3, 4])
        XCTAssertEqual(model.centers, [0, 0, 1, 1, 1, 1, 1, 0, 0, 1])
    }

    /// Given and random starts: the first E-step gathers the data's statistics on the side (norms,
    /// ranges, column sums from the cluster sums); they must be those of the separate pass.
    func testFirstEStepGathersTheSameStatistics() throws {
        let d = 20
        let (x, _) = TestData.blobs(clusters: 3, perCluster: 700, d: d, spread: 5)
        try TestData.withView(x, d: d) { view in
            let separate = KMeans.statistics(view)
            let starts = [(0..<(3 * d)).map { Double(x[($0 / d) * 701 * d + $0 % d]) }]
            var lloyd = LockstepLloyd(data: view, norms: [], exactNorms: nil, k: 3, maxIterations: 10, tol: 0)
            let (runs, gathered) = lloyd.firstAssignmentGathering(starts)
            let fused = KMeans.statistics(columnSums: gathered.columnSums, low: gathered.low, high: gathered.high,
                                          rowNorms: gathered.rowNorms)
            XCTAssertEqual(fused.rowNorms, separate.rowNorms)
            XCTAssertEqual(fused.low, separate.low)
            XCTAssertEqual(fused.high, separate.high)
            for j in 0..<d { XCTAssertEqual(fused.mean[j], separate.mean[j], accuracy: 1e-12 * max(1, abs(separate.mean[j]))) }
            XCTAssertEqual(fused.totalVariance, separate.totalVariance, accuracy: 1e-12 * separate.totalVariance)
            XCTAssertTrue(fused.isWellScaled)
            XCTAssertEqual(runs[0].counts.reduce(0, +), Double(view.rows))
            // The run's sums of squared norms add up to all rows' squared norms.
            XCTAssertEqual(runs[0].squares.reduce(0, +), separate.rowNorms.reduce(0, +), accuracy: 1e-9 * separate.rowNorms.reduce(0, +))
        }
    }
}

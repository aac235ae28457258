import XCTest
@testable import LaminaCore

final class InternalIndicesTests: XCTestCase {
    /// The tiled silhouette equals a direct O(n^2) float64 computation, with more rows and columns than
    /// one tile (so tile edges, class runs split across tiles and the diagonal are all exercised). The
    /// input is float32, computed in float64 (widened exactly): float64 accuracy, 1e-12.
    func testSilhouetteMatchesDirectComputation() throws {
        let d = 5
        let (x, labels) = TestData.blobs(clusters: 3, perCluster: 900, d: d, spread: 2)
        let n = labels.count
        let shuffled = (0..<n).map { ($0 * 7919) % n }   // interleave classes
        let xs = shuffled.flatMap { i in x[(i * d)..<(i * d + d)] }, ls = shuffled.map { labels[$0] }
        let encoded = EncodedLabels(ls)
        let got = try TestData.withView(xs, d: d) { try InternalIndices.silhouetteSamples($0, labels: encoded, metric: .euclidean) }
        for i in stride(from: 0, to: n, by: 97) {
            var sums = [Double](repeating: 0, count: 3), counts = [Double](repeating: 0, count: 3)
            for j in 0..<n where j != i { sums[Int(ls[j])] += TestData.distance(xs, d, i, j); counts[Int(ls[j])] += 1 }
            let own = Int(ls[i])
            let a = sums[own] / counts[own]
            let b = (0..<3).filter { $0 != own }.map { sums[$0] / counts[$0] }.min()!
            XCTAssertEqual(got[i], (b - a) / max(a, b), accuracy: 1e-12)
        }
        // float32 input and its float64 copy: the same computation
        let wide = xs.map(Double.init)
        let got64 = try wide.withUnsafeBufferPointer { p in
            try InternalIndices.silhouetteSamples(MatrixViewOf<Double>(base: p.baseAddress!, rows: n, cols: d),
                                                  labels: encoded, metric: .euclidean)
        }
        for i in 0..<n { XCTAssertEqual(got[i], got64[i], accuracy: 1e-13) }
    }

    /// The float64 path (float64 points, dgemm tiles): per-sample silhouettes of float64 data far from
    /// the origin agree with a direct float64 computation to 1e-12.
    func testSilhouetteFloat64MatchesDirectComputation() throws {
        let d = 7, n = 1200
        var rng = Xoshiro256(seed: 11)
        let labels = (0..<n).map { Int32($0 % 4) }
        let x: [Double] = (0..<(n * d)).map { t in 1000 + Double(labels[t / d]) * 0.5 + rng.nextUnit() }
        let encoded = EncodedLabels(labels)
        let got = try x.withUnsafeBufferPointer { p in
            try InternalIndices.silhouetteSamples(MatrixViewOf<Double>(base: p.baseAddress!, rows: n, cols: d),
                                                  labels: encoded, metric: .euclidean)
        }
        func distance(_ i: Int, _ j: Int) -> Double {
            var s = 0.0
            for t in 0..<d { let v = x[i * d + t] - x[j * d + t]; s += v * v }
            return s.squareRoot()
        }
        for i in stride(from: 0, to: n, by: 37) {
            var sums = [Double](repeating: 0, count: 4), counts = [Double](repeating: 0, count: 4)
            for j in 0..<n where j != i { sums[Int(labels[j])] += distance(i, j); counts[Int(labels[j])] += 1 }
            let own = Int(labels[i])
            let a = sums[own] / counts[own]
            let b = (0..<4).filter { $0 != own }.map { sums[$0] / counts[$0] }.min()!
            XCTAssertEqual(got[i], (b - a) / max(a, b), accuracy: 1e-12)
        }
    }

    func testSilhouetteSingletonClusterIsZero() throws {
        let x: [Float] = [0, 0, 0.1, 0, 5, 5, 5.1, 5, 9, 9]
        let labels = EncodedLabels([0, 0, 1, 1, 2])
        let s = try TestData.withView(x, d: 2) { try InternalIndices.silhouetteSamples($0, labels: labels, metric: .euclidean) }
        XCTAssertEqual(s[4], 0)
        XCTAssertGreaterThan(s[0], 0.9)
    }

    /// scikit-learn's test_cluster_size_1: integer data give exact distances (the working copy is
    /// centred on rounded shifts), so exactly 0.5, and identical rows exactly 0 with sqeuclidean.
    func testSilhouetteExactOnIntegerData() throws {
        let x: [Float] = [0, 1, 1, 2, 3, 3]
        let labels = EncodedLabels([0, 1, 1, 1, 2, 2])
        for metric in [DistanceMetric.euclidean, .sqeuclidean] {
            let s = try TestData.withView(x, d: 1) { try InternalIndices.silhouetteSamples($0, labels: labels, metric: metric) }
            XCTAssertEqual(s, [0, 0.5, 0.5, 0, 1, 1], "\(metric)")
        }
    }

    func testLabelCountRule() {
        let x: [Float] = [0, 1, 2, 3]
        XCTAssertThrowsError(try TestData.withView(x, d: 1) { try InternalIndices.daviesBouldin($0, labels: EncodedLabels([1, 1, 1, 1])) }) { error in
            XCTAssertEqual((error as? LaminaError)?.kind, .invalidArgument)
            XCTAssertEqual((error as? LaminaError)?.message, "Number of labels is 1. Valid values are 2 to n_samples - 1 (inclusive)")
        }
        XCTAssertThrowsError(try TestData.withView(x, d: 1) { try InternalIndices.calinskiHarabasz($0, labels: EncodedLabels([1, 2, 3, 4])) })
    }

    /// Two clusters on a line: {0, 2} and {10, 12}. Centroids 1 and 11; s = 1 each; DB = (1+1)/10;
    /// CH = B/(k-1) / (W/(n-k)) = (2*25 + 2*25) / (4 / 2) = 50; Dunn = 8 / 2 = 4.
    func testHandComputedValues() throws {
        let x: [Float] = [0, 2, 10, 12]
        let labels = EncodedLabels([5, 5, 9, 9])
        try TestData.withView(x, d: 1) { v in
            XCTAssertEqual(try InternalIndices.daviesBouldin(v, labels: labels), 0.2, accuracy: 1e-12)
            XCTAssertEqual(try InternalIndices.calinskiHarabasz(v, labels: labels), 50, accuracy: 1e-9)
            XCTAssertEqual(try DunnIndex.compute(v, labels: labels), 4, accuracy: 1e-6)
            XCTAssertEqual(try DunnIndex.compute(v, labels: labels, linkage: .complete), 6, accuracy: 1e-6)
            XCTAssertEqual(try DunnIndex.compute(v, labels: labels, linkage: .centroid, diameter: .centroidMean), 5, accuracy: 1e-9)
            // W = 4, n = 4: centroid separation 100 -> 0.01; point-pair separation 64 -> 1/64.
            XCTAssertEqual(try XieBeniIndex.compute(v, labels: labels), 0.01, accuracy: 1e-12)
            XCTAssertEqual(try XieBeniIndex.compute(v, labels: labels, separation: .pointPair), 1.0 / 64, accuracy: 1e-7)
        }
    }

    /// GDV on two classes of two points each in 1-D: x = {0, 2 | 10, 12}; mean 6, std sqrt(26);
    /// scaled by 0.5/std: intra distances 2 * 0.5/sqrt(26), inter mean 10 * 0.5/sqrt(26).
    func testGDVHandComputed() throws {
        let x: [Float] = [0, 2, 10, 12]
        let got = try TestData.withView(x, d: 1) { try GeneralizedDiscriminationValue.compute($0, labels: EncodedLabels([0, 0, 1, 1])) }
        XCTAssertEqual(got, (1 - 5) / 26.0.squareRoot(), accuracy: 1e-6)
    }

    func testDeterministicAcrossThreadCounts() throws {
        let (x, labels) = TestData.blobs(clusters: 4, perCluster: 700, d: 9)
        let encoded = EncodedLabels(labels)
        Parallel.setThreadCount(1)
        let one = try TestData.withView(x, d: 9) { try InternalIndices.silhouetteSamples($0, labels: encoded, metric: .cosine) }
        let gdv1 = try TestData.withView(x, d: 9) { try GeneralizedDiscriminationValue.compute($0, labels: encoded) }
        Parallel.setThreadCount(2)
        let two = try TestData.withView(x, d: 9) { try InternalIndices.silhouetteSamples($0, labels: encoded, metric: .cosine) }
        let gdv2 = try TestData.withView(x, d: 9) { try GeneralizedDiscriminationValue.compute($0, labels: encoded) }
        Parallel.setThreadCount(0)
        XCTAssertTrue(one == two, "silhouette differs between 1 and 2 threads")
        XCTAssertTrue(gdv1 == gdv2, "GDV differs between 1 and 2 threads: \(gdv1) vs \(gdv2)")
    }
}

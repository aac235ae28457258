import XCTest
@testable import LaminaCore

/// KMeans sample weights (scikit-learn's sample_weight) in the core.
final class KMeansWeightsTests: XCTestCase {
    /// Integer weights are repeated rows: same labels (repeated), centers and inertia from the same start.
    func testIntegerWeightsAreRepeatedRows() throws {
        let d = 4
        let (x, _) = TestData.blobs(clusters: 3, perCluster: 200, d: d, spread: 3)
        let n = x.count / d
        var rng = Xoshiro256(seed: 3)
        let w = (0..<n).map { _ in Double(1 + rng.next() % 4) }
        var repeated: [Float] = []
        for i in 0..<n { for _ in 0..<Int(w[i]) { repeated += x[(i * d)..<((i + 1) * d)] } }
        let start = Array(x[0..<(3 * d)])
        let weighted = try KMeans(.init(clusterCount: 3, initialization: .given))
        try TestData.withView(x, d: d) { v in try TestData.withView(start, d: d) { try weighted.fit(v, initialCenters: $0, sampleWeight: w) } }
        let plain = try KMeans(.init(clusterCount: 3, initialization: .given))
        try TestData.withView(repeated, d: d) { v in try TestData.withView(start, d: d) { try plain.fit(v, initialCenters: $0) } }
        var expanded: [Int32] = []
        for i in 0..<n { expanded += [Int32](repeating: weighted.labels[i], count: Int(w[i])) }
        XCTAssertEqual(expanded, plain.labels)
        XCTAssertEqual(weighted.iterations, plain.iterations)
        XCTAssertEqual(weighted.inertia, plain.inertia, accuracy: 1e-6 * plain.inertia)
        for (a, b) in zip(weighted.centers64, plain.centers64) { XCTAssertEqual(a, b, accuracy: 1e-5) }
    }

    /// Unit weights give the unweighted fit bit for bit (k-means++ and random starts, several restarts).
    func testUnitWeightsAreTheUnweightedFit() throws {
        let d = 5
        let (x, _) = TestData.blobs(clusters: 4, perCluster: 150, d: d, spread: 4)
        for initialization in [KMeans.Initialization.kMeansPlusPlus, .random] {
            let a = try KMeans(.init(clusterCount: 4, initialization: initialization, initCount: 3, seed: 9))
            let b = try KMeans(.init(clusterCount: 4, initialization: initialization, initCount: 3, seed: 9))
            try TestData.withView(x, d: d) { try a.fit($0) }
            try TestData.withView(x, d: d) { try b.fit($0, sampleWeight: [Double](repeating: 1, count: x.count / d)) }
            XCTAssertEqual(a.labels, b.labels)
            XCTAssertEqual(a.centers, b.centers)
            XCTAssertEqual(a.inertia, b.inertia)
        }
    }

    func testBadWeightsAreRefused() throws {
        let model = try KMeans(.init(clusterCount: 2))
        let x: [Float] = [0, 1, 2, 3]
        for (w, word) in [([1.0, 2, 3], "n_samples = 4"), ([1, -1, 1, 1], ">= 0"), ([0, 0, 0, 0], "sums to"),
                          ([1, .nan, 1, 1], "finite")] as [([Double], String)] {
            XCTAssertThrowsError(try TestData.withView(x, d: 1) { try model.fit($0, sampleWeight: w) }) { error in
                XCTAssertTrue((error as? LaminaError)?.message.contains(word) ?? false, "\(error)")
            }
        }
        XCTAssertThrowsError(try TestData.withView(x, d: 1) {
            try KMeans(.init(clusterCount: 3, initialization: .random)).fit($0, sampleWeight: [1, 0, 0, 1])
        })
    }

    /// A given contingency table gives the MI of the labelings it counts.
    func testGivenContingencyMatchesLabelings() throws {
        let t: [Int32] = [0, 0, 0, 1, 1, 1, 2, 2], p: [Int32] = [0, 1, 1, 1, 0, 0, 2, 2]
        let want = ExternalIndices.mutualInformation(try Contingency(true: EncodedLabels(t), pred: EncodedLabels(p)))
        let rows: [Int64] = [0, 0, 1, 1, 2], cols: [Int64] = [0, 1, 1, 0, 2], counts: [Int64] = [1, 2, 1, 2, 2]
        let table = try rows.withUnsafeBufferPointer { r in try cols.withUnsafeBufferPointer { c in try counts.withUnsafeBufferPointer { v in
            try Contingency(rows: 3, cols: 3, cellRows: r, cellCols: c, counts: v) } } }
        XCTAssertEqual(ExternalIndices.mutualInformation(table), want, accuracy: 1e-15)
    }
}

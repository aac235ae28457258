import XCTest
@testable import LaminaCore

final class ExternalIndicesTests: XCTestCase {
    private func table(_ a: [Int32], _ b: [Int32]) throws -> Contingency {
        try Contingency(true: EncodedLabels(a), pred: EncodedLabels(b))
    }

    func testLabelEncodingKeepsValueOrder() {
        let e = EncodedLabels([40, -7, 40, Int32.max, -7, Int32.min])
        XCTAssertEqual(e.values, [Int32.min, -7, 40, Int32.max])
        XCTAssertEqual(e.codes, [2, 1, 2, 3, 1, 0])
        XCTAssertEqual(e.counts, [1, 2, 2, 1])
    }

    func testContingencyDenseAndSparsePathsAgree() throws {
        var rng = Xoshiro256(seed: 3)
        let n = 3000
        let a = (0..<n).map { _ in Int32(rng.next() % 2500) }, b = (0..<n).map { _ in Int32(rng.next() % 2500) }
        let c = try table(a, b)   // 2500 x 2500 > 4n cells: sorted-key path
        XCTAssertEqual(c.cellCounts.reduce(0, +), n)
        let small = try table(a.map { $0 % 7 }, b.map { $0 % 5 })
        var dense = [Int64](repeating: 0, count: small.rowCount * small.colCount)
        dense.withUnsafeMutableBufferPointer { small.fillDense($0.baseAddress!) }
        for i in 0..<n where i % 101 == 0 { XCTAssertGreaterThan(dense[Int(a[i] % 7) * 5 + Int(b[i] % 5)], 0) }
    }

    /// Hand-computed: true [0,0,1,1], pred [0,0,0,1]. Ordered pairs (12): tp=2, fn=2, fp=4, tn=4.
    func testPairCountsAndARI() throws {
        let c = try table([0, 0, 1, 1], [0, 0, 0, 1])
        let m = c.pairConfusion()
        XCTAssertEqual([m.tn, m.fp, m.fn, m.tp], [4, 4, 2, 2])
        XCTAssertEqual(ExternalIndices.rand(c), 0.5, accuracy: 1e-15)
        // 2 (2*4 - 2*4) / (...) = 0
        XCTAssertEqual(ExternalIndices.adjustedRand(c), 0, accuracy: 1e-15)
        XCTAssertEqual(ExternalIndices.adjustedRand(try table([1, 1, 2, 2], [7, 7, 3, 3])), 1)
    }

    func testInformationIndicesOnPerfectAndIndependentLabelings() throws {
        let perfect = try table([0, 0, 1, 1, 2, 2], [5, 5, 3, 3, 1, 1])
        XCTAssertEqual(ExternalIndices.mutualInformation(perfect), log(3.0), accuracy: 1e-14)
        for method in ExternalIndices.AverageMethod.allCases {
            XCTAssertEqual(ExternalIndices.normalizedMutualInformation(perfect, average: method), 1, accuracy: 1e-14)
            XCTAssertEqual(ExternalIndices.adjustedMutualInformation(perfect, average: method), 1, accuracy: 1e-12)
        }
        let independent = try table([0, 0, 1, 1], [0, 1, 0, 1])
        XCTAssertEqual(ExternalIndices.mutualInformation(independent), 0)
        XCTAssertEqual(ExternalIndices.fowlkesMallows(independent), 0)
        let (h, c, v) = ExternalIndices.homogeneityCompletenessV(try table([0, 0, 0], [1, 2, 3]), beta: 1)
        XCTAssertEqual(h, 1)
        XCTAssertEqual(c, 0)
        XCTAssertEqual(v, 0)
    }

    /// E[MI] by brute force over all permutations of a 6-sample labeling equals the closed form.
    func testExpectedMutualInformationMatchesEnumeration() throws {
        let a: [Int32] = [0, 0, 0, 1, 1, 2], b: [Int32] = [0, 0, 1, 1, 2, 2]
        var total = 0.0, count = 0
        func permute(_ p: inout [Int32], _ k: Int) {
            if k == p.count { total += ExternalIndices.mutualInformation(try! table(a, p)); count += 1; return }
            for i in k..<p.count { p.swapAt(k, i); permute(&p, k + 1); p.swapAt(k, i) }
        }
        var p = b
        permute(&p, 0)
        XCTAssertEqual(ExternalIndices.expectedMutualInformation(try table(a, b)), total / Double(count), accuracy: 1e-12)
    }
}

#if canImport(Glibc)
import Glibc
#endif

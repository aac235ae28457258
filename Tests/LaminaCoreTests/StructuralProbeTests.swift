import XCTest
@testable import LaminaCore

final class StructuralProbeTests: XCTestCase {
    /// Random items: lengths 2...9, d = 7, gold distances of a path-like tree, depths = index.
    private func items(seed: UInt64, count: Int = 9, d: Int = 7) -> (x: [Float], offsets: [Int64], dist: [Float], depth: [Float]) {
        var rng = Xoshiro256(seed: seed)
        var x: [Float] = [], offsets: [Int64] = [0], dist: [Float] = [], depth: [Float] = []
        for _ in 0..<count {
            let l = 2 + Int(rng.next() % 8)
            for _ in 0..<(l * d) { x.append(Float(rng.nextUnit() * 2 - 1)) }
            offsets.append(offsets.last! + Int64(l))
            for i in 0..<l { for j in 0..<l { dist.append(Float(abs(i - j))) } }
            for i in 0..<l { depth.append(Float(i)) }
        }
        return (x, offsets, dist, depth)
    }

    private func withItems<R>(_ x: [Float], _ offsets: [Int64], d: Int, _ body: (RaggedItems) throws -> R) throws -> R {
        try x.withUnsafeBufferPointer { xb in
            try offsets.withUnsafeBufferPointer { ob in
                try body(try RaggedItems(x: MatrixView(base: xb.baseAddress!, rows: x.count / d, cols: d), offsets: ob))
            }
        }
    }

    /// The analytic gradient (gemm + Laplacian form) against central finite differences of the loss in
    /// float64 terms; B is chosen so that no |pred - gold| is near 0 (the L1 kink).
    func testGradientMatchesFiniteDifferences() throws {
        let d = 7, rank = 3
        let data = items(seed: 5)
        for kind in StructuralProbeKind.allCases {
            var params = StructuralProbe.Parameters()
            params.kind = kind
            params.rank = rank
            let probe = try StructuralProbe(params)
            var rng = Xoshiro256(seed: 9)
            var b = (0..<(rank * d)).map { _ in Float(rng.nextUnit() * 0.6 - 0.3) }
            let targets = kind == .distance ? data.dist : data.depth
            try withItems(data.x, data.offsets, d: d) { items in
                try b.withUnsafeBufferPointer { try probe.setProjection($0, dims: d) }
                var grad = [Float](repeating: 0, count: rank * d)
                _ = try targets.withUnsafeBufferPointer { t in
                    try grad.withUnsafeMutableBufferPointer { try probe.loss(items, targets: t, gradient: $0.baseAddress!) }
                }
                let h: Float = 1e-3
                var checked = 0
                for idx in 0..<b.count {
                    let saved = b[idx]
                    b[idx] = saved + h
                    try b.withUnsafeBufferPointer { try probe.setProjection($0, dims: d) }
                    let up = try targets.withUnsafeBufferPointer { try probe.loss(items, targets: $0) }
                    b[idx] = saved - h
                    try b.withUnsafeBufferPointer { try probe.setProjection($0, dims: d) }
                    let down = try targets.withUnsafeBufferPointer { try probe.loss(items, targets: $0) }
                    b[idx] = saved
                    let fd = (up - down) / Double(2 * h)
                    XCTAssertEqual(Double(grad[idx]), fd, accuracy: 2e-3 * max(1, abs(fd)), "\(kind) entry \(idx)")
                    checked += 1
                }
                XCTAssertEqual(checked, rank * d)
            }
        }
    }

    /// Hand example: gold path 0-1-2-3; the prediction links 0-2 instead of 1-2 (2 of 3 edges right).
    func testSpanningTreeAndUUASByHand() throws {
        let gold: [Float] = [0, 1, 2, 3, 1, 0, 1, 2, 2, 1, 0, 1, 3, 2, 1, 0]
        var pred = gold
        pred[0 * 4 + 2] = 0.5; pred[2 * 4 + 0] = 0.5
        pred[1 * 4 + 2] = 5; pred[2 * 4 + 1] = 5
        let edges = pred.withUnsafeBufferPointer { StructuralMetrics.spanningTreeEdges($0.baseAddress!, length: 4, ignore: nil) }
        XCTAssertEqual(edges.map { [$0.0, $0.1] }, [[0, 2], [0, 1], [2, 3]])
        let offsets: [Int64] = [0, 4]
        let result = try offsets.withUnsafeBufferPointer { ob in
            try StructuralMetrics.uuas(predicted: pred.withUnsafeBufferPointer { $0 }, gold: gold.withUnsafeBufferPointer { $0 },
                                       layout: try RaggedLayout(offsets: ob, tokens: nil), ignore: nil)
        }
        XCTAssertEqual(result.correct, 2)
        XCTAssertEqual(result.total, 3)
        // ties resolve in row-major order: all equal -> the star around token 0
        let flat = [Float](repeating: 1, count: 9)
        let star = flat.withUnsafeBufferPointer { StructuralMetrics.spanningTreeEdges($0.baseAddress!, length: 3, ignore: nil) }
        XCTAssertEqual(star.map { [$0.0, $0.1] }, [[0, 1], [0, 2]])
        // ignored tokens are left out of the tree
        let ignore: [UInt8] = [0, 1, 0, 0]
        let kept = gold.withUnsafeBufferPointer { g in
            ignore.withUnsafeBufferPointer { StructuralMetrics.spanningTreeEdges(g.baseAddress!, length: 4, ignore: $0.baseAddress!) }
        }
        XCTAssertEqual(kept.map { [$0.0, $0.1] }, [[2, 3], [0, 2]])
    }

    func testSpearmanByHand() {
        var order: [Int] = []
        let ra = UnsafeMutablePointer<Double>.allocate(capacity: 4), rb = UnsafeMutablePointer<Double>.allocate(capacity: 4)
        defer { ra.deallocate(); rb.deallocate() }
        let a: [Float] = [0, 1, 1, 2], b: [Float] = [0, 3, 1, 1]
        // scipy.stats.spearmanr([0,1,1,2],[0,3,1,1]) = 0.5
        let r = StructuralMetrics.spearman(a, 1, b, 1, 4, ra: ra, rb: rb, order: &order)
        XCTAssertEqual(r, 0.5, accuracy: 1e-12)
        let c: [Float] = [2, 2, 2, 2]
        XCTAssertTrue(StructuralMetrics.spearman(a, 1, c, 1, 4, ra: ra, rb: rb, order: &order).isNaN)
    }

    /// Same seed -> same bits, for 1 and 2 threads.
    func testDeterministicAcrossThreadCounts() throws {
        let d = 7
        let data = items(seed: 3, count: 40)
        var results: [[Float]] = []
        for threads in [1, 2, 1] {
            Parallel.setThreadCount(threads)
            var params = StructuralProbe.Parameters()
            params.rank = 4; params.epochs = 3; params.batchSize = 9; params.seed = 21; params.learningRate = 0.01
            let probe = try StructuralProbe(params)
            try withItems(data.x, data.offsets, d: d) { items in
                try data.dist.withUnsafeBufferPointer { try probe.fit(items, targets: $0, devItems: 8) }
            }
            results.append(probe.projection)
        }
        Parallel.setThreadCount(0)
        XCTAssertEqual(results[0], results[1])
        XCTAssertEqual(results[0], results[2])
    }

    func testBadOffsetsAndTargets() throws {
        let x = [Float](repeating: 0, count: 5 * 2)
        let view = x.withUnsafeBufferPointer { MatrixView(base: $0.baseAddress!, rows: 5, cols: 2) }
        for (offsets, fragment) in [([1, 5], "offsets[0] is 1"), ([0, 3, 3, 5], "not strictly increasing"),
                                    ([0, 4], "expected n_tokens = 5"), ([0, 6], "beyond n_tokens"), ([0], "entries")] as [([Int64], String)] {
            XCTAssertThrowsError(try offsets.withUnsafeBufferPointer { try RaggedItems(x: view, offsets: $0) }) { error in
                XCTAssertTrue((error as! LaminaError).message.contains(fragment), "\((error as! LaminaError).message)")
            }
        }
        let offsets: [Int64] = [0, 2, 5]
        let items = try offsets.withUnsafeBufferPointer { try RaggedItems(x: view, offsets: $0) }
        XCTAssertEqual(items.pairCount, 4 + 9)
        let wrong = [Float](repeating: 0, count: 12)
        XCTAssertThrowsError(try wrong.withUnsafeBufferPointer { try checkStructuralTargets($0, kind: .distance, items: items.layout) })
        var bad = [Float](repeating: 0, count: 13)
        bad[6] = -2
        XCTAssertThrowsError(try bad.withUnsafeBufferPointer { try checkStructuralTargets($0, kind: .distance, items: items.layout) }) { error in
            XCTAssertTrue((error as! LaminaError).message.contains("item 1, entry (0, 2)"), "\(error)")
        }
        bad[6] = -1
        XCTAssertNoThrow(try bad.withUnsafeBufferPointer { try checkStructuralTargets($0, kind: .distance, items: items.layout) })
        var params = StructuralProbe.Parameters()
        params.rank = 0
        XCTAssertThrowsError(try StructuralProbe(params))
        params.rank = 2; params.learningRate = 0
        XCTAssertThrowsError(try StructuralProbe(params))
    }
}

import XCTest
@testable import LaminaCore

final class ASTProbeTests: XCTestCase {
    // R(A(B(t0 t1)) t2 U(t3)) with atoms R=0 A=1 B=2 U=3, tokens 9
    let parent: [Int32] = [-1, 0, 1, 2, 2, 0, 0, 6]
    let label: [Int32] = [0, 1, 2, 9, 9, 9, 3, 9]
    let tokens: [Int32] = [3, 4, 5, 7]

    func testTuplesByHand() throws {
        let tree = try ASTTree(parent: parent, label: label, tokenNode: tokens)
        var table = ASTChainTable()
        let b = ASTProbeTrees.binarize(tree, chains: &table)
        XCTAssertEqual(b.parent.count, 7)
        XCTAssertEqual(b.parent[0], -1)
        let t = ASTProbeTrees.tuples(b)
        XCTAssertEqual(t.d, [1, 2, 1])
        XCTAssertEqual(table.chains[Int(t.c[0])], [1, 2])   // A<sep>B
        XCTAssertEqual(table.chains[Int(t.c[1])], [0])      // R
        XCTAssertEqual(t.c[2], 0)                           // <empty> (right nesting of t2, U)
        XCTAssertEqual(t.u.map { table.chains[Int($0)] }, [[], [], [], [3]])
    }

    func testDecodeGivesOriginalConstituents() throws {
        let tree = try ASTTree(parent: parent, label: label, tokenNode: tokens)
        var table = ASTChainTable()
        let t = ASTProbeTrees.tuples(ASTProbeTrees.binarize(tree, chains: &table))
        let decoded = ASTProbeTrees.decode(d: t.d.map(Float.init), c: t.c, u: t.u, chains: table)
        let got = Set(ASTProbeTrees.constituents(decoded))
        let want = Set(ASTProbeTrees.constituents(tree))
        XCTAssertEqual(got, want)
        XCTAssertEqual(want.count, 4)  // R 0-3, A 0-1, B 0-1, U 3-3
        let (p, r, f) = ASTProbeTrees.precisionRecallF1(gold: Array(want), pred: Array(got))
        XCTAssertEqual(p, 1); XCTAssertEqual(r, 1); XCTAssertEqual(f, 1)
    }

    func testRightNestingOfManyChildren() throws {
        // root over 5 tokens, numbered out of order
        let tree = try ASTTree(parent: [-1, 0, 0, 0, 0, 0], label: [7, 9, 9, 9, 9, 9], tokenNode: [4, 2, 5, 1, 3])
        var table = ASTChainTable()
        let t = ASTProbeTrees.tuples(ASTProbeTrees.binarize(tree, chains: &table))
        XCTAssertEqual(t.d, [4, 3, 2, 1])
        XCTAssertEqual(t.c.map { table.chains[Int($0)] }, [[7], [], [], []])
    }

    func testDeepChainDoesNotRecurse() throws {
        // a unary chain of 200,000 nodes above two tokens: iterative code, no stack overflow
        let depth = 200_000
        var p: [Int32] = [-1], l: [Int32] = [0]
        for i in 1..<depth { p.append(Int32(i - 1)); l.append(Int32(i % 5)) }
        p.append(Int32(depth - 1)); l.append(9)
        p.append(Int32(depth - 1)); l.append(9)
        let tree = try ASTTree(parent: p, label: l, tokenNode: [Int32(depth), Int32(depth + 1)])
        var table = ASTChainTable()
        let t = ASTProbeTrees.tuples(ASTProbeTrees.binarize(tree, chains: &table))
        XCTAssertEqual(t.d, [1])
        XCTAssertEqual(table.chains[Int(t.c[0])].count, depth)
        let decoded = ASTProbeTrees.decode(d: [1], c: t.c, u: t.u, chains: table)
        XCTAssertEqual(decoded.nodeCount, depth + 2)
    }

    func testInvalidTrees() {
        func message(_ p: [Int32], _ tok: [Int32]) -> String {
            do {
                _ = try ASTTree(parent: p, label: [Int32](repeating: 0, count: p.count), tokenNode: tok)
                return "no error"
            } catch let e as LaminaError {
                XCTAssertEqual(e.kind, .invalidArgument)
                return e.message
            } catch { return "\(error)" }
        }
        XCTAssertTrue(message([-1, 0, -1, 2], [1, 3]).contains("two roots"))
        XCTAssertTrue(message([-1, 2, 1, 0], [3]).contains("cycle"))
        XCTAssertTrue(message([-1, 0, 7], [1, 2]).contains("parent[2] is 7"))
        XCTAssertTrue(message([-1, 0, 1, 1, 0], [2, 4, 3]).contains("leaves out of order"))
        XCTAssertTrue(message([-1, 0, 0], [1]).contains("leaf without a token"))
    }

    func testProbeStepsReduceLoss() throws {
        // two snippets of 4 tokens with fixed tuples; full-batch training must lower the loss
        var rng = Xoshiro256(seed: 3)
        let n = 8, d = 5
        var x = [Float](repeating: 0, count: n * d)
        for i in 0..<x.count { x[i] = Float(rng.nextUnit() * 2 - 1) }
        let dv: [Int32] = [1, 2, 1, 2, 1, 3], c: [Int32] = [1, 0, 2, 1, 1, 0], u: [Int32] = [0, 0, 0, 3, 0, 3, 0, 0]
        var p = ASTProbe.Parameters()
        p.rank = 3; p.epochs = 200; p.batchSize = 2; p.learningRate = 0.02
        let probe = try ASTProbe(p)
        try x.withUnsafeBufferPointer { xb in
            let view = MatrixView(base: xb.baseAddress!, rows: n, cols: d)
            try probe.fit(view, offsets: [0, 4, 8], d: dv, c: c, u: u)
            XCTAssertEqual(probe.steps, 200)
            XCTAssertLessThan(probe.epochLoss.last!, probe.epochLoss.first! * 0.5)
            let pred = try probe.predict(view, offsets: [0, 4, 8])
            XCTAssertEqual(pred.d.count, 6)
            XCTAssertTrue(pred.c.allSatisfy { [0, 1, 2].contains($0) })
            XCTAssertTrue(pred.u.allSatisfy { [0, 3].contains($0) })
            // the gold order of d is learnt: the largest gold d (3) gets the largest d_hat of its snippet
            XCTAssertEqual(pred.d[3...].firstIndex(of: pred.d[3...].max()!), 5)
        }
        var bad = p
        bad.rank = 0
        XCTAssertThrowsError(try ASTProbe(bad))
        bad = p
        bad.learningRate = .nan
        XCTAssertThrowsError(try ASTProbe(bad))
    }
}

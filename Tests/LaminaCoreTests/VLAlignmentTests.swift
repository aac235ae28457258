import XCTest
@testable import LaminaCore

/// The VL-SAE's alignment stage and input projections in the core: the InfoNCE + reconstruction
/// gradient against central differences of the loss, determinism, and a projected VL-SAE's encoder
/// input (P_m x, normalised) through the trainer step.
final class VLAlignmentTests: XCTestCase {
    func data(_ n: Int, _ d: Int, seed: UInt64) -> [Float] {
        var rng = Xoshiro256(seed: seed)
        return (0..<(n * d)).map { _ in Float(rng.nextUnit() * 2 - 1) }
    }

    func testGradientMatchesCentralDifferences() throws {
        var c = VLAlignConfig(dVision: 6, dText: 5, dCommon: 3)
        c.temperature = 0.5; c.reconWeight = 0.7; c.seed = 2
        let a = try VLAlignment(c)
        let v = data(9, 6, seed: 1), t = data(9, 5, seed: 2)
        let gv = FloatBuffer(18, zero: 0), gt = FloatBuffer(15, zero: 0)
        _ = try a.lossAndGradient(vision: v, text: t, rows: 9, gradVision: gv.p, gradText: gt.p)
        for (p, g) in [(a.pV, gv), (a.pT, gt)] {
            for i in stride(from: 0, to: p.count, by: 2) {
                let keep = p[i], h: Float = 1e-2
                p[i] = keep + h
                let lp = try a.lossAndGradient(vision: v, text: t, rows: 9, gradVision: nil, gradText: nil).loss
                p[i] = keep - h
                let lm = try a.lossAndGradient(vision: v, text: t, rows: 9, gradVision: nil, gradText: nil).loss
                p[i] = keep
                let fd = (lp - lm) / Double(2 * h)
                XCTAssertEqual(Double(g[i]), fd, accuracy: 2e-3 + 2e-2 * abs(fd), "entry \(i)")
            }
        }
    }

    func testTrainingIsDeterministicAndLowersTheLoss() throws {
        let n = 120
        let v = data(n, 8, seed: 3)
        var t = [Float](repeating: 0, count: n * 4)
        for r in 0..<n { for j in 0..<4 { t[r * 4 + j] = v[r * 8 + j] - 0.5 * v[r * 8 + j + 4] } }
        var c = VLAlignConfig(dVision: 8, dText: 4, dCommon: 4)
        c.learningRate = 1e-2; c.batchSize = 40; c.seed = 5
        let a = try VLAlignment(c), b = try VLAlignment(c)
        try v.withUnsafeBytes { vb in
            try t.withUnsafeBytes { tb in
                let vr = MemoryRows(base: vb.baseAddress!, rows: n, cols: 8, dtype: .float32)
                let tr = MemoryRows(base: tb.baseAddress!, rows: n, cols: 4, dtype: .float32)
                try a.train(vision: vr, text: tr, epochs: 20, progress: nil)
                try b.train(vision: vr, text: tr, epochs: 20, progress: nil)
            }
        }
        XCTAssertEqual(a.pV.array, b.pV.array)
        XCTAssertEqual(a.pT.array, b.pT.array)
        XCTAssertLessThan(a.history.last!.infoNCE, 0.5 * a.history.first!.infoNCE)
    }

    func testProjectedModelRefusesMissingProjectionsAndProjectsItsInput() throws {
        var c = VLSAEConfig(dVision: 6, dText: 4, nLatents: 8, k: 2)
        XCTAssertThrowsError(try VLSparseAutoencoder(c))            // unequal widths without projections
        c.dCommon = 3
        XCTAssertThrowsError(try VLSparseAutoencoder(c))            // projections required
        let pv = FloatBuffer(18, zero: 0), pt = FloatBuffer(12, zero: 0)
        for i in 0..<3 { pv[i * 6 + i] = 1; pt[i * 4 + i] = 2 }
        XCTAssertThrowsError(try VLSparseAutoencoder(c, projections: (pv, FloatBuffer(11, zero: 0))))
        let m = try VLSparseAutoencoder(c, projections: (pv, pt))
        XCTAssertEqual(m.d, 3)
        let x: [Float] = [1, 2, 3, 4]
        var out = [Float](repeating: 0, count: 3)
        x.withUnsafeBufferPointer { xb in out.withUnsafeMutableBufferPointer { m.projectInput(xb.baseAddress!, rows: 1, .text, into: $0.baseAddress!) } }
        XCTAssertEqual(out, [2, 4, 6])
    }
}

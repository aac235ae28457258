import XCTest
@testable import LaminaCore

final class AdamTests: XCTestCase {
    /// Two steps of torch.optim.Adam(lr=0.1) on p = [1, -2, 0.5, ...] with fixed gradients, values
    /// worked by hand from the update rule (first step moves each parameter by lr * sign(g)).
    func testMatchesTorchUpdateRule() {
        let n = 19  // SIMD body and scalar tail
        var params = (0..<n).map { Float($0) * 0.25 - 2 }
        let grad1 = (0..<n).map { Float($0 % 5) - 2 }
        let grad2 = (0..<n).map { Float($0 % 3) * 0.5 }
        var state = AdamState(count: n)
        let config = AdamConfig()
        var expected = params.map(Double.init)
        var m = [Double](repeating: 0, count: n), v = m
        for (t, g) in [grad1, grad2].enumerated() {
            for i in 0..<n {
                m[i] = 0.9 * m[i] + 0.1 * Double(g[i])
                v[i] = 0.999 * v[i] + 0.001 * Double(g[i]) * Double(g[i])
                let b1 = 1 - pow(0.9, Double(t + 1)), b2 = 1 - pow(0.999, Double(t + 1))
                expected[i] -= (0.1 / b1) * m[i] / ((v[i]).squareRoot() / b2.squareRoot() + 1e-8)
            }
            g.withUnsafeBufferPointer { gb in
                params.withUnsafeMutableBufferPointer { pb in
                    state.update(pb.baseAddress!, gradient: gb.baseAddress!, learningRate: 0.1, config: config)
                }
            }
        }
        XCTAssertEqual(state.step, 2)
        for i in 0..<n { XCTAssertEqual(Double(params[i]), expected[i], accuracy: 1e-5, "parameter \(i)") }
        XCTAssertNil(config.problem)
        XCTAssertNotNil(AdamConfig(beta1: 1).problem)
    }
}

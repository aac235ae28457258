import LaminaCore

/// Small deterministic datasets for the core tests.
enum TestData {
    /// `clusters` Gaussian-ish blobs (sum of uniforms) in `d` dimensions, `perCluster` points each,
    /// centres `spread` apart along successive axes.
    static func blobs(clusters: Int, perCluster: Int, d: Int, spread: Float = 10, seed: UInt64 = 1) -> ([Float], [Int32]) {
        var rng = Xoshiro256(seed: seed)
        var x: [Float] = [], labels: [Int32] = []
        for c in 0..<clusters {
            for _ in 0..<perCluster {
                for j in 0..<d {
                    let noise = (0..<4).reduce(0.0) { acc, _ in acc + rng.nextUnit() } - 2
                    x.append(Float(noise) + (j == c % d ? spread * Float(c / d + 1) : 0))
                }
                labels.append(Int32(c))
            }
        }
        return (x, labels)
    }

    static func withView<R>(_ x: [Float], d: Int, _ body: (MatrixView) throws -> R) rethrows -> R {
        try x.withUnsafeBufferPointer { try body(MatrixView(base: $0.baseAddress!, rows: x.count / d, cols: d)) }
    }

    /// Plain O(n^2) Euclidean distance in float64.
    static func distance(_ x: [Float], _ d: Int, _ i: Int, _ j: Int) -> Double {
        var s = 0.0
        for t in 0..<d { let v = Double(x[i * d + t]) - Double(x[j * d + t]); s += v * v }
        return s.squareRoot()
    }
}

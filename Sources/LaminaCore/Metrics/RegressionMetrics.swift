/// Regression scores (float64).
package enum RegressionMetrics {
    /// Coefficient of determination, sklearn.metrics.r2_score with multioutput="uniform_average"
    /// (force_finite: a constant target scores 1 if predicted exactly, else 0).
    package static func r2(_ yTrue: UnsafeBufferPointer<Double>, _ yPred: UnsafeBufferPointer<Double>, targets t: Int) -> Double {
        let n = yTrue.count / t
        var total = 0.0
        for c in 0..<t {
            var mean = 0.0
            for i in 0..<n { mean += yTrue[i * t + c] }
            mean /= Double(n)
            var ssRes = 0.0, ssTot = 0.0
            for i in 0..<n {
                let e = yTrue[i * t + c] - yPred[i * t + c], m = yTrue[i * t + c] - mean
                ssRes += e * e; ssTot += m * m
            }
            total += ssTot == 0 ? (ssRes == 0 ? 1 : 0) : 1 - ssRes / ssTot
        }
        return total / Double(t)
    }
}

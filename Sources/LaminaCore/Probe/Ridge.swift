import CBLAS

/// Ridge regression in closed form, as sklearn.linear_model.Ridge(alpha, fit_intercept) solves it
/// (solver "cholesky"): minimise sum_i s_i ||y_i - W x_i - b||^2 + alpha ||W||^2 with the intercept
/// unpenalised. With an intercept, X and y are centred on their (weighted) means, then
///     (Xc^T S Xc + alpha I) w_t = Xc^T S yc_t,   b_t = ybar_t - xbar . w_t
/// for every target t. The Gram matrix and every sum are float64 (Xc is formed in float64 row tiles,
/// dsyrk/dgemm), solved by Cholesky.
package enum RidgeRegression {
    package struct Fit: Sendable {
        package var coef: [Double]       // targets x d
        package var intercept: [Double]  // targets
    }

    /// y: n x targets (row-major) float64.
    package static func fit(_ x: MatrixView, y: UnsafeBufferPointer<Double>, targets: Int, alpha: Double,
                           fitIntercept: Bool = true, sampleWeight: [Double]? = nil) throws -> Fit {
        let n = x.rows, d = x.cols, t = targets
        if !(alpha >= 0) || !alpha.isFinite { throw LaminaError.invalid("alpha is \(alpha); expected a finite value >= 0") }
        if t < 1 { throw LaminaError.invalid("n_targets is \(t); expected >= 1") }
        if y.count != n * t { throw LaminaError.shape("y has \(y.count) values; expected n * n_targets = \(n * t)") }
        for (i, v) in y.enumerated() where !v.isFinite {
            throw LaminaError(.nonFinite, "y contains \(v) at sample \(i / t), target \(i % t); expected finite values")
        }
        let w = try LogisticProbe.checkedWeights(sampleWeight, n) ?? [Double](repeating: 1, count: n)
        let total = w.reduce(0, +)
        // still needed without sample weights: n = 0 gives a zero total
        if !(total > 0) { throw LaminaError.invalid("sample_weight sums to 0; expected a positive total weight") }
        var xbar = [Double](repeating: 0, count: d), ybar = [Double](repeating: 0, count: t)
        if fitIntercept {
            for i in 0..<n {
                let r = x.row(i)
                for j in 0..<d { xbar[j] += w[i] * Double(r[j]) }
                for c in 0..<t { ybar[c] += w[i] * y[i * t + c] }
            }
            for j in 0..<d { xbar[j] /= total }
            for c in 0..<t { ybar[c] /= total }
        }
        // Gram = Xc^T S Xc and rhs = Xc^T S yc over float64 tiles of rows scaled by sqrt(s_i).
        var gram = [Double](repeating: 0, count: d * d)
        var rhs = [Double](repeating: 0, count: d * t)   // d x t
        let tile = 256
        var xt = [Double](repeating: 0, count: tile * d), yt = [Double](repeating: 0, count: tile * t)
        var start = 0
        while start < n {
            let rows = min(tile, n - start)
            for r in 0..<rows {
                let i = start + r, s = w[i].squareRoot(), row = x.row(i)
                for j in 0..<d { xt[r * d + j] = (Double(row[j]) - xbar[j]) * s }
                for c in 0..<t { yt[r * t + c] = (y[i * t + c] - ybar[c]) * s }
            }
            cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(d), Int32(rows), 1, xt, Int32(d), 1, &gram, Int32(d))
            cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(d), Int32(t), Int32(rows), 1, xt, Int32(d),
                        yt, Int32(t), 1, &rhs, Int32(t))
            start += rows
        }
        for i in 0..<d { for j in 0..<i { gram[i * d + j] = gram[j * d + i] } }
        for j in 0..<d { gram[j * d + j] += alpha }
        let solution = try DenseLinearAlgebra.choleskySolve(gram, d, rhs, t)   // d x t
        var coef = [Double](repeating: 0, count: t * d)
        var intercept = [Double](repeating: 0, count: t)
        for c in 0..<t {
            var dotp = 0.0
            for j in 0..<d { coef[c * d + j] = solution[j * t + c]; dotp += xbar[j] * solution[j * t + c] }
            intercept[c] = fitIntercept ? ybar[c] - dotp : 0
        }
        return Fit(coef: coef, intercept: intercept)
    }

    /// Predictions n x targets: x W^T + b (float64).
    package static func predict(_ x: MatrixView, coef: [Double], intercept: [Double]) -> [Double] {
        let t = intercept.count, d = x.cols
        var out = [Double](repeating: 0, count: x.rows * t)
        coef.withUnsafeBufferPointer { w in
            for i in 0..<x.rows { for c in 0..<t { out[i * t + c] = Reduce.dot(x.row(i), w.baseAddress! + c * d, d) + intercept[c] } }
        }
        return out
    }
}

import CBLAS

/// Directions in activation space: contrastive mean difference, first principal component, steering
/// with an optional norm preservation, and INLP (Ravfogel et al. 2020).
package enum Directions {
    /// mean(A) - mean(B) (float64, not normalised).
    package static func meanDifference(_ a: MatrixView, _ b: MatrixView) throws -> [Double] {
        if a.cols != b.cols { throw LaminaError.shape("b has \(b.cols) features; a has \(a.cols)") }
        let ma = ColumnStats.mean(a), mb = ColumnStats.mean(b)
        return (0..<a.cols).map { ma[$0] - mb[$0] }
    }

    /// Unit first principal component. paired: of the differences a_i - b_i (centred; RepE's
    /// reading vector on pairs); otherwise: of the pooled rows of A and B centred on the pooled mean.
    /// Sign: mean(A) . v >= mean(B) . v. Power iteration on the float64 covariance (d x d, from float64
    /// row tiles with dsyrk), to a relative change below 1e-13 or 10,000 iterations.
    package static func principalDirection(_ a: MatrixView, _ b: MatrixView, paired: Bool) throws -> [Double] {
        if a.cols != b.cols { throw LaminaError.shape("b has \(b.cols) features; a has \(a.cols)") }
        if paired && a.rows != b.rows { throw LaminaError.shape("paired directions need as many rows in b (\(b.rows)) as in a (\(a.rows))") }
        let d = a.cols
        var rows: [(UnsafePointer<Float>, UnsafePointer<Float>?)] = []
        if paired { for i in 0..<a.rows { rows.append((a.row(i), b.row(i))) } } else {
            for i in 0..<a.rows { rows.append((a.row(i), nil)) }
            for i in 0..<b.rows { rows.append((b.row(i), nil)) }
        }
        let count = rows.count
        if count < 2 { throw LaminaError.invalid("a principal direction needs at least 2 rows (or pairs); got \(count)") }
        func value(_ r: Int, _ j: Int) -> Double {
            let (p, q) = rows[r]
            return q.map { Double(p[j]) - Double($0[j]) } ?? Double(p[j])
        }
        var mean = [Double](repeating: 0, count: d)
        for r in 0..<count { for j in 0..<d { mean[j] += value(r, j) } }
        for j in 0..<d { mean[j] /= Double(count) }
        var cov = [Double](repeating: 0, count: d * d)
        let tile = 256
        var buf = [Double](repeating: 0, count: tile * d)
        var start = 0
        while start < count {
            let m = min(tile, count - start)
            for r in 0..<m { for j in 0..<d { buf[r * d + j] = value(start + r, j) - mean[j] } }
            cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(d), Int32(m), 1, buf, Int32(d), 1, &cov, Int32(d))
            start += m
        }
        for i in 0..<d { for j in 0..<i { cov[i * d + j] = cov[j * d + i] } }
        var v = topEigenvector(cov, d)
        let ma = ColumnStats.mean(a), mb = ColumnStats.mean(b)
        var s = 0.0
        for j in 0..<d { s += (ma[j] - mb[j]) * v[j] }
        if s < 0 { v = v.map { -$0 } }
        return v
    }

    static func topEigenvector(_ m: [Double], _ d: Int) -> [Double] {
        // Deterministic start: the column of largest diagonal plus a small constant.
        var v = [Double](repeating: 1 / Double(d).squareRoot(), count: d)
        var best = 0
        for j in 0..<d where m[j * d + j] > m[best * d + best] { best = j }
        v[best] += 1
        var w = [Double](repeating: 0, count: d)
        var n = norm(v); v = v.map { $0 / n }
        for _ in 0..<10_000 {
            cblas_dsymv(CblasRowMajor, CblasUpper, Int32(d), 1, m, Int32(d), v, 1, 0, &w, 1)
            n = norm(w)
            if n == 0 { return v }
            var change = 0.0
            for j in 0..<d { let t = w[j] / n; change = max(change, abs(t - v[j])); v[j] = t }
            if change < 1e-13 { break }
        }
        return v
    }

    /// x'_i = x_i + alpha v; with preserveNorm, x'_i *= ||x_i|| / ||x'_i|| (GrAInS: steered hidden states
    /// are rescaled to their original norm; a zero x'_i is left as is). float64 arithmetic per row.
    package static func apply(_ x: MatrixView, direction: [Double], alpha: Double, preserveNorm: Bool,
                             into out: UnsafeMutablePointer<Float>) throws {
        if direction.count != x.cols { throw LaminaError.shape("direction has \(direction.count) values; expected d = \(x.cols)") }
        if !alpha.isFinite { throw LaminaError.invalid("alpha is \(alpha); expected a finite value") }
        let d = x.cols
        var row = [Double](repeating: 0, count: d)
        for i in 0..<x.rows {
            let r = x.row(i)
            var before = 0.0, after = 0.0
            for j in 0..<d {
                let v = Double(r[j]); before += v * v
                row[j] = v + alpha * direction[j]; after += row[j] * row[j]
            }
            let scale = preserveNorm && after > 0 ? (before / after).squareRoot() : 1
            for j in 0..<d { out[i * d + j] = Float(row[j] * scale) }
        }
    }

    package struct INLPResult: Sendable {
        package var projection: [Double]   // d x d, P = I - B^T B
        package var accuracy: [Double]     // per iteration: accuracy of that iteration's classifier
        package var rank: [Int]            // per iteration: rank of that classifier's coefficient matrix
        package var basisRank: Int         // dimension removed in total
    }

    /// Iterative nullspace projection (Ravfogel et al. 2020, INLP): for t = 1..T, fit a logistic probe
    /// on X P^T (train rows), record its accuracy (on the dev rows if given, else on the training rows),
    /// add the rows of its coefficient matrix W_t to an orthonormal basis B of the union of the
    /// classifiers' row spaces (modified Gram-Schmidt, twice; a vector whose residual is below 1e-8 of
    /// its norm is dependent), and set P = I - B^T B, the projection onto the intersection of their
    /// nullspaces (the paper's P = I - P_R(sum_t P_R(W_t))). Stops early when the accuracy is at or below
    /// `minAccuracy` (after recording it, without projecting further).
    package static func inlp(_ x: MatrixView, labels: UnsafeBufferPointer<Int32>, dev: MatrixView?, devLabels: UnsafeBufferPointer<Int32>?,
                            iterations: Int, minAccuracy: Double, parameters: LogisticProbe.Parameters) throws -> INLPResult {
        if iterations < 1 { throw LaminaError.invalid("n_iterations is \(iterations); expected >= 1") }
        let encoded = EncodedLabels(labels)
        if encoded.classCount < 2 { throw LaminaError.invalid("labels contain only one class; INLP needs at least 2") }
        if let dev, dev.cols != x.cols { throw LaminaError.shape("x_dev has \(dev.cols) features; x has \(x.cols)") }
        let d = x.cols
        var basis: [[Double]] = []
        var projection = [Double](repeating: 0, count: d * d)
        for j in 0..<d { projection[j * d + j] = 1 }
        var accuracy: [Double] = [], ranks: [Int] = []
        var projected = Matrix(uninitializedRows: x.rows, cols: d)
        var projectedDev = dev.map { Matrix(uninitializedRows: $0.rows, cols: d) }
        for _ in 0..<iterations {
            project(x, basis, into: &projected)
            if let dev { project(dev, basis, into: &projectedDev!) }
            let probe = try LogisticProbe(parameters)
            try projected.withView { try probe.fit($0, labels: encoded) }
            let acc: Double
            if let projectedDev, let devLabels {
                acc = try projectedDev.withView { try probe.accuracy($0, labels: devLabels) }
            } else {
                acc = try projected.withView { try probe.accuracy($0, labels: labels) }
            }
            accuracy.append(acc)
            var rank = 0
            var added: [[Double]] = []
            for c in 0..<probe.outputs {
                var v = Array(probe.coef[(c * d)..<(c * d + d)])
                let original = norm(v)
                if original == 0 { continue }
                // Rank of W_t itself (against the rows of W_t already accepted).
                var u = v
                for _ in 0..<2 { for b in added { let s = dot(b, u); for j in 0..<d { u[j] -= s * b[j] } } }
                if norm(u) > 1e-6 * original {
                    rank += 1
                    let nu = norm(u)
                    added.append(u.map { $0 / nu })
                }
                // Extend the global basis.
                for _ in 0..<2 { for b in basis { let s = dot(b, v); for j in 0..<d { v[j] -= s * b[j] } } }
                let nv = norm(v)
                if nv > 1e-6 * original && basis.count < d { basis.append(v.map { $0 / nv }) }
            }
            ranks.append(rank)
            if acc <= minAccuracy { break }
        }
        for b in basis { for i in 0..<d { for j in 0..<d { projection[i * d + j] -= b[i] * b[j] } } }
        return INLPResult(projection: projection, accuracy: accuracy, rank: ranks, basisRank: basis.count)
    }

    /// out = x (I - B^T B) row by row, float64 arithmetic.
    static func project(_ x: MatrixView, _ basis: [[Double]], into out: inout Matrix) {
        let d = x.cols
        out.storage.withUnsafeMutableBufferPointer { o in
            var row = [Double](repeating: 0, count: d)
            for i in 0..<x.rows {
                let r = x.row(i)
                for j in 0..<d { row[j] = Double(r[j]) }
                for b in basis {
                    let s = dot(b, row)
                    for j in 0..<d { row[j] -= s * b[j] }
                }
                for j in 0..<d { o[i * d + j] = Float(row[j]) }
            }
        }
    }
}

import CBLAS

/// Principal-component projection without numpy: the float64 covariance X_c^T X_c (dsyrk over chunks of
/// centred rows) and its top eigenvectors (LAPACK dsyevr from OpenBLAS). Z = X_c V_k, V_k the k
/// eigenvectors of the largest eigenvalues, in descending order -- scikit-learn's PCA(n_components=k)
/// .fit_transform(X) up to the sign of each component (distances, and so every cluster index, do not
/// depend on the signs).
package enum PCA {
    /// The n x k projection of x onto its top k principal components, as an owned float32 matrix.
    package static func project(_ x: MatrixView, components k: Int) throws -> Matrix {
        let n = x.rows, d = x.cols
        if k < 1 || k > min(n, d) {
            throw LaminaError.invalid("pca_components is \(k); expected 1 <= pca_components <= min(n, d) = \(min(n, d))")
        }
        if d > 46340 { throw LaminaError(.outOfMemory, "d is \(d); PCA keeps a d x d float64 covariance, capped at d <= 46340") }
        // Column means.
        var mean = [Double](repeating: 0, count: d)
        mean.withUnsafeMutableBufferPointer { m in
            for r in 0..<n { Reduce.accumulate(x.row(r), into: m.baseAddress!, d) }
            for c in 0..<d { m[c] /= Double(n) }
        }
        // Covariance (upper triangle, row-major) over chunks of centred float64 rows.
        let chunk = max(1, min(n, (32 << 20) / max(1, 8 * d)))
        let rows = UnsafeMutablePointer<Double>.allocate(capacity: chunk * d)
        defer { rows.deallocate() }
        /// Calls body(start, m) with rows[0..<m] = the centred float64 rows start..<start+m, chunk by chunk.
        func forEachCentredChunk(_ body: (Int, Int) -> Void) {
            var start = 0
            while start < n {
                let m = min(chunk, n - start)
                mean.withUnsafeBufferPointer { mu in
                    for r in 0..<m {
                        let src = x.row(start + r), dst = rows + r * d
                        for c in 0..<d { dst[c] = Double(src[c]) - mu[c] }
                    }
                }
                body(start, m)
                start += m
            }
        }
        var cov = [Double](repeating: 0, count: d * d)
        forEachCentredChunk { _, m in
            cov.withUnsafeMutableBufferPointer { c in
                cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(d), Int32(m), 1, rows, Int32(d), 1,
                            c.baseAddress!, Int32(d))
            }
        }
        let basis = try topEigenvectors(of: &cov, dimension: d, count: k)   // row-major d x k
        var out = Matrix(uninitializedRows: n, cols: k)
        var projected = [Double](repeating: 0, count: chunk * k)
        forEachCentredChunk { start, m in
            projected.withUnsafeMutableBufferPointer { pr in
                basis.withUnsafeBufferPointer { b in
                    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(k), Int32(d), 1,
                                rows, Int32(d), b.baseAddress!, Int32(k), 0, pr.baseAddress!, Int32(k))
                }
            }
            out.storage.withUnsafeMutableBufferPointer { o in
                for t in 0..<(m * k) { o[start * k + t] = Float(projected[t]) }
            }
        }
        return out
    }

    /// The k eigenvectors of the largest eigenvalues of a symmetric d x d matrix given by its upper
    /// triangle, row-major (LAPACK dsyevr on the column-major lower triangle, which is the same memory):
    /// a row-major d x k matrix, column c the eigenvector of the c-th largest eigenvalue (unit norm, sign
    /// as LAPACK returns it). 1 <= k <= d and matrix.count >= d * d (the caller's contract); `matrix` is
    /// overwritten.
    package static func topEigenvectors(of matrix: inout [Double], dimension d: Int, count k: Int) throws -> [Double] {
        var nn = Int32(d), lda = Int32(d), il = Int32(d - k + 1), iu = Int32(d), found: Int32 = 0, info: Int32 = 0
        var vl = 0.0, vu = 0.0, abstol = 0.0, ldz = Int32(d)
        var w = [Double](repeating: 0, count: d)
        var z = [Double](repeating: 0, count: d * k)
        var isuppz = [Int32](repeating: 0, count: 2 * k)
        var lwork: Int32 = -1, liwork: Int32 = -1
        var workQuery = 0.0
        var iworkQuery: Int32 = 0
        let jobz: CChar = 86 /* V */, range: CChar = 73 /* I */, uplo: CChar = 76 /* L */
        var jz = jobz, rg = range, ul = uplo
        dsyevr_(&jz, &rg, &ul, &nn, &matrix, &lda, &vl, &vu, &il, &iu, &abstol, &found, &w, &z, &ldz, &isuppz,
                &workQuery, &lwork, &iworkQuery, &liwork, &info, 1, 1, 1)
        if info != 0 { throw LaminaError(.internal, "LAPACK dsyevr workspace query failed (info \(info))") }
        lwork = Int32(workQuery.rounded(.up)); liwork = iworkQuery
        var work = [Double](repeating: 0, count: max(1, Int(lwork)))
        var iwork = [Int32](repeating: 0, count: max(1, Int(liwork)))
        dsyevr_(&jz, &rg, &ul, &nn, &matrix, &lda, &vl, &vu, &il, &iu, &abstol, &found, &w, &z, &ldz, &isuppz,
                &work, &lwork, &iwork, &liwork, &info, 1, 1, 1)
        if info != 0 || Int(found) != k {
            throw LaminaError(.internal, "LAPACK dsyevr failed (info \(info), \(found) of \(k) eigenvectors)")
        }
        // Components in descending order: column k-1-c of z (column-major d x k) is component c.
        var basis = [Double](repeating: 0, count: d * k)
        for c in 0..<k { for j in 0..<d { basis[j * k + c] = z[(k - 1 - c) * d + j] } }
        return basis
    }
}

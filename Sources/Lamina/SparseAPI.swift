import LaminaCore

// Sparse (CSR) input: one rule for every function that takes a sparse matrix. `lamina_<fn>_csr`
// (float32 values) and `lamina_<fn>_csr_f64` (float64 values, computed in float64) take, in place of
// `x, n, d`: `data, indices, indptr, nnz, n, d` -- scipy.sparse's CSR arrays with int64 indices and
// row offsets, validated before any work (CSRViewOf.validate: offsets, index range and order, nnz,
// finite values).

private func csr<E: LaminaFloat>(_ data: UnsafePointer<E>?, _ indices: UnsafePointer<Int64>?, _ indptr: UnsafePointer<Int64>?,
                                 _ nnz: Int64, _ n: Int64, _ d: Int64) throws -> CSRViewOf<E> {
    try CSRViewOf<E>.validate(data: data, indices: indices, indptr: indptr, nnz: nnz, rows: n, cols: d)
}

private func csrAndLabels<E: LaminaFloat>(_ data: UnsafePointer<E>?, _ indices: UnsafePointer<Int64>?, _ indptr: UnsafePointer<Int64>?,
                                          _ nnz: Int64, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                                          _ out: UnsafeMutablePointer<Double>?) throws -> (CSRViewOf<E>, EncodedLabels, UnsafeMutablePointer<Double>) {
    let view = try csr(data, indices, indptr, nnz, n, d)
    let encoded = try Check.labels(labels, view.rows)
    return (view, encoded, try Check.output(out, "out"))
}

private func silhouetteCSR<E: LaminaFloat>(_ data: UnsafePointer<E>?, _ indices: UnsafePointer<Int64>?, _ indptr: UnsafePointer<Int64>?,
                                           _ nnz: Int64, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?, _ metric: Int32,
                                           _ out: UnsafeMutablePointer<Double>?, mean: Bool) -> Int32 {
    boundary {
        let (view, encoded, result) = try csrAndLabels(data, indices, indptr, nnz, n, d, labels, out)
        let m = try CEnums.distance.decode(metric, "metric")
        if mean { result.pointee = try InternalIndices.silhouetteScore(view, labels: encoded, metric: m) }
        else { result.store(try InternalIndices.silhouetteSamples(view, labels: encoded, metric: m)) }
    }
}

private func silhouettePrecomputedCSR<E: LaminaFloat>(_ data: UnsafePointer<E>?, _ indices: UnsafePointer<Int64>?,
                                                      _ indptr: UnsafePointer<Int64>?, _ nnz: Int64, _ n: Int64, _ m: Int64,
                                                      _ labels: UnsafePointer<Int32>?, _ out: UnsafeMutablePointer<Double>?, mean: Bool) -> Int32 {
    boundary {
        let (view, encoded, result) = try csrAndLabels(data, indices, indptr, nnz, n, m, labels, out)
        let samples = try InternalIndices.silhouetteSamplesPrecomputed(view, labels: encoded)
        if mean { result.pointee = samples.reduce(0, +) / Double(samples.count) } else { result.store(samples) }
    }
}

@_cdecl("lamina_silhouette_samples_precomputed_csr")
public func lamina_silhouette_samples_precomputed_csr(_ data: UnsafePointer<Float>?, _ indices: UnsafePointer<Int64>?,
                                                      _ indptr: UnsafePointer<Int64>?, _ nnz: Int64, _ n: Int64, _ m: Int64,
                                                      _ labels: UnsafePointer<Int32>?, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    silhouettePrecomputedCSR(data, indices, indptr, nnz, n, m, labels, out, mean: false)
}

@_cdecl("lamina_silhouette_score_precomputed_csr")
public func lamina_silhouette_score_precomputed_csr(_ data: UnsafePointer<Float>?, _ indices: UnsafePointer<Int64>?,
                                                    _ indptr: UnsafePointer<Int64>?, _ nnz: Int64, _ n: Int64, _ m: Int64,
                                                    _ labels: UnsafePointer<Int32>?, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    silhouettePrecomputedCSR(data, indices, indptr, nnz, n, m, labels, out, mean: true)
}

@_cdecl("lamina_silhouette_samples_precomputed_csr_f64")
public func lamina_silhouette_samples_precomputed_csr_f64(_ data: UnsafePointer<Double>?, _ indices: UnsafePointer<Int64>?,
                                                          _ indptr: UnsafePointer<Int64>?, _ nnz: Int64, _ n: Int64, _ m: Int64,
                                                          _ labels: UnsafePointer<Int32>?, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    silhouettePrecomputedCSR(data, indices, indptr, nnz, n, m, labels, out, mean: false)
}

@_cdecl("lamina_silhouette_score_precomputed_csr_f64")
public func lamina_silhouette_score_precomputed_csr_f64(_ data: UnsafePointer<Double>?, _ indices: UnsafePointer<Int64>?,
                                                        _ indptr: UnsafePointer<Int64>?, _ nnz: Int64, _ n: Int64, _ m: Int64,
                                                        _ labels: UnsafePointer<Int32>?, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    silhouettePrecomputedCSR(data, indices, indptr, nnz, n, m, labels, out, mean: true)
}

private enum SparseIndex { case daviesBouldin, calinskiHarabasz }

private func indexCSR<E: LaminaFloat>(_ which: SparseIndex, _ data: UnsafePointer<E>?, _ indices: UnsafePointer<Int64>?,
                                      _ indptr: UnsafePointer<Int64>?, _ nnz: Int64, _ n: Int64, _ d: Int64,
                                      _ labels: UnsafePointer<Int32>?, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let (view, encoded, result) = try csrAndLabels(data, indices, indptr, nnz, n, d, labels, out)
        switch which {
        case .daviesBouldin: result.pointee = try InternalIndices.daviesBouldin(view, labels: encoded)
        case .calinskiHarabasz: result.pointee = try InternalIndices.calinskiHarabasz(view, labels: encoded)
        }
    }
}

private func xieBeniCSR<E: LaminaFloat>(_ data: UnsafePointer<E>?, _ indices: UnsafePointer<Int64>?, _ indptr: UnsafePointer<Int64>?,
                                        _ nnz: Int64, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?, _ separation: Int32,
                                        _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let (view, encoded, result) = try csrAndLabels(data, indices, indptr, nnz, n, d, labels, out)
        let sep = try CEnums.xieBeniSeparation.decode(separation, "separation")
        result.pointee = try XieBeniIndex.compute(view, labels: encoded, separation: sep)
    }
}

@_cdecl("lamina_silhouette_samples_csr")
public func lamina_silhouette_samples_csr(_ data: UnsafePointer<Float>?, _ indices: UnsafePointer<Int64>?, _ indptr: UnsafePointer<Int64>?,
                                          _ nnz: Int64, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?, _ metric: Int32,
                                          _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    silhouetteCSR(data, indices, indptr, nnz, n, d, labels, metric, out, mean: false)
}

@_cdecl("lamina_silhouette_score_csr")
public func lamina_silhouette_score_csr(_ data: UnsafePointer<Float>?, _ indices: UnsafePointer<Int64>?, _ indptr: UnsafePointer<Int64>?,
                                        _ nnz: Int64, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?, _ metric: Int32,
                                        _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    silhouetteCSR(data, indices, indptr, nnz, n, d, labels, metric, out, mean: true)
}

@_cdecl("lamina_davies_bouldin_score_csr")
public func lamina_davies_bouldin_score_csr(_ data: UnsafePointer<Float>?, _ indices: UnsafePointer<Int64>?, _ indptr: UnsafePointer<Int64>?,
                                            _ nnz: Int64, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                                            _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    indexCSR(.daviesBouldin, data, indices, indptr, nnz, n, d, labels, out)
}

@_cdecl("lamina_calinski_harabasz_score_csr")
public func lamina_calinski_harabasz_score_csr(_ data: UnsafePointer<Float>?, _ indices: UnsafePointer<Int64>?, _ indptr: UnsafePointer<Int64>?,
                                               _ nnz: Int64, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                                               _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    indexCSR(.calinskiHarabasz, data, indices, indptr, nnz, n, d, labels, out)
}

@_cdecl("lamina_xie_beni_index_csr")
public func lamina_xie_beni_index_csr(_ data: UnsafePointer<Float>?, _ indices: UnsafePointer<Int64>?, _ indptr: UnsafePointer<Int64>?,
                                      _ nnz: Int64, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?, _ separation: Int32,
                                      _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    xieBeniCSR(data, indices, indptr, nnz, n, d, labels, separation, out)
}

@_cdecl("lamina_silhouette_samples_csr_f64")
public func lamina_silhouette_samples_csr_f64(_ data: UnsafePointer<Double>?, _ indices: UnsafePointer<Int64>?, _ indptr: UnsafePointer<Int64>?,
                                              _ nnz: Int64, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?, _ metric: Int32,
                                              _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    silhouetteCSR(data, indices, indptr, nnz, n, d, labels, metric, out, mean: false)
}

@_cdecl("lamina_silhouette_score_csr_f64")
public func lamina_silhouette_score_csr_f64(_ data: UnsafePointer<Double>?, _ indices: UnsafePointer<Int64>?, _ indptr: UnsafePointer<Int64>?,
                                            _ nnz: Int64, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?, _ metric: Int32,
                                            _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    silhouetteCSR(data, indices, indptr, nnz, n, d, labels, metric, out, mean: true)
}

@_cdecl("lamina_davies_bouldin_score_csr_f64")
public func lamina_davies_bouldin_score_csr_f64(_ data: UnsafePointer<Double>?, _ indices: UnsafePointer<Int64>?, _ indptr: UnsafePointer<Int64>?,
                                                _ nnz: Int64, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                                                _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    indexCSR(.daviesBouldin, data, indices, indptr, nnz, n, d, labels, out)
}

@_cdecl("lamina_calinski_harabasz_score_csr_f64")
public func lamina_calinski_harabasz_score_csr_f64(_ data: UnsafePointer<Double>?, _ indices: UnsafePointer<Int64>?, _ indptr: UnsafePointer<Int64>?,
                                                   _ nnz: Int64, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                                                   _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    indexCSR(.calinskiHarabasz, data, indices, indptr, nnz, n, d, labels, out)
}

@_cdecl("lamina_xie_beni_index_csr_f64")
public func lamina_xie_beni_index_csr_f64(_ data: UnsafePointer<Double>?, _ indices: UnsafePointer<Int64>?, _ indptr: UnsafePointer<Int64>?,
                                          _ nnz: Int64, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?, _ separation: Int32,
                                          _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    xieBeniCSR(data, indices, indptr, nnz, n, d, labels, separation, out)
}

// MARK: k-means on CSR rows

private func kmeansFitCSR<E: LaminaFloat>(_ model: OpaquePointer?, _ data: UnsafePointer<E>?, _ indices: UnsafePointer<Int64>?,
                                          _ indptr: UnsafePointer<Int64>?, _ nnz: Int64, _ n: Int64, _ d: Int64,
                                          _ initCenters: UnsafePointer<E>?, _ sampleWeight: UnsafePointer<Double>?) -> Int32 {
    boundary {
        let kmeans = try kmeansHandles.get(model)
        let view = try csr(data, indices, indptr, nnz, n, d)
        let given = try givenCenters(kmeans, initCenters, d)
        let weights = sampleWeight.map { Array(UnsafeBufferPointer(start: $0, count: view.rows)) }
        try kmeans.fit(view, initialCenters: given, sampleWeight: weights)
    }
}

/// lamina_kmeans_init_centers_csr(_f64): the start of the CSR fit's first restart, computed alone; the
/// chosen rows written dense (absent entries 0).
private func kmeansInitCentersCSR<E: LaminaFloat>(_ model: OpaquePointer?, _ data: UnsafePointer<E>?, _ indices: UnsafePointer<Int64>?,
                                                  _ indptr: UnsafePointer<Int64>?, _ nnz: Int64, _ n: Int64, _ d: Int64,
                                                  _ sampleWeight: UnsafePointer<Double>?, _ centersOut: UnsafeMutablePointer<E>?,
                                                  _ outLen: Int64, _ indicesOut: UnsafeMutablePointer<Int64>?) -> Int32 {
    boundary {
        let kmeans = try kmeansHandles.get(model)
        let view = try csr(data, indices, indptr, nnz, n, d)
        let out = try initCentersOutput(kmeans, d: view.cols, centersOut, outLen)
        let weights = sampleWeight.map { Array(UnsafeBufferPointer(start: $0, count: view.rows)) }
        let rows = try kmeans.initialRows(view, sampleWeight: weights)
        out.update(repeating: 0, count: rows.count * view.cols)
        for (c, r) in rows.enumerated() {
            for t in view.start(r)..<view.end(r) { out[c * view.cols + Int(view.indices[t])] = view.data[t] }
        }
        indicesOut?.store(rows.map { Int64($0) })
    }
}

@_cdecl("lamina_kmeans_init_centers_csr")
public func lamina_kmeans_init_centers_csr(_ model: OpaquePointer?, _ data: UnsafePointer<Float>?, _ indices: UnsafePointer<Int64>?,
                                           _ indptr: UnsafePointer<Int64>?, _ nnz: Int64, _ n: Int64, _ d: Int64,
                                           _ sampleWeight: UnsafePointer<Double>?, _ centersOut: UnsafeMutablePointer<Float>?,
                                           _ outLen: Int64, _ indicesOut: UnsafeMutablePointer<Int64>?) -> Int32 {
    kmeansInitCentersCSR(model, data, indices, indptr, nnz, n, d, sampleWeight, centersOut, outLen, indicesOut)
}

@_cdecl("lamina_kmeans_init_centers_csr_f64")
public func lamina_kmeans_init_centers_csr_f64(_ model: OpaquePointer?, _ data: UnsafePointer<Double>?, _ indices: UnsafePointer<Int64>?,
                                               _ indptr: UnsafePointer<Int64>?, _ nnz: Int64, _ n: Int64, _ d: Int64,
                                               _ sampleWeight: UnsafePointer<Double>?, _ centersOut: UnsafeMutablePointer<Double>?,
                                               _ outLen: Int64, _ indicesOut: UnsafeMutablePointer<Int64>?) -> Int32 {
    kmeansInitCentersCSR(model, data, indices, indptr, nnz, n, d, sampleWeight, centersOut, outLen, indicesOut)
}

private func fittedModel(_ model: OpaquePointer?) throws -> KMeans {
    let kmeans = try kmeansHandles.get(model)
    if !kmeans.isFitted { throw LaminaError.invalid("this lamina_kmeans model is not fitted yet; call lamina_kmeans_fit first") }
    return kmeans
}

private func kmeansPredictCSR<E: LaminaFloat>(_ model: OpaquePointer?, _ data: UnsafePointer<E>?, _ indices: UnsafePointer<Int64>?,
                                              _ indptr: UnsafePointer<Int64>?, _ nnz: Int64, _ n: Int64, _ d: Int64,
                                              _ labelsOut: UnsafeMutablePointer<Int32>?, _ squaredOut: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let kmeans = try fittedModel(model)
        let view = try csr(data, indices, indptr, nnz, n, d)
        let out = try Check.output(labelsOut, "labels_out")
        let (labels, squared) = try kmeans.predict(view, distances: squaredOut != nil)
        out.store(labels)
        squaredOut?.store(squared)
    }
}

private func kmeansTransformCSR<E: LaminaFloat>(_ model: OpaquePointer?, _ data: UnsafePointer<E>?, _ indices: UnsafePointer<Int64>?,
                                                _ indptr: UnsafePointer<Int64>?, _ nnz: Int64, _ n: Int64, _ d: Int64,
                                                _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let kmeans = try fittedModel(model)
        let view = try csr(data, indices, indptr, nnz, n, d)
        let result = try Check.output(out, "out")
        result.store(try kmeans.transform(view))
    }
}

@_cdecl("lamina_kmeans_fit_csr")
public func lamina_kmeans_fit_csr(_ model: OpaquePointer?, _ data: UnsafePointer<Float>?, _ indices: UnsafePointer<Int64>?,
                                  _ indptr: UnsafePointer<Int64>?, _ nnz: Int64, _ n: Int64, _ d: Int64,
                                  _ initCenters: UnsafePointer<Float>?, _ sampleWeight: UnsafePointer<Double>?) -> Int32 {
    kmeansFitCSR(model, data, indices, indptr, nnz, n, d, initCenters, sampleWeight)
}

@_cdecl("lamina_kmeans_predict_csr")
public func lamina_kmeans_predict_csr(_ model: OpaquePointer?, _ data: UnsafePointer<Float>?, _ indices: UnsafePointer<Int64>?,
                                      _ indptr: UnsafePointer<Int64>?, _ nnz: Int64, _ n: Int64, _ d: Int64,
                                      _ labelsOut: UnsafeMutablePointer<Int32>?, _ squaredOut: UnsafeMutablePointer<Double>?) -> Int32 {
    kmeansPredictCSR(model, data, indices, indptr, nnz, n, d, labelsOut, squaredOut)
}

@_cdecl("lamina_kmeans_transform_csr")
public func lamina_kmeans_transform_csr(_ model: OpaquePointer?, _ data: UnsafePointer<Float>?, _ indices: UnsafePointer<Int64>?,
                                        _ indptr: UnsafePointer<Int64>?, _ nnz: Int64, _ n: Int64, _ d: Int64,
                                        _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    kmeansTransformCSR(model, data, indices, indptr, nnz, n, d, out)
}

@_cdecl("lamina_kmeans_fit_csr_f64")
public func lamina_kmeans_fit_csr_f64(_ model: OpaquePointer?, _ data: UnsafePointer<Double>?, _ indices: UnsafePointer<Int64>?,
                                      _ indptr: UnsafePointer<Int64>?, _ nnz: Int64, _ n: Int64, _ d: Int64,
                                      _ initCenters: UnsafePointer<Double>?, _ sampleWeight: UnsafePointer<Double>?) -> Int32 {
    kmeansFitCSR(model, data, indices, indptr, nnz, n, d, initCenters, sampleWeight)
}

@_cdecl("lamina_kmeans_predict_csr_f64")
public func lamina_kmeans_predict_csr_f64(_ model: OpaquePointer?, _ data: UnsafePointer<Double>?, _ indices: UnsafePointer<Int64>?,
                                          _ indptr: UnsafePointer<Int64>?, _ nnz: Int64, _ n: Int64, _ d: Int64,
                                          _ labelsOut: UnsafeMutablePointer<Int32>?, _ squaredOut: UnsafeMutablePointer<Double>?) -> Int32 {
    kmeansPredictCSR(model, data, indices, indptr, nnz, n, d, labelsOut, squaredOut)
}

@_cdecl("lamina_kmeans_transform_csr_f64")
public func lamina_kmeans_transform_csr_f64(_ model: OpaquePointer?, _ data: UnsafePointer<Double>?, _ indices: UnsafePointer<Int64>?,
                                            _ indptr: UnsafePointer<Int64>?, _ nnz: Int64, _ n: Int64, _ d: Int64,
                                            _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    kmeansTransformCSR(model, data, indices, indptr, nnz, n, d, out)
}

import LaminaCore
import CLaminaABI


let kmeansHandles = HandleTable<KMeans>("lamina_kmeans")

private func parameters(_ p: UnsafePointer<lamina_kmeans_params>?) throws -> KMeans.Parameters {
    let raw = try Check.pointer(p, "params").pointee
    let initialization = try CEnums.kmeansInit.decode(raw.`init`, "params.init")
    let params = KMeans.Parameters(clusterCount: Int(raw.n_clusters), initialization: initialization,
                                   initCount: Int(raw.n_init), maxIterations: Int(raw.max_iter),
                                   tolerance: raw.tol, seed: raw.seed, verbose: raw.verbose != 0)
    if raw.verbose < 0 { throw LaminaError.invalid("params.verbose is \(raw.verbose); expected 0 (off) or 1 (on)") }
    try params.check()
    return params
}

@_cdecl("lamina_kmeans_default_params")
public func lamina_kmeans_default_params() -> lamina_kmeans_params {
    let p = KMeans.Parameters()
    return lamina_kmeans_params(n_clusters: Int32(p.clusterCount), init: CEnums.kmeansInit.code(p.initialization),
                                n_init: Int32(p.initCount), max_iter: Int32(p.maxIterations), tol: p.tolerance, seed: p.seed,
                                verbose: p.verbose ? 1 : 0)
}

@_cdecl("lamina_kmeans_check_params")
public func lamina_kmeans_check_params(_ params: UnsafePointer<lamina_kmeans_params>?) -> Int32 {
    boundary { _ = try parameters(params) }
}

@_cdecl("lamina_kmeans_create")
public func lamina_kmeans_create(_ params: UnsafePointer<lamina_kmeans_params>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    kmeansHandles.create(out) { try KMeans(try parameters(params)) }
}

@_cdecl("lamina_kmeans_free")
public func lamina_kmeans_free(_ model: OpaquePointer?) {
    kmeansHandles.remove(model)
}

/// The init_centers argument of a dense or CSR fit: required (n_clusters x d, finite) when params.init is
/// LAMINA_KMEANS_INIT_GIVEN, NULL otherwise.
func givenCenters<E: LaminaFloat>(_ kmeans: KMeans, _ initCenters: UnsafePointer<E>?, _ d: Int64) throws -> MatrixViewOf<E>? {
    if kmeans.parameters.initialization == .given {
        return try Check.matrix(initCenters, Int64(kmeans.parameters.clusterCount), d, "init_centers",
                                rowsName: "n_clusters", colsName: "d")
    }
    if initCenters != nil {
        throw LaminaError.invalid("init_centers is not NULL but params.init is not LAMINA_KMEANS_INIT_GIVEN; pass NULL or set init to given")
    }
    return nil
}

/// sample_weight of a dense fit or seeding: NULL = unit weights (nil); else n finite values >= 0 with a
/// positive finite sum, checked here and widened exactly to float64 for the core.
private func sampleWeights<E: LaminaFloat>(_ sampleWeight: UnsafePointer<E>?, _ n: Int) throws -> [Double]? {
    guard let sampleWeight else { return nil }
    var w = [Double](repeating: 0, count: n)
    var total = 0.0
    for i in 0..<n {
        let v = Double(sampleWeight[i])
        if !v.isFinite { throw LaminaError(.nonFinite, "sample_weight[\(i)] is \(v); expected finite weights") }
        if v < 0 { throw LaminaError.invalid("sample_weight[\(i)] is \(v); expected weights >= 0") }
        w[i] = v
        total += v
    }
    if !(total > 0) || !total.isFinite {
        throw LaminaError.invalid("sample_weight sums to \(total); expected a finite positive sum")
    }
    return w
}

/// The outputs of lamina_kmeans_init_centers(_csr)(_f64), checked before any work: out_len must be
/// n_clusters * d and centers_out not NULL (indices_out may be NULL).
func initCentersOutput<E>(_ kmeans: KMeans, d: Int, _ centersOut: UnsafeMutablePointer<E>?,
                          _ outLen: Int64) throws -> UnsafeMutablePointer<E> {
    let (cells, overflow) = kmeans.parameters.clusterCount.multipliedReportingOverflow(by: d)
    if overflow { throw LaminaError.shape("out_len is \(outLen); expected n_clusters * d = \(kmeans.parameters.clusterCount) * \(d), which overflows") }
    try Check.length(outLen, expected: cells, "out_len (n_clusters * d)")
    return try Check.output(centersOut, "centers_out")
}

/// lamina_kmeans_init_centers(_f64): the start of the fit's first restart, computed alone.
private func kmeansInitCenters<E: LaminaFloat>(_ model: OpaquePointer?, _ x: UnsafePointer<E>?, _ n: Int64, _ d: Int64,
                                               _ sampleWeight: UnsafePointer<E>?, _ centersOut: UnsafeMutablePointer<E>?,
                                               _ outLen: Int64, _ indicesOut: UnsafeMutablePointer<Int64>?) -> Int32 {
    boundary {
        let kmeans = try kmeansHandles.get(model)
        let view = try Check.matrix(x, n, d)
        let out = try initCentersOutput(kmeans, d: view.cols, centersOut, outLen)
        let rows = try kmeans.initialRows(view, sampleWeight: try sampleWeights(sampleWeight, view.rows))
        for (c, r) in rows.enumerated() { (out + c * view.cols).update(from: view.row(r), count: view.cols) }
        indicesOut?.store(rows.map { Int64($0) })
    }
}

@_cdecl("lamina_kmeans_init_centers")
public func lamina_kmeans_init_centers(_ model: OpaquePointer?, _ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64,
                                       _ sampleWeight: UnsafePointer<Float>?, _ centersOut: UnsafeMutablePointer<Float>?,
                                       _ outLen: Int64, _ indicesOut: UnsafeMutablePointer<Int64>?) -> Int32 {
    kmeansInitCenters(model, x, n, d, sampleWeight, centersOut, outLen, indicesOut)
}

@_cdecl("lamina_kmeans_init_centers_f64")
public func lamina_kmeans_init_centers_f64(_ model: OpaquePointer?, _ x: UnsafePointer<Double>?, _ n: Int64, _ d: Int64,
                                           _ sampleWeight: UnsafePointer<Double>?, _ centersOut: UnsafeMutablePointer<Double>?,
                                           _ outLen: Int64, _ indicesOut: UnsafeMutablePointer<Int64>?) -> Int32 {
    kmeansInitCenters(model, x, n, d, sampleWeight, centersOut, outLen, indicesOut)
}

/// fit and predict share one generic body for the float32 functions and their `_f64` twins.
private func kmeansFit<E: LaminaFloat>(_ model: OpaquePointer?, _ x: UnsafePointer<E>?, _ n: Int64, _ d: Int64,
                                       _ initCenters: UnsafePointer<E>?, weighted: Bool = false,
                                       _ sampleWeight: UnsafePointer<E>? = nil) -> Int32 {
    boundary {
        let kmeans = try kmeansHandles.get(model)
        let view = try Check.matrix(x, n, d)
        let given = try givenCenters(kmeans, initCenters, d)
        let weights = weighted ? try sampleWeights(sampleWeight, view.rows) : nil
        try kmeans.fit(view, initialCenters: given, sampleWeight: weights)
    }
}

private func kmeansPredict<E: LaminaFloat>(_ model: OpaquePointer?, _ x: UnsafePointer<E>?, _ n: Int64, _ d: Int64,
                                           _ labelsOut: UnsafeMutablePointer<Int32>?) -> Int32 {
    boundary {
        // The fitted width is checked before x is read (a wrong declared d would scan past the buffer).
        let kmeans = try fitted(model)
        let view = try Check.matrix(x, n, d, expectedCols: (kmeans.dims, { "x has \($0) features; the model was fitted with \(kmeans.dims)" }))
        let out = try Check.output(labelsOut, "labels_out")
        let labels = try kmeans.predict(view)
        out.store(labels)
    }
}

@_cdecl("lamina_kmeans_fit")
public func lamina_kmeans_fit(_ model: OpaquePointer?, _ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64,
                              _ initCenters: UnsafePointer<Float>?) -> Int32 {
    kmeansFit(model, x, n, d, initCenters)
}

@_cdecl("lamina_kmeans_fit_weighted")
public func lamina_kmeans_fit_weighted(_ model: OpaquePointer?, _ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64,
                                       _ initCenters: UnsafePointer<Float>?, _ sampleWeight: UnsafePointer<Float>?) -> Int32 {
    kmeansFit(model, x, n, d, initCenters, weighted: true, sampleWeight)
}

@_cdecl("lamina_kmeans_fit_weighted_f64")
public func lamina_kmeans_fit_weighted_f64(_ model: OpaquePointer?, _ x: UnsafePointer<Double>?, _ n: Int64, _ d: Int64,
                                           _ initCenters: UnsafePointer<Double>?, _ sampleWeight: UnsafePointer<Double>?) -> Int32 {
    kmeansFit(model, x, n, d, initCenters, weighted: true, sampleWeight)
}

@_cdecl("lamina_kmeans_predict")
public func lamina_kmeans_predict(_ model: OpaquePointer?, _ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64,
                                  _ labelsOut: UnsafeMutablePointer<Int32>?) -> Int32 {
    kmeansPredict(model, x, n, d, labelsOut)
}

private func fitted(_ model: OpaquePointer?) throws -> KMeans {
    let kmeans = try kmeansHandles.get(model)
    if !kmeans.isFitted { throw LaminaError.invalid("this lamina_kmeans model is not fitted yet; call lamina_kmeans_fit first") }
    return kmeans
}

@_cdecl("lamina_kmeans_get_info")
public func lamina_kmeans_get_info(_ model: OpaquePointer?, _ nSamples: UnsafeMutablePointer<Int64>?,
                                   _ nFeatures: UnsafeMutablePointer<Int64>?, _ nClusters: UnsafeMutablePointer<Int32>?,
                                   _ inertia: UnsafeMutablePointer<Double>?, _ nIter: UnsafeMutablePointer<Int32>?) -> Int32 {
    boundary {
        let kmeans = try fitted(model)
        nSamples?.pointee = Int64(kmeans.labels.count)
        nFeatures?.pointee = Int64(kmeans.dims)
        nClusters?.pointee = Int32(kmeans.parameters.clusterCount)
        inertia?.pointee = kmeans.inertia
        nIter?.pointee = Int32(kmeans.iterations)
    }
}

@_cdecl("lamina_kmeans_get_centers")
public func lamina_kmeans_get_centers(_ model: OpaquePointer?, _ out: UnsafeMutablePointer<Float>?, _ outLen: Int64) -> Int32 {
    boundary {
        let kmeans = try fitted(model)
        try Check.copyOut(kmeans.centers, to: out, length: outLen, "out_len (n_clusters * n_features)")
    }
}

@_cdecl("lamina_kmeans_get_labels")
public func lamina_kmeans_get_labels(_ model: OpaquePointer?, _ out: UnsafeMutablePointer<Int32>?, _ outLen: Int64) -> Int32 {
    boundary {
        let kmeans = try fitted(model)
        try Check.copyOut(kmeans.labels, to: out, length: outLen, "out_len (n_samples)")
    }
}

private func kmeansSetCenters<E: LaminaFloat>(_ model: OpaquePointer?, _ centers: UnsafePointer<E>?, _ nClusters: Int64,
                                              _ nFeatures: Int64) -> Int32 {
    boundary {
        let kmeans = try kmeansHandles.get(model)
        if nClusters != Int64(kmeans.parameters.clusterCount) {
            throw LaminaError.shape("n_clusters is \(nClusters); this model has params.n_clusters = \(kmeans.parameters.clusterCount)")
        }
        let view = try Check.matrix(centers, nClusters, nFeatures, "centers", rowsName: "n_clusters", colsName: "n_features")
        try kmeans.restore(centers: view)
    }
}

@_cdecl("lamina_kmeans_set_centers")
public func lamina_kmeans_set_centers(_ model: OpaquePointer?, _ centers: UnsafePointer<Float>?, _ nClusters: Int64,
                                      _ nFeatures: Int64) -> Int32 {
    kmeansSetCenters(model, centers, nClusters, nFeatures)
}

// MARK: float64 twins

@_cdecl("lamina_kmeans_fit_f64")
public func lamina_kmeans_fit_f64(_ model: OpaquePointer?, _ x: UnsafePointer<Double>?, _ n: Int64, _ d: Int64,
                                  _ initCenters: UnsafePointer<Double>?) -> Int32 {
    kmeansFit(model, x, n, d, initCenters)
}

@_cdecl("lamina_kmeans_predict_f64")
public func lamina_kmeans_predict_f64(_ model: OpaquePointer?, _ x: UnsafePointer<Double>?, _ n: Int64, _ d: Int64,
                                      _ labelsOut: UnsafeMutablePointer<Int32>?) -> Int32 {
    kmeansPredict(model, x, n, d, labelsOut)
}

@_cdecl("lamina_kmeans_get_centers_f64")
public func lamina_kmeans_get_centers_f64(_ model: OpaquePointer?, _ out: UnsafeMutablePointer<Double>?, _ outLen: Int64) -> Int32 {
    boundary {
        let kmeans = try fitted(model)
        try Check.copyOut(kmeans.centers64, to: out, length: outLen, "out_len (n_clusters * n_features)")
    }
}

@_cdecl("lamina_kmeans_set_centers_f64")
public func lamina_kmeans_set_centers_f64(_ model: OpaquePointer?, _ centers: UnsafePointer<Double>?, _ nClusters: Int64,
                                          _ nFeatures: Int64) -> Int32 {
    kmeansSetCenters(model, centers, nClusters, nFeatures)
}

@_cdecl("lamina_kmeans_get_precision")
public func lamina_kmeans_get_precision(_ model: OpaquePointer?, _ out: UnsafeMutablePointer<Int32>?) -> Int32 {
    boundary {
        let kmeans = try fitted(model)
        try Check.output(out, "out").pointee = kmeans.isFloat64 ? 64 : 32
    }
}

@_cdecl("lamina_kmeans_get_log")
public func lamina_kmeans_get_log(_ model: OpaquePointer?, _ out: UnsafeMutablePointer<CChar>?, _ capacity: Int64,
                                  _ length: UnsafeMutablePointer<Int64>?) -> Int32 {
    boundary {
        let kmeans = try kmeansHandles.get(model)
        let bytes = Array(kmeans.verboseLog.utf8)
        let needed = try Check.output(length, "length")
        if capacity < 0 { throw LaminaError.invalid("capacity is \(capacity); expected >= 0") }
        if capacity > 0 {
            let buffer = try Check.output(out, "out")
            let count = min(bytes.count, Int(min(capacity - 1, Int64(Int.max))))
            for i in 0..<count { buffer[i] = CChar(bitPattern: bytes[i]) }
            buffer[count] = 0
        }
        needed.pointee = Int64(bytes.count)
    }
}

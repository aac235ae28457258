import CLaminaABI
import LaminaCore

// The C boundary of representation geometry (include/lamina.h, "Representation geometry: CKA and
// RSA"): validation first, then the core.

extension CEnums {
    static let rdmMetric = CEnum<RSA.Metric>([
        (LAMINA_RDM_EUCLIDEAN, .euclidean, "euclidean"), (LAMINA_RDM_CORRELATION, .correlation, "correlation"),
        (LAMINA_RDM_COSINE, .cosine, "cosine")])
    static let rsaMethod = CEnum<RSA.Method>([
        (LAMINA_RSA_SPEARMAN, .spearman, "spearman"), (LAMINA_RSA_PEARSON, .pearson, "pearson"),
        (LAMINA_RSA_KENDALL_TAU_A, .kendallTauA, "kendall_tau_a"), (LAMINA_RSA_COSINE, .cosine, "cosine")])
}

private func flag(_ value: Int32, _ name: String) throws -> Bool {
    if value != 0 && value != 1 { throw LaminaError.invalid("\(name) is \(value); expected 0 or 1") }
    return value == 1
}

/// Two representations of the same n inputs: x (n x d1) and y (n x d2).
private func pair(_ x: UnsafePointer<Float>?, _ n: Int64, _ d1: Int64, _ y: UnsafePointer<Float>?, _ d2: Int64) throws
    -> (MatrixView, MatrixView) {
    let vx = try Check.matrix(x, n, d1, "x", rowsName: "n", colsName: "d1")
    let vy = try Check.matrix(y, n, d2, "y", rowsName: "n", colsName: "d2")
    return (vx, vy)
}

private func layerList(_ layers: UnsafePointer<UnsafePointer<Float>?>?, _ dims: UnsafePointer<Int64>?, _ count: Int32,
                       _ n: Int64, _ layersName: String, _ dimsName: String, _ countName: String) throws -> [MatrixView] {
    let k = try Check.count(Int64(count), countName)
    let list = try Check.pointer(layers, layersName), sizes = try Check.pointer(dims, dimsName)
    var views: [MatrixView] = []
    for l in 0..<k {
        views.append(try Check.matrix(list[l], n, sizes[l], "\(layersName)[\(l)]", rowsName: "n", colsName: "\(dimsName)[\(l)]"))
    }
    return views
}

@_cdecl("lamina_linear_cka")
public func lamina_linear_cka(_ x: UnsafePointer<Float>?, _ n: Int64, _ d1: Int64, _ y: UnsafePointer<Float>?, _ d2: Int64,
                              _ debiased: Int32, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let (vx, vy) = try pair(x, n, d1, y, d2)
        let unbiased = try flag(debiased, "debiased")
        let result = try Check.output(out, "out")
        result.pointee = try CKA.linear(vx, vy, debiased: unbiased)
    }
}

@_cdecl("lamina_rbf_cka")
public func lamina_rbf_cka(_ x: UnsafePointer<Float>?, _ n: Int64, _ d1: Int64, _ y: UnsafePointer<Float>?, _ d2: Int64,
                           _ sigmaFactor: Double, _ sigmaX: Double, _ sigmaY: Double,
                           _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let (vx, vy) = try pair(x, n, d1, y, d2)
        if !(sigmaFactor > 0) || !sigmaFactor.isFinite {
            throw LaminaError.invalid("sigma_factor is \(sigmaFactor); expected a finite value > 0")
        }
        for (value, name) in [(sigmaX, "sigma_x"), (sigmaY, "sigma_y")] where !(value >= 0) || !value.isFinite {
            throw LaminaError.invalid("\(name) is \(value); expected 0 (median rule) or a finite value > 0")
        }
        let result = try Check.output(out, "out")
        result.pointee = try CKA.rbf(vx, vy, sigmaFactor: sigmaFactor, sigmaX: sigmaX > 0 ? sigmaX : nil,
                                     sigmaY: sigmaY > 0 ? sigmaY : nil)
    }
}

@_cdecl("lamina_median_distance")
public func lamina_median_distance(_ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64,
                                   _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let view = try Check.matrix(x, n, d)
        let result = try Check.output(out, "out")
        result.pointee = try CKA.medianDistance(view)
    }
}

@_cdecl("lamina_cka_matrix")
public func lamina_cka_matrix(_ layers: UnsafePointer<UnsafePointer<Float>?>?, _ dims: UnsafePointer<Int64>?, _ nLayers: Int32,
                              _ layers2: UnsafePointer<UnsafePointer<Float>?>?, _ dims2: UnsafePointer<Int64>?, _ nLayers2: Int32,
                              _ n: Int64, _ debiased: Int32, _ out: UnsafeMutablePointer<Double>?, _ outLen: Int64) -> Int32 {
    boundary {
        _ = try Check.count(n, "n")
        let first = try layerList(layers, dims, nLayers, n, "layers", "dims", "n_layers")
        var second: [MatrixView]? = nil
        if nLayers2 < 0 { throw LaminaError.invalid("n_layers2 is \(nLayers2); expected 0 (one list) or >= 1") }
        if nLayers2 == 0 {
            if layers2 != nil || dims2 != nil {
                throw LaminaError.invalid("n_layers2 is 0 but layers2 or dims2 is not NULL; expected both NULL for the CKA matrix of one list")
            }
        } else {
            second = try layerList(layers2, dims2, nLayers2, n, "layers2", "dims2", "n_layers2")
        }
        let unbiased = try flag(debiased, "debiased")
        let columns = second?.count ?? first.count
        try Check.length(outLen, expected: first.count * columns, "out_len")
        let result = try Check.output(out, "out")
        result.store(try CKA.matrix(first, second, debiased: unbiased))
    }
}

@_cdecl("lamina_cka_matrix_h5")
public func lamina_cka_matrix_h5(_ path: UnsafePointer<CChar>?, _ datasets: UnsafePointer<UnsafePointer<CChar>?>?, _ nLayers: Int32,
                                 _ path2: UnsafePointer<CChar>?, _ datasets2: UnsafePointer<UnsafePointer<CChar>?>?, _ nLayers2: Int32,
                                 _ debiased: Int32, _ out: UnsafeMutablePointer<Double>?, _ outLen: Int64) -> Int32 {
    boundary {
        // Every argument is checked before a file is opened.
        let file = try Check.cString(path, "path")
        let count = try Check.count(Int64(nLayers), "n_layers")
        let names = try datasetNames(datasets, count, "datasets")
        if nLayers2 < 0 { throw LaminaError.invalid("n_layers2 is \(nLayers2); expected 0 (one list) or >= 1") }
        if nLayers2 == 0 && (path2 != nil || datasets2 != nil) {
            throw LaminaError.invalid("n_layers2 is 0 but path2 or datasets2 is not NULL; expected both NULL for the CKA matrix of one list")
        }
        let second = nLayers2 == 0 ? nil : (file: path2 == nil ? file : try Check.cString(path2, "path2"),
                                            names: try datasetNames(datasets2, Int(nLayers2), "datasets2"))
        let unbiased = try flag(debiased, "debiased")
        try Check.length(outLen, expected: count * (second?.names.count ?? count), "out_len")
        let result = try Check.output(out, "out")
        let first = try readLayerMatrices(file, names, rows: nil, rowsMeaning: "the rows of datasets[0]")
        let other = try second.map {
            try readLayerMatrices($0.file, $0.names, rows: first[0].rows, rowsMeaning: "the rows of datasets[0]")
        }
        let values = try withViews(first) { a in
            try withViews(other ?? []) { b in try CKA.matrix(a, other == nil ? nil : b, debiased: unbiased) }
        }
        result.store(values)
    }
}

@_cdecl("lamina_rdm")
public func lamina_rdm(_ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64, _ metric: Int32,
                       _ out: UnsafeMutablePointer<Double>?, _ outLen: Int64) -> Int32 {
    boundary {
        try RSA.checkPairCap(rows: n)  // before the rows are read
        let view = try Check.matrix(x, n, d)
        let m = try CEnums.rdmMetric.decode(metric, "metric")
        let rows = view.rows
        try Check.length(outLen, expected: rows * (rows - 1) / 2, "out_len")
        let result = try Check.output(out, "out")
        result.store(try RSA.rdm(view, metric: m))
    }
}

@_cdecl("lamina_rsa")
public func lamina_rsa(_ x: UnsafePointer<Float>?, _ n: Int64, _ d1: Int64, _ y: UnsafePointer<Float>?, _ d2: Int64,
                       _ metric: Int32, _ method: Int32, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let how = try CEnums.rsaMethod.decode(method, "method")
        if how.ranks { try RSA.checkPairCap(rows: n, ranking: how) }  // before the rows are read
        let (vx, vy) = try pair(x, n, d1, y, d2)
        let m = try CEnums.rdmMetric.decode(metric, "metric")
        let result = try Check.output(out, "out")
        result.pointee = try RSA.rsa(vx, vy, metric: m, method: how)
    }
}

@_cdecl("lamina_rdm_compare")
public func lamina_rdm_compare(_ rdm1: UnsafePointer<Double>?, _ rdm2: UnsafePointer<Double>?, _ m: Int64,
                               _ method: Int32, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        // RSA.compare checks the ranking cap before it reads the RDMs, which it reads in place.
        let count = try Check.count(m, "m", minimum: 2)
        let how = try CEnums.rsaMethod.decode(method, "method")
        let a = UnsafeBufferPointer(start: try Check.pointer(rdm1, "rdm1"), count: count)
        let b = UnsafeBufferPointer(start: try Check.pointer(rdm2, "rdm2"), count: count)
        let result = try Check.output(out, "out")
        result.pointee = try RSA.compare(a, b, method: how)
    }
}

@_cdecl("lamina_cka_alignment")
public func lamina_cka_alignment(_ layers: UnsafePointer<UnsafePointer<Float>?>?, _ dims: UnsafePointer<Int64>?, _ nLayers: Int32,
                                 _ n: Int64, _ x: UnsafePointer<Float>?, _ dX: Int64, _ labels: UnsafePointer<Int32>?,
                                 _ debiased: Int32, _ out: UnsafeMutablePointer<Double>?, _ outLen: Int64) -> Int32 {
    boundary {
        let rows = try Check.count(n, "n")
        let list = try layerList(layers, dims, nLayers, n, "layers", "dims", "n_layers")
        let inputs = try Check.matrix(x, n, dX, "x", rowsName: "n", colsName: "d_x")
        let targets = try Check.labels(labels, rows)
        let unbiased = try flag(debiased, "debiased")
        try Check.length(outLen, expected: list.count * 2, "out_len")
        let result = try Check.output(out, "out")
        result.store(try KernelAlignment.compute(layers: list, inputs: inputs, labels: targets, debiased: unbiased))
    }
}

private func binRange(_ range: Int32, _ lo: Double, _ hi: Double) throws -> InformationPlane.RangeRule {
    switch range {
    case LAMINA_BIN_RANGE_LAYER: return .layer
    case LAMINA_BIN_RANGE_CHECKPOINT: return .checkpoint
    case LAMINA_BIN_RANGE_FIXED: return .fixed(lo, hi)
    default:
        throw LaminaError.invalid("range is \(range); expected one of \(LAMINA_BIN_RANGE_LAYER) (layer), \(LAMINA_BIN_RANGE_CHECKPOINT) (checkpoint), \(LAMINA_BIN_RANGE_FIXED) (fixed)")
    }
}

private func binCount(_ bins: Int32) throws -> Int {
    if bins < 2 || Int(bins) > InformationPlane.maxBins {
        throw LaminaError.invalid("bins is \(bins); expected 2 <= bins <= \(InformationPlane.maxBins)")
    }
    return Int(bins)
}

@_cdecl("lamina_information_plane")
public func lamina_information_plane(_ checkpoints: UnsafePointer<UnsafePointer<Float>?>?, _ nCheckpoints: Int32, _ n: Int64,
                                     _ d: Int64, _ labels: UnsafePointer<Int32>?, _ inputs: UnsafePointer<Int32>?,
                                     _ bins: Int32, _ range: Int32, _ lo: Double, _ hi: Double,
                                     _ out: UnsafeMutablePointer<Double>?, _ outLen: Int64) -> Int32 {
    boundary {
        let rows = try Check.count(n, "n")
        let count = try Check.count(Int64(nCheckpoints), "n_checkpoints", minimum: 2)
        let list = try Check.pointer(checkpoints, "checkpoints")
        var views: [MatrixView] = []
        for c in 0..<count { views.append(try Check.matrix(list[c], n, d, "checkpoints[\(c)]")) }
        let y = try Check.labels(labels, rows)
        let x = inputs == nil ? nil : try Check.labels(inputs, rows, "inputs")
        let b = try binCount(bins)
        let rule = try binRange(range, lo, hi)
        try Check.length(outLen, expected: 2 * count, "out_len")
        let result = try Check.output(out, "out")
        result.store(try InformationPlane.compute(views, labels: y, inputs: x, bins: b, range: rule))
    }
}

@_cdecl("lamina_binned_mutual_information")
public func lamina_binned_mutual_information(_ t: UnsafePointer<Float>?, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                                             _ inputs: UnsafePointer<Int32>?, _ bins: Int32, _ range: Int32,
                                             _ lo: Double, _ hi: Double, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let view = try Check.matrix(t, n, d, "t")
        let y = try Check.labels(labels, view.rows)
        let x = inputs == nil ? nil : try Check.labels(inputs, view.rows, "inputs")
        let b = try binCount(bins)
        let rule = try binRange(range, lo, hi)
        let result = try Check.output(out, "out")
        result.store(try InformationPlane.compute([view], labels: y, inputs: x, bins: b, range: rule))
    }
}

import CLaminaABI
import LaminaCore

// The C boundary of the audits (include/lamina.h, "Audits"): validation first, then the core.

extension CEnums {
    static let aqiVariant = CEnum<AQI.Variant>([
        (LAMINA_AQI_DBS_DUNN, .dbsDunn, "dbs_dunn"), (LAMINA_AQI_SILHOUETTE_XB, .silhouetteXB, "silhouette_xb"),
        (LAMINA_AQI_CHI_XB, .chiXB, "chi_xb")])
}

private func pcaCount(_ value: Int32) throws -> Int {
    if value < 0 { throw LaminaError.invalid("pca_components is \(value); expected 0 (no projection) or >= 1") }
    return Int(value)
}

private func gammaValue(_ gamma: Double) throws -> Double {
    if !(gamma >= 0 && gamma <= 1) { throw LaminaError.invalid("gamma is \(gamma); expected a value in [0, 1]") }
    return gamma
}

@_cdecl("lamina_aqi_score")
public func lamina_aqi_score(_ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                             _ variant: Int32, _ gamma: Double, _ pcaComponents: Int32,
                             _ out: UnsafeMutablePointer<Double>?, _ outLen: Int64) -> Int32 {
    boundary {
        let view = try Check.matrix(x, n, d)
        let groups = try Check.labels(labels, view.rows)
        let v = try CEnums.aqiVariant.decode(variant, "variant")
        let g = try gammaValue(gamma)
        let k = try pcaCount(pcaComponents)
        try Check.length(outLen, expected: AQI.columns, "out_len")
        let result = try Check.output(out, "out")
        result.store(try AQI.score(view, labels: groups, variant: v, gamma: g, pca: k))
    }
}

@_cdecl("lamina_aqi_groups")
public func lamina_aqi_groups(_ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                              _ groups: UnsafePointer<Int32>?, _ variant: Int32, _ gamma: Double, _ pcaComponents: Int32,
                              _ out: UnsafeMutablePointer<Double>?, _ outLen: Int64) -> Int32 {
    boundary {
        let view = try Check.matrix(x, n, d)
        let safety = try Check.labels(labels, view.rows)
        let sets = try Check.labels(groups, view.rows, "groups")
        let v = try CEnums.aqiVariant.decode(variant, "variant")
        let g = try gammaValue(gamma)
        let k = try pcaCount(pcaComponents)
        try Check.length(outLen, expected: (sets.classCount + 1) * AQI.columns, "out_len")
        let result = try Check.output(out, "out")
        result.store(try AQI.groups(view, labels: safety, groups: sets, variant: v, gamma: g, pca: k))
    }
}

@_cdecl("lamina_aqi_layers")
public func lamina_aqi_layers(_ layers: UnsafePointer<UnsafePointer<Float>?>?, _ dims: UnsafePointer<Int64>?, _ nLayers: Int32,
                              _ n: Int64, _ labels: UnsafePointer<Int32>?, _ variant: Int32, _ gamma: Double,
                              _ pcaComponents: Int32, _ pooling: Int32, _ firstLayer: Int32, _ lastLayer: Int32,
                              _ weights: UnsafePointer<Double>?, _ table: UnsafeMutablePointer<Double>?, _ tableLen: Int64,
                              _ weightsOut: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let rows = try Check.count(n, "n")
        let count = try Check.count(Int64(nLayers), "n_layers")
        let list = try Check.pointer(layers, "layers"), sizes = try Check.pointer(dims, "dims")
        var views: [MatrixView] = []
        for l in 0..<count {
            views.append(try Check.matrix(list[l], n, sizes[l], "layers[\(l)]", rowsName: "n", colsName: "dims[\(l)]"))
        }
        let safety = try Check.labels(labels, rows)
        let v = try CEnums.aqiVariant.decode(variant, "variant")
        let g = try gammaValue(gamma)
        let k = try pcaCount(pcaComponents)
        let how: AQI.Pooling
        switch pooling {
        case LAMINA_AQI_POOL_NONE: how = .none
        case LAMINA_AQI_POOL_UNIFORM: how = .uniform(first: Int(firstLayer), last: Int(lastLayer))
        case LAMINA_AQI_POOL_GIVEN:
            let w = try Check.pointer(weights, "weights")
            how = .given(Array(UnsafeBufferPointer(start: w, count: count)))
        case LAMINA_AQI_POOL_LEARNED: how = .learned
        default:
            throw LaminaError.invalid("pooling is \(pooling); expected one of \(LAMINA_AQI_POOL_NONE) (none), \(LAMINA_AQI_POOL_UNIFORM) (uniform), \(LAMINA_AQI_POOL_GIVEN) (given), \(LAMINA_AQI_POOL_LEARNED) (learned)")
        }
        try Check.length(tableLen, expected: (count + 1) * AQI.columns, "table_len")
        let result = try Check.output(table, "table")
        let (values, w) = try AQI.layers(views, labels: safety, variant: v, gamma: g, pca: k, pooling: how)
        result.store(values)
        weightsOut?.store(w)
    }
}

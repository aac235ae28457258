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

// MARK: - HDBSCAN and FLARE [experimental]

/// A finite row-major float64 matrix of n x d, copied.
private func doubleMatrix(_ p: UnsafePointer<Double>?, _ n: Int, _ d: Int, _ name: String) throws -> [Double] {
    let count = try Check.elements(n, d, name)
    let base = try Check.pointer(p, name)
    let values = Array(UnsafeBufferPointer(start: base, count: count))
    if let bad = values.firstIndex(where: { !$0.isFinite }) {
        throw LaminaError(.nonFinite, "\(name) contains \(values[bad]) at row \(bad / d), column \(bad % d); expected finite values")
    }
    return values
}

private func minSamplesValue(_ minSamples: Int64, _ minClusterSize: Int) throws -> Int {
    if minSamples < 0 { throw LaminaError.invalid("min_samples is \(minSamples); expected 0 (= min_cluster_size) or >= 1") }
    return minSamples == 0 ? minClusterSize : Int(min(minSamples, Int64(Int32.max)))
}

@_cdecl("lamina_hdbscan")
public func lamina_hdbscan(_ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64, _ minClusterSize: Int64, _ minSamples: Int64,
                           _ labels: UnsafeMutablePointer<Int32>?, _ treeParent: UnsafeMutablePointer<Int64>?,
                           _ treeChild: UnsafeMutablePointer<Int64>?, _ treeLambda: UnsafeMutablePointer<Double>?,
                           _ treeSize: UnsafeMutablePointer<Int64>?, _ stability: UnsafeMutablePointer<Double>?,
                           _ treeCapacity: Int64, _ treeRows: UnsafeMutablePointer<Int64>?) -> Int32 {
    boundary {
        let view = try Check.matrix(x, n, d)
        if minClusterSize < 2 || minClusterSize > Int64(Int32.max) {
            throw LaminaError.invalid("min_cluster_size is \(minClusterSize); expected 2 <= min_cluster_size <= \(Int32.max)")
        }
        let mcs = Int(minClusterSize)
        let k = try minSamplesValue(minSamples, mcs)
        try HDBSCAN.check(rows: view.rows, minClusterSize: mcs, minSamples: k)
        let out = try Check.output(labels, "labels")
        let tree = [treeParent != nil, treeChild != nil, treeLambda != nil, treeSize != nil]
        if tree.contains(true) && tree.contains(false) {
            throw LaminaError.invalid("tree_parent, tree_child, tree_lambda and tree_size must be all NULL or all non-NULL")
        }
        let wantTree = tree.contains(true) || stability != nil
        if wantTree && treeCapacity < 2 * n {
            throw LaminaError.invalid("tree_capacity is \(treeCapacity); expected >= 2 n = \(2 * n) (a bound on the condensed tree's rows)")
        }
        var values = [Double](repeating: 0, count: view.rows * view.cols)
        for i in 0..<values.count { values[i] = Double(view.base[i]) }
        let fit = try values.withUnsafeBufferPointer {
            try HDBSCAN.fit($0, rows: view.rows, cols: view.cols, minClusterSize: mcs, minSamples: k)
        }
        out.store(fit.labels)
        if let treeParent, let treeChild, let treeLambda, let treeSize {
            for (r, row) in fit.tree.enumerated() {
                treeParent[r] = Int64(row.parent); treeChild[r] = Int64(row.child)
                treeLambda[r] = row.lambda; treeSize[r] = Int64(row.size)
            }
        }
        stability?.store(fit.stability)
        treeRows?.pointee = Int64(fit.tree.count)
    }
}

@_cdecl("lamina_flare_aggregate")
public func lamina_flare_aggregate(_ layers: UnsafePointer<UnsafePointer<Float>?>?, _ channels: UnsafePointer<Int64>?,
                                   _ positions: UnsafePointer<Int64>?, _ nLayers: Int32, _ n: Int64,
                                   _ means: UnsafePointer<UnsafePointer<Double>?>?,
                                   _ variances: UnsafePointer<UnsafePointer<Double>?>?, _ eps: Double,
                                   _ out: UnsafeMutablePointer<Double>?, _ outLen: Int64) -> Int32 {
    boundary {
        let rows = try Check.count(n, "n")
        let count = try Check.count(Int64(nLayers), "n_layers")
        let list = try Check.pointer(layers, "layers"), cs = try Check.pointer(channels, "channels")
        let ps = try Check.pointer(positions, "positions")
        if (means == nil) != (variances == nil) {
            throw LaminaError.invalid("means and variances must be both NULL (statistics from the data) or both non-NULL")
        }
        if !(eps >= 0) || !eps.isFinite { throw LaminaError.invalid("eps is \(eps); expected a finite value >= 0") }
        var parsed: [FLARE.Layer] = []
        for l in 0..<count {
            let c = try Check.count(cs[l], "channels[\(l)]"), p = try Check.count(ps[l], "positions[\(l)]")
            let width = try Check.elements(c, p, "layers[\(l)]")
            let view = try Check.matrix(list[l], n, Int64(width), "layers[\(l)]", rowsName: "n",
                                        colsName: "channels[\(l)] * positions[\(l)]")
            var mean: [Double]? = nil, variance: [Double]? = nil
            let m = means?[l], v = variances?[l]
            if (m == nil) != (v == nil) {
                throw LaminaError.invalid("means[\(l)] and variances[\(l)] must be both NULL (statistics from the data) or both non-NULL")
            }
            if let m, let v {
                mean = Array(UnsafeBufferPointer(start: m, count: c))
                variance = Array(UnsafeBufferPointer(start: v, count: c))
                if let bad = mean!.firstIndex(where: { !$0.isFinite }) {
                    throw LaminaError(.nonFinite, "means[\(l)][\(bad)] is \(mean![bad]); expected finite values")
                }
                if let bad = variance!.firstIndex(where: { !($0 >= 0) || !$0.isFinite }) {
                    throw LaminaError.invalid("variances[\(l)][\(bad)] is \(variance![bad]); expected finite values >= 0")
                }
            }
            parsed.append(FLARE.Layer(base: view.base, channels: c, positions: p, mean: mean, variance: variance))
        }
        try Check.length(outLen, expected: rows * count, "out_len")
        let result = try Check.output(out, "out")
        result.store(try FLARE.aggregate(parsed, rows: rows, eps: eps))
    }
}

@_cdecl("lamina_flare_detect")
public func lamina_flare_detect(_ features: UnsafePointer<Double>?, _ n: Int64, _ nLayers: Int64, _ minClusterSize: Int64,
                                _ minSamples: Int64, _ xi: Double, _ depth: Int32, _ flags: UnsafeMutablePointer<Int32>?,
                                _ scores: UnsafeMutablePointer<Double>?, _ labels: UnsafeMutablePointer<Int32>?,
                                _ found: UnsafeMutablePointer<Int32>?, _ excludedLayers: UnsafeMutablePointer<Int32>?,
                                _ splitLambda: UnsafeMutablePointer<Double>?, _ cutDistance: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let rows = try Check.count(n, "n"), cols = try Check.count(nLayers, "n_layers")
        if minClusterSize < 2 || minClusterSize > Int64(Int32.max) {
            throw LaminaError.invalid("min_cluster_size is \(minClusterSize); expected 2 <= min_cluster_size <= \(Int32.max)")
        }
        let mcs = Int(minClusterSize)
        if minSamples < 0 { throw LaminaError.invalid("min_samples is \(minSamples); expected 0 (the released default) or >= 1") }
        // 0: the released code's HDBSCAN(min_cluster_size) of the `hdbscan` package, whose min_samples
        // (= min_cluster_size) excludes the point itself: min_cluster_size + 1 here, capped at n as it caps.
        let k = minSamples == 0 ? min(mcs + 1, rows) : Int(min(minSamples, Int64(Int32.max)))
        try FLARE.checkParameters(rows: rows, cols: cols, minClusterSize: mcs, minSamples: k, xi: xi, depth: Int(depth))
        let values = try doubleMatrix(features, rows, cols, "features")
        let flagsOut = try Check.output(flags, "flags")
        let result = try FLARE.detect(values, rows: rows, cols: cols, minClusterSize: mcs, minSamples: k, xi: xi,
                                      depth: Int(depth))
        flagsOut.store(result.flags)
        scores?.store(result.scores)
        labels?.store(result.labels)
        found?.pointee = result.found ? 1 : 0
        excludedLayers?.pointee = Int32(result.excluded)
        splitLambda?.pointee = result.lambda
        cutDistance?.pointee = result.cut
    }
}

@_cdecl("lamina_flare_detect_split")
public func lamina_flare_detect_split(_ features: UnsafePointer<Double>?, _ n: Int64, _ nLayers: Int64, _ nBoot: Int32,
                                      _ maxIter: Int32, _ seed: UInt64, _ resamples: UnsafePointer<Int64>?,
                                      _ flags: UnsafeMutablePointer<Int32>?, _ scores: UnsafeMutablePointer<Double>?,
                                      _ labels: UnsafeMutablePointer<Int32>?, _ found: UnsafeMutablePointer<Int32>?,
                                      _ excludedLayers: UnsafeMutablePointer<Int32>?,
                                      _ stability: UnsafeMutablePointer<Double>?,
                                      _ table: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        _ = try Check.pointer(features, "features")
        let flagsOut = try Check.output(flags, "flags")
        if n < 4 { throw LaminaError.invalid("n is \(n); expected >= 4 rows (samples)") }
        let rows = try Check.count(n, "n"), cols = try Check.count(nLayers, "n_layers")
        try FLARESplit.checkParameters(rows: rows, cols: cols, resamples: Int(nBoot), maxIterations: Int(maxIter))
        let values = try doubleMatrix(features, rows, cols, "features")
        let source: FLARESplit.Resamples
        if let resamples {
            let count = try Check.elements(Int(nBoot), rows, "resamples")
            let indices = UnsafeBufferPointer(start: resamples, count: count)
            if let bad = indices.firstIndex(where: { $0 < 0 || $0 >= n }) {
                throw LaminaError.invalid("resamples[\(bad / rows)][\(bad % rows)] is \(indices[bad]); expected a row index in [0, n) = [0, \(n))")
            }
            source = .given(indices)
        } else {
            source = .seeded(seed: seed, count: Int(nBoot))
        }
        let result = try FLARESplit.detect(values, rows: rows, cols: cols, resamples: source, maxIterations: Int(maxIter))
        flagsOut.store(result.flags)
        scores?.store(result.scores)
        labels?.store(result.labels)
        found?.pointee = result.found ? 1 : 0
        excludedLayers?.pointee = Int32(result.excluded)
        stability?.store(result.stability)
        table?.store(result.table)
    }
}

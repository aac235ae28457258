import LaminaCore

// Internal cluster-validity indices: validate, then call the core. Every function has a float32 form
// (`const float* x`) and a float64 twin with the `_f64` suffix (`const double* x`, computed in float64);
// both share one generic body.

private func metricArg(_ raw: Int32) throws -> DistanceMetric {
    try CEnums.distance.decode(raw, "metric")
}

/// Checks x, labels and the output pointer shared by every internal index.
private func dataAndLabels<E: LaminaFloat, T>(_ x: UnsafePointer<E>?, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                                              _ out: UnsafeMutablePointer<T>?) throws -> (MatrixViewOf<E>, EncodedLabels, UnsafeMutablePointer<T>) {
    let view = try Check.matrix(x, n, d)
    let encoded = try Check.labels(labels, view.rows)
    return (view, encoded, try Check.output(out, "out"))
}

private func silhouetteSamples<E: LaminaFloat>(_ x: UnsafePointer<E>?, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                                               _ metric: Int32, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let (view, encoded, result) = try dataAndLabels(x, n, d, labels, out)
        let samples = try InternalIndices.silhouetteSamples(view, labels: encoded, metric: try metricArg(metric))
        result.store(samples)
    }
}

private func silhouetteScore<E: LaminaFloat>(_ x: UnsafePointer<E>?, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                                             _ metric: Int32, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let (view, encoded, result) = try dataAndLabels(x, n, d, labels, out)
        result.pointee = try InternalIndices.silhouetteScore(view, labels: encoded, metric: try metricArg(metric))
    }
}

private func daviesBouldin<E: LaminaFloat>(_ x: UnsafePointer<E>?, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                                           _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let (view, encoded, result) = try dataAndLabels(x, n, d, labels, out)
        result.pointee = try InternalIndices.daviesBouldin(view, labels: encoded)
    }
}

private func calinskiHarabasz<E: LaminaFloat>(_ x: UnsafePointer<E>?, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                                              _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let (view, encoded, result) = try dataAndLabels(x, n, d, labels, out)
        result.pointee = try InternalIndices.calinskiHarabasz(view, labels: encoded)
    }
}

private func dunnIndex<E: LaminaFloat>(_ x: UnsafePointer<E>?, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                                       _ linkage: Int32, _ diameter: Int32, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let (view, encoded, result) = try dataAndLabels(x, n, d, labels, out)
        let link = try CEnums.linkage.decode(linkage, "linkage")
        let diam = try CEnums.diameter.decode(diameter, "diameter")
        result.pointee = try DunnIndex.compute(view, labels: encoded, linkage: link, diameter: diam)
    }
}

private func xieBeniIndex<E: LaminaFloat>(_ x: UnsafePointer<E>?, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                                          _ separation: Int32, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let (view, encoded, result) = try dataAndLabels(x, n, d, labels, out)
        let sep = try CEnums.xieBeniSeparation.decode(separation, "separation")
        result.pointee = try XieBeniIndex.compute(view, labels: encoded, separation: sep)
    }
}

private func generalizedDiscrimination<E: LaminaFloat>(_ x: UnsafePointer<E>?, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                                                       _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let (view, encoded, result) = try dataAndLabels(x, n, d, labels, out)
        result.pointee = try GeneralizedDiscriminationValue.compute(view, labels: encoded)
    }
}

private func silhouettePrecomputed<E: LaminaFloat>(_ dist: UnsafePointer<E>?, _ n: Int64, _ m: Int64, _ labels: UnsafePointer<Int32>?,
                                                   _ out: UnsafeMutablePointer<Double>?, mean: Bool) -> Int32 {
    boundary {
        let view = try Check.matrix(dist, n, m, "dist", rowsName: "n", colsName: "m")
        let encoded = try Check.labels(labels, view.rows)
        let result = try Check.output(out, "out")
        let samples = try InternalIndices.silhouetteSamplesPrecomputed(view, labels: encoded)
        if mean { result.pointee = samples.reduce(0, +) / Double(samples.count) } else { result.store(samples) }
    }
}

@_cdecl("lamina_silhouette_samples_precomputed")
public func lamina_silhouette_samples_precomputed(_ dist: UnsafePointer<Float>?, _ n: Int64, _ m: Int64,
                                                  _ labels: UnsafePointer<Int32>?, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    silhouettePrecomputed(dist, n, m, labels, out, mean: false)
}

@_cdecl("lamina_silhouette_score_precomputed")
public func lamina_silhouette_score_precomputed(_ dist: UnsafePointer<Float>?, _ n: Int64, _ m: Int64,
                                                _ labels: UnsafePointer<Int32>?, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    silhouettePrecomputed(dist, n, m, labels, out, mean: true)
}

@_cdecl("lamina_silhouette_samples_precomputed_f64")
public func lamina_silhouette_samples_precomputed_f64(_ dist: UnsafePointer<Double>?, _ n: Int64, _ m: Int64,
                                                      _ labels: UnsafePointer<Int32>?, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    silhouettePrecomputed(dist, n, m, labels, out, mean: false)
}

@_cdecl("lamina_silhouette_score_precomputed_f64")
public func lamina_silhouette_score_precomputed_f64(_ dist: UnsafePointer<Double>?, _ n: Int64, _ m: Int64,
                                                    _ labels: UnsafePointer<Int32>?, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    silhouettePrecomputed(dist, n, m, labels, out, mean: true)
}

@_cdecl("lamina_silhouette_samples")
public func lamina_silhouette_samples(_ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                                      _ metric: Int32, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    silhouetteSamples(x, n, d, labels, metric, out)
}

@_cdecl("lamina_silhouette_score")
public func lamina_silhouette_score(_ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                                    _ metric: Int32, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    silhouetteScore(x, n, d, labels, metric, out)
}

@_cdecl("lamina_davies_bouldin_score")
public func lamina_davies_bouldin_score(_ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                                        _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    daviesBouldin(x, n, d, labels, out)
}

@_cdecl("lamina_calinski_harabasz_score")
public func lamina_calinski_harabasz_score(_ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                                           _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    calinskiHarabasz(x, n, d, labels, out)
}

@_cdecl("lamina_dunn_index")
public func lamina_dunn_index(_ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                              _ linkage: Int32, _ diameter: Int32, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    dunnIndex(x, n, d, labels, linkage, diameter, out)
}

@_cdecl("lamina_xie_beni_index")
public func lamina_xie_beni_index(_ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                                  _ separation: Int32, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    xieBeniIndex(x, n, d, labels, separation, out)
}

@_cdecl("lamina_gdv")
public func lamina_gdv(_ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                       _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    generalizedDiscrimination(x, n, d, labels, out)
}

// MARK: float64 twins

@_cdecl("lamina_silhouette_samples_f64")
public func lamina_silhouette_samples_f64(_ x: UnsafePointer<Double>?, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                                          _ metric: Int32, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    silhouetteSamples(x, n, d, labels, metric, out)
}

@_cdecl("lamina_silhouette_score_f64")
public func lamina_silhouette_score_f64(_ x: UnsafePointer<Double>?, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                                        _ metric: Int32, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    silhouetteScore(x, n, d, labels, metric, out)
}

@_cdecl("lamina_davies_bouldin_score_f64")
public func lamina_davies_bouldin_score_f64(_ x: UnsafePointer<Double>?, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                                            _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    daviesBouldin(x, n, d, labels, out)
}

@_cdecl("lamina_calinski_harabasz_score_f64")
public func lamina_calinski_harabasz_score_f64(_ x: UnsafePointer<Double>?, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                                               _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    calinskiHarabasz(x, n, d, labels, out)
}

@_cdecl("lamina_dunn_index_f64")
public func lamina_dunn_index_f64(_ x: UnsafePointer<Double>?, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                                  _ linkage: Int32, _ diameter: Int32, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    dunnIndex(x, n, d, labels, linkage, diameter, out)
}

@_cdecl("lamina_xie_beni_index_f64")
public func lamina_xie_beni_index_f64(_ x: UnsafePointer<Double>?, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                                      _ separation: Int32, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    xieBeniIndex(x, n, d, labels, separation, out)
}

@_cdecl("lamina_gdv_f64")
public func lamina_gdv_f64(_ x: UnsafePointer<Double>?, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                           _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    generalizedDiscrimination(x, n, d, labels, out)
}

// Minkowski silhouette [experimental]: metric "minkowski" with its exponent p (> 0).

private func silhouetteMinkowski<E: LaminaFloat>(_ x: UnsafePointer<E>?, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                                                 _ p: Double, _ out: UnsafeMutablePointer<Double>?, samples: Bool) -> Int32 {
    boundary {
        let (view, encoded, result) = try dataAndLabels(x, n, d, labels, out)
        if !(p > 0) || p.isNaN {
            throw LaminaError.invalid("p is \(p); expected p > 0 (the Minkowski exponent; p = 1 manhattan, 2 euclidean, inf chebyshev)")
        }
        if samples {
            result.store(try InternalIndices.silhouetteSamples(view, labels: encoded, metric: .manhattan, minkowskiP: p))
        } else {
            result.pointee = try InternalIndices.silhouetteScore(view, labels: encoded, metric: .manhattan, minkowskiP: p)
        }
    }
}

@_cdecl("lamina_silhouette_samples_minkowski")
public func lamina_silhouette_samples_minkowski(_ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                                                _ p: Double, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    silhouetteMinkowski(x, n, d, labels, p, out, samples: true)
}

@_cdecl("lamina_silhouette_score_minkowski")
public func lamina_silhouette_score_minkowski(_ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                                              _ p: Double, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    silhouetteMinkowski(x, n, d, labels, p, out, samples: false)
}

@_cdecl("lamina_silhouette_samples_minkowski_f64")
public func lamina_silhouette_samples_minkowski_f64(_ x: UnsafePointer<Double>?, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                                                    _ p: Double, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    silhouetteMinkowski(x, n, d, labels, p, out, samples: true)
}

@_cdecl("lamina_silhouette_score_minkowski_f64")
public func lamina_silhouette_score_minkowski_f64(_ x: UnsafePointer<Double>?, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                                                  _ p: Double, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    silhouetteMinkowski(x, n, d, labels, p, out, samples: false)
}

import LaminaCore

// Internal cluster-validity indices: validate, then call the core.

private func metricArg(_ raw: Int32) throws -> DistanceMetric {
    try CEnums.distance.decode(raw, "metric")
}

/// Checks x, labels and the output pointer shared by every internal index.
private func dataAndLabels<T>(_ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                              _ out: UnsafeMutablePointer<T>?) throws -> (MatrixView, EncodedLabels, UnsafeMutablePointer<T>) {
    let view = try Check.matrix(x, n, d)
    let encoded = try Check.labels(labels, view.rows)
    return (view, encoded, try Check.output(out, "out"))
}

@_cdecl("lamina_silhouette_samples")
public func lamina_silhouette_samples(_ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                                      _ metric: Int32, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let (view, encoded, result) = try dataAndLabels(x, n, d, labels, out)
        let samples = try InternalIndices.silhouetteSamples(view, labels: encoded, metric: try metricArg(metric))
        result.store(samples)
    }
}

@_cdecl("lamina_silhouette_score")
public func lamina_silhouette_score(_ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                                    _ metric: Int32, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let (view, encoded, result) = try dataAndLabels(x, n, d, labels, out)
        result.pointee = try InternalIndices.silhouetteScore(view, labels: encoded, metric: try metricArg(metric))
    }
}

@_cdecl("lamina_davies_bouldin_score")
public func lamina_davies_bouldin_score(_ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                                        _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let (view, encoded, result) = try dataAndLabels(x, n, d, labels, out)
        result.pointee = try InternalIndices.daviesBouldin(view, labels: encoded)
    }
}

@_cdecl("lamina_calinski_harabasz_score")
public func lamina_calinski_harabasz_score(_ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                                           _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let (view, encoded, result) = try dataAndLabels(x, n, d, labels, out)
        result.pointee = try InternalIndices.calinskiHarabasz(view, labels: encoded)
    }
}

@_cdecl("lamina_dunn_index")
public func lamina_dunn_index(_ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                              _ linkage: Int32, _ diameter: Int32, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let (view, encoded, result) = try dataAndLabels(x, n, d, labels, out)
        let link = try CEnums.linkage.decode(linkage, "linkage")
        let diam = try CEnums.diameter.decode(diameter, "diameter")
        result.pointee = try DunnIndex.compute(view, labels: encoded, linkage: link, diameter: diam)
    }
}

@_cdecl("lamina_xie_beni_index")
public func lamina_xie_beni_index(_ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                                  _ separation: Int32, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let (view, encoded, result) = try dataAndLabels(x, n, d, labels, out)
        let sep = try CEnums.xieBeniSeparation.decode(separation, "separation")
        result.pointee = try XieBeniIndex.compute(view, labels: encoded, separation: sep)
    }
}

@_cdecl("lamina_gdv")
public func lamina_gdv(_ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                       _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let (view, encoded, result) = try dataAndLabels(x, n, d, labels, out)
        result.pointee = try GeneralizedDiscriminationValue.compute(view, labels: encoded)
    }
}

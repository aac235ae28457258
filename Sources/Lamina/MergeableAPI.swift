import CLaminaABI
import LaminaCore

// C boundary of the mergeable cluster indices (include/lamina.h section 16).

private func clusterCount(_ k: Int64) throws -> Int { try Check.count(k, "n_clusters") }

private func globalLabels(_ labels: UnsafePointer<Int32>?, _ n: Int, _ k: Int) throws -> UnsafePointer<Int32> {
    let p = try Check.pointer(labels, "labels")
    for r in 0..<n where p[r] < 0 || Int(p[r]) >= k {
        throw LaminaError.invalid("labels[\(r)] is \(p[r]); expected a global cluster id in [0, n_clusters = \(k))")
    }
    return p
}

@_cdecl("lamina_class_sums_partial")
public func lamina_class_sums_partial(_ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                                      _ nClusters: Int64, _ counts: UnsafeMutablePointer<Int64>?,
                                      _ sums: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let view = try Check.matrix(x, n, d)
        let k = try clusterCount(nClusters)
        _ = try Check.elements(k, view.cols, "sums")
        let lab = try globalLabels(labels, view.rows, k)
        MergeableIndices.classSums(view, labels: lab, k: k, counts: try Check.output(counts, "counts"),
                                   sums: try Check.output(sums, "sums"))
    }
}

@_cdecl("lamina_class_centroids")
public func lamina_class_centroids(_ nClusters: Int64, _ d: Int64, _ counts: UnsafePointer<Int64>?, _ sums: UnsafePointer<Double>?,
                                   _ centroids: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let k = try clusterCount(nClusters), dim = try Check.count(d, "d")
        _ = try Check.elements(k, dim, "centroids")
        let c = try Check.pointer(counts, "counts")
        for i in 0..<k where c[i] < 0 { throw LaminaError.invalid("counts[\(i)] is \(c[i]); expected >= 0") }
        MergeableIndices.centroids(k: k, d: dim, counts: c, sums: try Check.pointer(sums, "sums"),
                                   into: try Check.output(centroids, "centroids"))
    }
}

@_cdecl("lamina_class_spread_partial")
public func lamina_class_spread_partial(_ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                                        _ nClusters: Int64, _ centroids: UnsafePointer<Double>?,
                                        _ sq: UnsafeMutablePointer<Double>?, _ dist: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let view = try Check.matrix(x, n, d)
        let k = try clusterCount(nClusters)
        _ = try Check.elements(k, view.cols, "centroids")
        let lab = try globalLabels(labels, view.rows, k)
        MergeableIndices.classSpread(view, labels: lab, k: k, centroids: try Check.pointer(centroids, "centroids"),
                                     sq: try Check.output(sq, "sq"), dist: try Check.output(dist, "dist"))
    }
}

private func finalizeArgs(_ nClusters: Int64, _ d: Int64, _ counts: UnsafePointer<Int64>?) throws -> (Int, Int, UnsafePointer<Int64>) {
    let k = try clusterCount(nClusters), dim = try Check.count(d, "d")
    _ = try Check.elements(k, dim, "sums")
    let c = try Check.pointer(counts, "counts")
    for i in 0..<k where c[i] < 0 { throw LaminaError.invalid("counts[\(i)] is \(c[i]); expected >= 0") }
    return (k, dim, c)
}

@_cdecl("lamina_calinski_harabasz_finalize")
public func lamina_calinski_harabasz_finalize(_ nClusters: Int64, _ d: Int64, _ counts: UnsafePointer<Int64>?,
                                              _ sums: UnsafePointer<Double>?, _ sq: UnsafePointer<Double>?,
                                              _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let (k, dim, c) = try finalizeArgs(nClusters, d, counts)
        let o = try Check.output(out, "out")
        o.pointee = try MergeableIndices.calinskiHarabasz(k: k, d: dim, counts: c, sums: try Check.pointer(sums, "sums"),
                                                          sq: try Check.pointer(sq, "sq"))
    }
}

@_cdecl("lamina_davies_bouldin_finalize")
public func lamina_davies_bouldin_finalize(_ nClusters: Int64, _ d: Int64, _ counts: UnsafePointer<Int64>?,
                                           _ sums: UnsafePointer<Double>?, _ dist: UnsafePointer<Double>?,
                                           _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let (k, dim, c) = try finalizeArgs(nClusters, d, counts)
        let o = try Check.output(out, "out")
        o.pointee = try MergeableIndices.daviesBouldin(k: k, d: dim, counts: c, sums: try Check.pointer(sums, "sums"),
                                                       dist: try Check.pointer(dist, "dist"))
    }
}

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

// Mergeable contingency tables (ARI / NMI / AMI): cells keyed by label values.

/// nnz cells as three buffers (NULL allowed with nnz = 0).
private func cellBuffers(_ t: UnsafePointer<Int32>?, _ p: UnsafePointer<Int32>?, _ c: UnsafePointer<Int64>?, _ nnz: Int64)
    throws -> (UnsafeBufferPointer<Int32>, UnsafeBufferPointer<Int32>, UnsafeBufferPointer<Int64>) {
    let count = try Check.count(nnz, "nnz", minimum: 0)
    if count == 0 { return (UnsafeBufferPointer(start: nil, count: 0), UnsafeBufferPointer(start: nil, count: 0),
                            UnsafeBufferPointer(start: nil, count: 0)) }
    return (UnsafeBufferPointer(start: try Check.pointer(t, "cell_true"), count: count),
            UnsafeBufferPointer(start: try Check.pointer(p, "cell_pred"), count: count),
            UnsafeBufferPointer(start: try Check.pointer(c, "cell_count"), count: count))
}

/// Writes `cells` into the caller's three arrays of `capacity` entries; *nnz receives the cell count first,
/// so a short capacity still reports how many are needed.
private func writeCells(_ cells: MergeableContingency.Cells, _ t: UnsafeMutablePointer<Int32>?, _ p: UnsafeMutablePointer<Int32>?,
                        _ c: UnsafeMutablePointer<Int64>?, _ capacity: Int64, _ nnz: UnsafeMutablePointer<Int64>, _ prefix: String,
                        _ nnzName: String) throws {
    nnz.pointee = Int64(cells.count)
    if capacity < Int64(cells.count) {
        throw LaminaError.shape("capacity is \(capacity); expected >= \(cells.count) (the number of cells, now in *\(nnzName))")
    }
    if cells.count == 0 { return }
    let ot = try Check.output(t, "\(prefix)true"), op = try Check.output(p, "\(prefix)pred"), oc = try Check.output(c, "\(prefix)count")
    for i in 0..<cells.count { ot[i] = cells.labelTrue[i]; op[i] = cells.labelPred[i]; oc[i] = cells.counts[i] }
}

@_cdecl("lamina_contingency_partial")
public func lamina_contingency_partial(_ labelsTrue: UnsafePointer<Int32>?, _ labelsPred: UnsafePointer<Int32>?, _ n: Int64,
                                       _ cellTrue: UnsafeMutablePointer<Int32>?, _ cellPred: UnsafeMutablePointer<Int32>?,
                                       _ cellCount: UnsafeMutablePointer<Int64>?, _ capacity: Int64,
                                       _ nnz: UnsafeMutablePointer<Int64>?) -> Int32 {
    boundary {
        let a = try Check.labelsAllowingEmpty(labelsTrue, n, "labels_true")
        let b = try Check.labelsAllowingEmpty(labelsPred, n, "labels_pred")
        _ = try Check.count(capacity, "capacity", minimum: 0)
        let out = try Check.output(nnz, "nnz")
        try writeCells(try MergeableContingency.partial(true: a, pred: b), cellTrue, cellPred, cellCount, capacity, out, "cell_", "nnz")
    }
}

@_cdecl("lamina_contingency_merge")
public func lamina_contingency_merge(_ cellTrue: UnsafePointer<Int32>?, _ cellPred: UnsafePointer<Int32>?,
                                     _ cellCount: UnsafePointer<Int64>?, _ nnz: Int64,
                                     _ outTrue: UnsafeMutablePointer<Int32>?, _ outPred: UnsafeMutablePointer<Int32>?,
                                     _ outCount: UnsafeMutablePointer<Int64>?, _ capacity: Int64,
                                     _ outNnz: UnsafeMutablePointer<Int64>?) -> Int32 {
    boundary {
        let (t, p, c) = try cellBuffers(cellTrue, cellPred, cellCount, nnz)
        _ = try Check.count(capacity, "capacity", minimum: 0)
        let out = try Check.output(outNnz, "out_nnz")
        // merge() copies the cells before anything is written, so the outputs may be the inputs.
        try writeCells(try MergeableContingency.merge(true: t, pred: p, counts: c), outTrue, outPred, outCount, capacity, out, "out_", "out_nnz")
    }
}

/// One contingency finalize: the average method (when the index has one) and the cells checked, then the
/// merged table and `compute`'s value.
private func contingencyFinalize(_ t: UnsafePointer<Int32>?, _ p: UnsafePointer<Int32>?, _ c: UnsafePointer<Int64>?, _ nnz: Int64,
                                 average: Int32? = nil, _ out: UnsafeMutablePointer<Double>?,
                                 _ compute: (Contingency, ExternalIndices.AverageMethod) -> Double) -> Int32 {
    boundary {
        let method = try average.map { try CEnums.average.decode($0, "average") } ?? .arithmetic
        let (bt, bp, bc) = try cellBuffers(t, p, c, nnz)
        let result = try Check.output(out, "out")
        result.pointee = compute(try MergeableContingency.table(true: bt, pred: bp, counts: bc), method)
    }
}

@_cdecl("lamina_adjusted_rand_finalize")
public func lamina_adjusted_rand_finalize(_ t: UnsafePointer<Int32>?, _ p: UnsafePointer<Int32>?, _ c: UnsafePointer<Int64>?,
                                          _ nnz: Int64, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    contingencyFinalize(t, p, c, nnz, out) { table, _ in ExternalIndices.adjustedRand(table) }
}

@_cdecl("lamina_normalized_mutual_info_finalize")
public func lamina_normalized_mutual_info_finalize(_ t: UnsafePointer<Int32>?, _ p: UnsafePointer<Int32>?, _ c: UnsafePointer<Int64>?,
                                                   _ nnz: Int64, _ average: Int32, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    contingencyFinalize(t, p, c, nnz, average: average, out) { ExternalIndices.normalizedMutualInformation($0, average: $1) }
}

@_cdecl("lamina_adjusted_mutual_info_finalize")
public func lamina_adjusted_mutual_info_finalize(_ t: UnsafePointer<Int32>?, _ p: UnsafePointer<Int32>?, _ c: UnsafePointer<Int64>?,
                                                 _ nnz: Int64, _ average: Int32, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    contingencyFinalize(t, p, c, nnz, average: average, out) { ExternalIndices.adjustedMutualInformation($0, average: $1) }
}

// Mergeable linear / debiased CKA: one float64 array of sums per shard.

private func ckaLayout(_ d1: Int64, _ d2: Int64, _ debiased: Int32, _ len: Int64) throws -> CKAPartial.Layout {
    let a = try Check.count(d1, "d1"), b = try Check.count(d2, "d2")
    if debiased != 0 && debiased != 1 { throw LaminaError.invalid("debiased is \(debiased); expected 0 or 1") }
    guard let expected = CKAPartial.Layout.checkedLength(d1: a, d2: b, debiased: debiased == 1) else {
        throw LaminaError(.outOfMemory, "the CKA partial for d1 = \(a), d2 = \(b) overflows; expected smaller dimensions")
    }
    try Check.length(len, expected: expected, "partial_len")
    return CKAPartial.Layout(d1: a, d2: b, debiased: debiased == 1)
}

private func finiteShift(_ s: UnsafePointer<Double>?, _ d: Int, _ name: String) throws -> UnsafePointer<Double>? {
    guard let s else { return nil }
    for j in 0..<d where !s[j].isFinite { throw LaminaError(.nonFinite, "\(name)[\(j)] is \(s[j]); expected finite values") }
    return s
}

@_cdecl("lamina_linear_cka_partial")
public func lamina_linear_cka_partial(_ x: UnsafePointer<Float>?, _ n: Int64, _ d1: Int64, _ y: UnsafePointer<Float>?, _ d2: Int64,
                                      _ shiftX: UnsafePointer<Double>?, _ shiftY: UnsafePointer<Double>?, _ debiased: Int32,
                                      _ partial: UnsafeMutablePointer<Double>?, _ partialLen: Int64) -> Int32 {
    boundary {
        // The widths are checked against partial_len before x and y are read.
        let lay = try ckaLayout(d1, d2, debiased, partialLen)
        let vx = try Check.matrix(x, n, d1, "x", rowsName: "n", colsName: "d1")
        let vy = try Check.matrix(y, n, d2, "y", rowsName: "n", colsName: "d2")
        let sx = try finiteShift(shiftX, vx.cols, "shift_x"), sy = try finiteShift(shiftY, vy.cols, "shift_y")
        CKAPartial.accumulate(vx, vy, shiftX: sx, shiftY: sy, debiased: lay.debiased, into: try Check.output(partial, "partial"))
    }
}

@_cdecl("lamina_linear_cka_finalize")
public func lamina_linear_cka_finalize(_ d1: Int64, _ d2: Int64, _ debiased: Int32, _ partial: UnsafePointer<Double>?,
                                       _ partialLen: Int64, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let lay = try ckaLayout(d1, d2, debiased, partialLen)
        let p = try Check.pointer(partial, "partial")
        let result = try Check.output(out, "out")
        result.pointee = try CKAPartial.finalize(p, d1: lay.d1, d2: lay.d2, debiased: lay.debiased)
    }
}

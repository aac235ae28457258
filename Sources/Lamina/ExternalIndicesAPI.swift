import LaminaCore

// External indices: both labelings checked (n >= 0; NULL only with n = 0), then the core.

private func contingency(_ labelsTrue: UnsafePointer<Int32>?, _ labelsPred: UnsafePointer<Int32>?, _ n: Int64) throws -> Contingency {
    let a = try Check.labelsAllowingEmpty(labelsTrue, n, "labels_true")
    let b = try Check.labelsAllowingEmpty(labelsPred, n, "labels_pred")
    return try Contingency(true: a, pred: b)
}

private func averageArg(_ raw: Int32) throws -> ExternalIndices.AverageMethod {
    try CEnums.average.decode(raw, "average")
}

/// One scalar external index: validates the labelings and the output, then stores `compute`'s value.
private func scalarIndex(_ labelsTrue: UnsafePointer<Int32>?, _ labelsPred: UnsafePointer<Int32>?, _ n: Int64,
                         _ out: UnsafeMutablePointer<Double>?, _ compute: (Contingency) throws -> Double) -> Int32 {
    boundary {
        let table = try contingency(labelsTrue, labelsPred, n)
        let result = try Check.output(out, "out")
        result.pointee = try compute(table)
    }
}

@_cdecl("lamina_contingency_shape")
public func lamina_contingency_shape(_ labelsTrue: UnsafePointer<Int32>?, _ labelsPred: UnsafePointer<Int32>?, _ n: Int64,
                                     _ classes: UnsafeMutablePointer<Int64>?, _ clusters: UnsafeMutablePointer<Int64>?) -> Int32 {
    boundary {
        let table = try contingency(labelsTrue, labelsPred, n)
        let rows = try Check.output(classes, "n_classes"), cols = try Check.output(clusters, "n_clusters")
        rows.pointee = Int64(table.rowCount)
        cols.pointee = Int64(table.colCount)
    }
}

@_cdecl("lamina_contingency_matrix")
public func lamina_contingency_matrix(_ labelsTrue: UnsafePointer<Int32>?, _ labelsPred: UnsafePointer<Int32>?, _ n: Int64,
                                      _ out: UnsafeMutablePointer<Int64>?, _ outLen: Int64) -> Int32 {
    boundary {
        let table = try contingency(labelsTrue, labelsPred, n)
        let cells = table.rowCount * table.colCount
        try Check.length(outLen, expected: cells, "out_len (n_classes * n_clusters = \(table.rowCount) * \(table.colCount))")
        if cells > 0 { table.fillDense(try Check.output(out, "out")) }
    }
}

@_cdecl("lamina_rand_score")
public func lamina_rand_score(_ t: UnsafePointer<Int32>?, _ p: UnsafePointer<Int32>?, _ n: Int64, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    scalarIndex(t, p, n, out) { ExternalIndices.rand($0) }
}

@_cdecl("lamina_adjusted_rand_score")
public func lamina_adjusted_rand_score(_ t: UnsafePointer<Int32>?, _ p: UnsafePointer<Int32>?, _ n: Int64, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    scalarIndex(t, p, n, out) { ExternalIndices.adjustedRand($0) }
}

@_cdecl("lamina_mutual_info_score")
public func lamina_mutual_info_score(_ t: UnsafePointer<Int32>?, _ p: UnsafePointer<Int32>?, _ n: Int64, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    scalarIndex(t, p, n, out) { $0.sampleCount == 0 ? 0 : ExternalIndices.mutualInformation($0) }
}

@_cdecl("lamina_normalized_mutual_info_score")
public func lamina_normalized_mutual_info_score(_ t: UnsafePointer<Int32>?, _ p: UnsafePointer<Int32>?, _ n: Int64,
                                                _ average: Int32, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    scalarIndex(t, p, n, out) { ExternalIndices.normalizedMutualInformation($0, average: try averageArg(average)) }
}

@_cdecl("lamina_adjusted_mutual_info_score")
public func lamina_adjusted_mutual_info_score(_ t: UnsafePointer<Int32>?, _ p: UnsafePointer<Int32>?, _ n: Int64,
                                              _ average: Int32, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    scalarIndex(t, p, n, out) { ExternalIndices.adjustedMutualInformation($0, average: try averageArg(average)) }
}

@_cdecl("lamina_fowlkes_mallows_score")
public func lamina_fowlkes_mallows_score(_ t: UnsafePointer<Int32>?, _ p: UnsafePointer<Int32>?, _ n: Int64, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    scalarIndex(t, p, n, out) { ExternalIndices.fowlkesMallows($0) }
}

@_cdecl("lamina_homogeneity_completeness_v_measure")
public func lamina_homogeneity_completeness_v_measure(_ t: UnsafePointer<Int32>?, _ p: UnsafePointer<Int32>?, _ n: Int64,
                                                      _ beta: Double, _ homogeneity: UnsafeMutablePointer<Double>?,
                                                      _ completeness: UnsafeMutablePointer<Double>?,
                                                      _ vMeasure: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        if !(beta >= 0) || !beta.isFinite { throw LaminaError.invalid("beta is \(beta); expected a finite value >= 0") }
        let table = try contingency(t, p, n)
        let (h, c, v) = ExternalIndices.homogeneityCompletenessV(table, beta: beta)
        homogeneity?.pointee = h
        completeness?.pointee = c
        vMeasure?.pointee = v
    }
}

@_cdecl("lamina_mutual_info_score_contingency")
public func lamina_mutual_info_score_contingency(_ rows: UnsafePointer<Int64>?, _ cols: UnsafePointer<Int64>?,
                                                 _ counts: UnsafePointer<Int64>?, _ nnz: Int64, _ nRows: Int64,
                                                 _ nCols: Int64, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let cells = try Check.count(nnz, "nnz", minimum: 0)
        let r = try Check.count(nRows, "n_rows"), c = try Check.count(nCols, "n_cols")
        let result = try Check.output(out, "out")
        func view(_ p: UnsafePointer<Int64>?, _ name: String) throws -> UnsafeBufferPointer<Int64> {
            cells == 0 ? UnsafeBufferPointer(start: nil, count: 0) : UnsafeBufferPointer(start: try Check.pointer(p, name), count: cells)
        }
        let table = try Contingency(rows: r, cols: c, cellRows: try view(rows, "rows"), cellCols: try view(cols, "cols"),
                                    counts: try view(counts, "counts"))
        result.pointee = ExternalIndices.mutualInformation(table)
    }
}

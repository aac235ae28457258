import LaminaCore
import CLaminaABI

/// C boundary of the per-latent statistics pass (LaminaCore/SAE/LatentStatistics.swift).

private func statisticsBuffers(_ h: SAEHandle, _ topN: Int32, _ nRows: UnsafeMutablePointer<Int64>?,
                               _ count: UnsafeMutablePointer<Int64>?, _ sum: UnsafeMutablePointer<Double>?,
                               _ max: UnsafeMutablePointer<Float>?, _ minNonzero: UnsafeMutablePointer<Float>?,
                               _ histogram: UnsafeMutablePointer<Int64>?, _ topRows: UnsafeMutablePointer<Int64>?,
                               _ topValues: UnsafeMutablePointer<Float>?) throws -> LatentStatistics.Buffers {
    if topN < 0 || topN > 1 << 16 { throw LaminaError.invalid("top_n is \(topN); expected 0 <= top_n <= 65536") }
    _ = try Check.elements(h.model.nLatents, LatentStatistics.bins, "histogram")
    _ = try Check.elements(h.model.nLatents, Int(topN), "top_rows")
    let t = try Check.output(topRows, "top_rows"), v = try Check.output(topValues, "top_values")
    return LatentStatistics.Buffers(nRows: try Check.output(nRows, "n_rows"), count: try Check.output(count, "count"),
                                    sum: try Check.output(sum, "sum"), max: try Check.output(max, "max"),
                                    minNonzero: try Check.output(minNonzero, "min_nonzero"),
                                    histogram: try Check.output(histogram, "histogram"),
                                    topRows: t, topValues: v, topN: Int(topN))
}

private func statisticsFlags(_ rowOffset: Int64, _ rows: Int, _ accumulate: Int32) throws -> Bool {
    if rowOffset < 0 || rowOffset > Int64.max - Int64(rows) {
        throw LaminaError.invalid("row_offset is \(rowOffset); expected 0 <= row_offset and row_offset + n <= 2^63 - 1")
    }
    if accumulate != 0 && accumulate != 1 { throw LaminaError.invalid("accumulate is \(accumulate); expected 0 or 1") }
    return accumulate == 1
}

@_cdecl("lamina_sae_latent_statistics")
public func lamina_sae_latent_statistics(_ sae: OpaquePointer?, _ x: UnsafeRawPointer?, _ dtype: Int32, _ n: Int64, _ d: Int64,
                                         _ rowOffset: Int64, _ topN: Int32, _ accumulate: Int32,
                                         _ nRows: UnsafeMutablePointer<Int64>?, _ count: UnsafeMutablePointer<Int64>?,
                                         _ sum: UnsafeMutablePointer<Double>?, _ max: UnsafeMutablePointer<Float>?,
                                         _ minNonzero: UnsafeMutablePointer<Float>?, _ histogram: UnsafeMutablePointer<Int64>?,
                                         _ topRows: UnsafeMutablePointer<Int64>?, _ topValues: UnsafeMutablePointer<Float>?,
                                         _ progress: lamina_progress_fn?, _ user: UnsafeMutableRawPointer?) -> Int32 {
    boundary {
        let h = try saeHandles.get(sae, "sae")
        let type = try saeInputDType(dtype)
        let rows = try Check.count(n, "n"), cols = try Check.count(d, "d")
        _ = try Check.elements(rows, cols, "x")
        guard let x else { throw LaminaError.invalid("x is NULL; expected a pointer to the data") }
        if cols != h.model.dIn { throw LaminaError.shape("x has d = \(cols) features; this SAE has d_in = \(h.model.dIn)") }
        let merge = try statisticsFlags(rowOffset, rows, accumulate)
        let buffers = try statisticsBuffers(h, topN, nRows, count, sum, max, minNonzero, histogram, topRows, topValues)
        let source = MemoryRows(base: x, rows: rows, cols: cols, dtype: type)
        if let bad = source.firstNonFinite() {
            throw LaminaError(.nonFinite, "x contains a non-finite value at row \(bad.row), column \(bad.col); expected finite values")
        }
        try h.model.accumulateLatentStatistics(source, rowOffset: Int(rowOffset), merge: merge, into: buffers,
                                               progress: progressHandler(progress, user))
    }
}

@_cdecl("lamina_sae_latent_statistics_h5")
public func lamina_sae_latent_statistics_h5(_ sae: OpaquePointer?, _ path: UnsafePointer<CChar>?, _ dataset: UnsafePointer<CChar>?,
                                            _ rowOffset: Int64, _ topN: Int32, _ accumulate: Int32,
                                            _ nRows: UnsafeMutablePointer<Int64>?, _ count: UnsafeMutablePointer<Int64>?,
                                            _ sum: UnsafeMutablePointer<Double>?, _ max: UnsafeMutablePointer<Float>?,
                                            _ minNonzero: UnsafeMutablePointer<Float>?, _ histogram: UnsafeMutablePointer<Int64>?,
                                            _ topRows: UnsafeMutablePointer<Int64>?, _ topValues: UnsafeMutablePointer<Float>?,
                                            _ progress: lamina_progress_fn?, _ user: UnsafeMutableRawPointer?) -> Int32 {
    boundary {
        let h = try saeHandles.get(sae, "sae")
        let file = try Check.cString(path, "path"), name = try Check.cString(dataset, "dataset")
        if rowOffset < 0 { throw LaminaError.invalid("row_offset is \(rowOffset); expected 0 <= row_offset") }
        if accumulate != 0 && accumulate != 1 { throw LaminaError.invalid("accumulate is \(accumulate); expected 0 or 1") }
        let buffers = try statisticsBuffers(h, topN, nRows, count, sum, max, minNonzero, histogram, topRows, topValues)
        let source = try HDF5Rows(path: file, dataset: name)
        if source.cols != h.model.dIn {
            throw LaminaError.shape("dataset '\(name)' has \(source.cols) features; this SAE has d_in = \(h.model.dIn)")
        }
        let merge = try statisticsFlags(rowOffset, source.rows, accumulate)
        try h.model.accumulateLatentStatistics(source, rowOffset: Int(rowOffset), merge: merge, into: buffers,
                                               progress: progressHandler(progress, user))
    }
}

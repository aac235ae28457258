import CLaminaABI
import LaminaCore

// Activation store (lamina.h, section "Activation store"): a writer handle over ActivationStoreWriter.

private let storeHandles = HandleTable<ActivationStoreWriter>("lamina_store")

private func storeDType(_ code: Int32) throws -> StoreDType {
    switch code {
    case LAMINA_DTYPE_FLOAT16: return .float16
    case LAMINA_DTYPE_BFLOAT16: return .bfloat16
    case LAMINA_DTYPE_FLOAT32: return .float32
    default:
        throw LaminaError.invalid("dtype is \(code); expected LAMINA_DTYPE_FLOAT16 (\(LAMINA_DTYPE_FLOAT16)), LAMINA_DTYPE_BFLOAT16 (\(LAMINA_DTYPE_BFLOAT16)) or LAMINA_DTYPE_FLOAT32 (\(LAMINA_DTYPE_FLOAT32))")
    }
}

private func dtypeCode(_ t: StoreDType) -> Int32 {
    switch t {
    case .float16: LAMINA_DTYPE_FLOAT16
    case .bfloat16: LAMINA_DTYPE_BFLOAT16
    case .float32: LAMINA_DTYPE_FLOAT32
    }
}

private func storeOptions(_ params: UnsafePointer<lamina_store_params>?) throws -> StoreOptions {
    var o = StoreOptions()
    guard let p = params?.pointee else { return o }
    if p.durable != 0 && p.durable != 1 { throw LaminaError.invalid("params->durable is \(p.durable); expected 0 or 1") }
    if p.reserved != 0 { throw LaminaError.invalid("params->reserved is \(p.reserved); expected 0 (start from lamina_store_default_params())") }
    o.compression = Int(p.compression)
    o.chunkRows = Int(clamping: p.chunk_rows)
    o.durable = p.durable == 1
    if p.chunk_rows < 0 || p.chunk_rows > 1 << 30 { throw LaminaError.invalid("params->chunk_rows is \(p.chunk_rows); expected 0 (automatic) or 1 to 2^30") }
    if p.compression < 0 || p.compression > 9 { throw LaminaError.invalid("params->compression is \(p.compression); expected 0 (none) to 9 (deflate level)") }
    return o
}

@_cdecl("lamina_store_default_params")
public func lamina_store_default_params() -> lamina_store_params {
    lamina_store_params(compression: 0, durable: 0, chunk_rows: 0, reserved: 0)
}

@_cdecl("lamina_store_open")
public func lamina_store_open(_ path: UnsafePointer<CChar>?, _ params: UnsafePointer<lamina_store_params>?,
                              _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    storeHandles.create(out) {
        let dir = try Check.cString(path, "path")
        return try ActivationStoreWriter(path: dir, options: try storeOptions(params))
    }
}

@_cdecl("lamina_store_append")
public func lamina_store_append(_ store: OpaquePointer?, _ nDatasets: Int32, _ names: UnsafePointer<UnsafePointer<CChar>?>?,
                                _ widths: UnsafePointer<Int64>?, _ data: UnsafePointer<UnsafeRawPointer?>?,
                                _ dtype: Int32, _ nRows: Int64) -> Int32 {
    boundary {
        let w = try storeHandles.get(store, "store")
        let n = try Check.count(Int64(nDatasets), "n_datasets")
        if n > 4096 { throw LaminaError.invalid("n_datasets is \(n); expected 1 to 4096") }
        let rows = try Check.count(nRows, "n_rows")
        let namesP = try Check.pointer(names, "names"), widthsP = try Check.pointer(widths, "widths")
        let dataP = try Check.pointer(data, "data")
        let t = try storeDType(dtype)
        var ns: [String] = [], ws: [Int] = [], ds: [UnsafeRawPointer] = []
        for i in 0..<n {
            ns.append(try Check.cString(namesP[i], "names[\(i)]"))
            ws.append(try Check.count(widthsP[i], "widths[\(i)]"))
            guard let p = dataP[i] else { throw LaminaError.invalid("data[\(i)] is NULL; expected n_rows * widths[\(i)] values") }
            ds.append(p)
        }
        try w.append(names: ns, widths: ws, data: ds, dtype: t, rows: rows)
    }
}

@_cdecl("lamina_store_rows")
public func lamina_store_rows(_ store: OpaquePointer?, _ rows: UnsafeMutablePointer<Int64>?) -> Int32 {
    boundary {
        let w = try storeHandles.get(store, "store")
        try Check.output(rows, "rows").pointee = Int64(w.manifest.rows)
    }
}

@_cdecl("lamina_store_close")
public func lamina_store_close(_ store: OpaquePointer?) -> Int32 {
    boundary {
        guard store != nil else { return }
        let w = try storeHandles.get(store, "store")
        storeHandles.remove(store)
        w.close()
    }
}

@_cdecl("lamina_store_info")
public func lamina_store_info(_ path: UnsafePointer<CChar>?, _ dataset: UnsafePointer<CChar>?,
                              _ rows: UnsafeMutablePointer<Int64>?, _ width: UnsafeMutablePointer<Int64>?,
                              _ dtype: UnsafeMutablePointer<Int32>?) -> Int32 {
    boundary {
        let dir = try Check.cString(path, "path"), name = try Check.cString(dataset, "dataset")
        let r = try StoreRows(path: dir, dataset: name)
        rows?.pointee = Int64(r.rows)
        width?.pointee = Int64(r.cols)
        dtype?.pointee = dtypeCode(r.dtype)
    }
}

@_cdecl("lamina_store_read_f32")
public func lamina_store_read_f32(_ path: UnsafePointer<CChar>?, _ dataset: UnsafePointer<CChar>?, _ rowStart: Int64,
                                  _ rowCount: Int64, _ out: UnsafeMutablePointer<Float>?, _ outLen: Int64) -> Int32 {
    boundary {
        let dir = try Check.cString(path, "path"), name = try Check.cString(dataset, "dataset")
        let start = try Check.count(rowStart, "row_start", minimum: 0)
        let count = try Check.count(rowCount, "row_count", minimum: 0)
        let dst = try Check.output(out, "out")
        let r = try StoreRows(path: dir, dataset: name)
        try Check.length(outLen, expected: try Check.elements(count, r.cols, "the selection"), "out_len (row_count * width)")
        if start > r.rows || count > r.rows - start {
            throw LaminaError.invalid("rows [\(start), \(start + count)) are out of range for the store dataset '\(name)' with \(r.rows) rows")
        }
        try r.read(rows: start..<(start + count), into: dst)
    }
}

// The shuffled reader (lamina.h: lamina_store_reader_*).

private let readerHandles = HandleTable<StoreShuffleReader>("lamina_store_reader")

@_cdecl("lamina_store_reader_open")
public func lamina_store_reader_open(_ path: UnsafePointer<CChar>?, _ dataset: UnsafePointer<CChar>?, _ seed: UInt64,
                                     _ memoryBudget: Int64, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    readerHandles.create(out) {
        let dir = try Check.cString(path, "path"), name = try Check.cString(dataset, "dataset")
        if memoryBudget < 1 { throw LaminaError.invalid("memory_budget is \(memoryBudget); expected a positive number of bytes") }
        let src = try StoreRows(path: dir, dataset: name)
        return try StoreShuffleReader(source: src, seed: seed, memoryBudget: Int(clamping: memoryBudget))
    }
}

@_cdecl("lamina_store_reader_read")
public func lamina_store_reader_read(_ reader: OpaquePointer?, _ epoch: Int64, _ position: Int64, _ nRows: Int64,
                                     _ out: UnsafeMutablePointer<Float>?, _ outLen: Int64,
                                     _ rowIds: UnsafeMutablePointer<Int64>?) -> Int32 {
    boundary {
        let r = try readerHandles.get(reader, "reader")
        let e = try Check.count(epoch, "epoch", minimum: 0)
        let p = try Check.count(position, "position", minimum: 0)
        let n = try Check.count(nRows, "n_rows", minimum: 0)
        let dst = try Check.output(out, "out")
        try Check.length(outLen, expected: try Check.elements(n, r.cols, "the selection"), "out_len (n_rows * width)")
        try r.read(epoch: e, position: p, count: n, into: dst, rowIds: rowIds)
    }
}

@_cdecl("lamina_store_reader_info")
public func lamina_store_reader_info(_ reader: OpaquePointer?, _ rows: UnsafeMutablePointer<Int64>?,
                                     _ width: UnsafeMutablePointer<Int64>?, _ windowRows: UnsafeMutablePointer<Int64>?) -> Int32 {
    boundary {
        let r = try readerHandles.get(reader, "reader")
        rows?.pointee = Int64(r.rows)
        width?.pointee = Int64(r.cols)
        windowRows?.pointee = Int64(r.windowBlocks * r.blockRows)
    }
}

@_cdecl("lamina_store_reader_free")
public func lamina_store_reader_free(_ reader: OpaquePointer?) {
    readerHandles.remove(reader)
}

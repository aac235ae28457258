import CLaminaABI
import LaminaCore

@_cdecl("lamina_h5_dataset_info")
public func lamina_h5_dataset_info(_ path: UnsafePointer<CChar>?, _ dataset: UnsafePointer<CChar>?,
                                   _ rank: UnsafeMutablePointer<Int32>?, _ dims: UnsafeMutablePointer<Int64>?,
                                   _ maxRank: Int32, _ dtype: UnsafeMutablePointer<Int32>?) -> Int32 {
    boundary {
        let file = try Check.cString(path, "path"), name = try Check.cString(dataset, "dataset")
        if maxRank < 0 { throw LaminaError.invalid("max_rank is \(maxRank); expected >= 0") }
        let dimsOut = maxRank > 0 ? try Check.output(dims, "dims") : nil
        let info = try HDF5File.info(path: file, dataset: name)
        rank?.pointee = Int32(info.shape.count)
        for i in 0..<min(info.shape.count, Int(maxRank)) { dimsOut![i] = Int64(info.shape[i]) }
        let code: Int32
        switch info.type {
        case .float16: code = LAMINA_DTYPE_FLOAT16
        case .bfloat16: code = LAMINA_DTYPE_BFLOAT16
        case .float32: code = LAMINA_DTYPE_FLOAT32
        case .float64: code = LAMINA_DTYPE_FLOAT64
        case .integer: code = LAMINA_DTYPE_INT
        }
        dtype?.pointee = code
    }
}

@_cdecl("lamina_h5_read_f32")
public func lamina_h5_read_f32(_ path: UnsafePointer<CChar>?, _ dataset: UnsafePointer<CChar>?, _ rowStart: Int64,
                               _ rowCount: Int64, _ out: UnsafeMutablePointer<Float>?, _ outLen: Int64) -> Int32 {
    boundary {
        let file = try Check.cString(path, "path"), name = try Check.cString(dataset, "dataset")
        let start = try Check.count(rowStart, "row_start", minimum: 0)
        let count = try Check.count(rowCount, "row_count", minimum: 0)
        let dst = try Check.output(out, "out")
        let info = try HDF5File.info(path: file, dataset: name)
        let features = info.shape.count == 2 ? info.shape[1] : 1
        try Check.length(outLen, expected: try Check.elements(count, features, "the selection"), "out_len (row_count * features)")
        try HDF5File.readFloat(path: file, dataset: name, rowStart: start, rowCount: count, into: dst)
    }
}

@_cdecl("lamina_h5_read_i32")
public func lamina_h5_read_i32(_ path: UnsafePointer<CChar>?, _ dataset: UnsafePointer<CChar>?,
                               _ out: UnsafeMutablePointer<Int32>?, _ outLen: Int64) -> Int32 {
    boundary {
        let file = try Check.cString(path, "path"), name = try Check.cString(dataset, "dataset")
        let dst = try Check.output(out, "out")
        let count = try Check.count(outLen, "out_len", minimum: 0)
        try HDF5File.readInt32(path: file, dataset: name, into: dst, count: count)
    }
}

/// The names of a list of datasets (n C strings), all checked before any file is opened.
func datasetNames(_ names: UnsafePointer<UnsafePointer<CChar>?>?, _ count: Int, _ listName: String) throws -> [String] {
    let list = try Check.pointer(names, listName)
    return try (0..<count).map { try Check.cString(list[$0], "\(listName)[\($0)]") }
}

/// The named rank-2 datasets of an HDF5 file (any numeric type, as lamina_h5_read_f32 reads them) or of
/// an activation store, each read whole into memory as float32 with finite values checked: the layers of
/// lamina_layer_sweep_h5 and lamina_cka_matrix_h5. Every dataset must have `rows` rows (`rowsMeaning`
/// says why) when given, else as many as the first one.
func readLayerMatrices(_ file: String, _ names: [String], rows: Int?, rowsMeaning: String) throws -> [Matrix] {
    var matrices: [Matrix] = []
    var expected = rows
    for name in names {
        let shape: (rows: Int, cols: Int)
        let read: (UnsafeMutablePointer<Float>) throws -> Void
        if StoreRows.isStore(file) {  // the layers of an activation store: datasets of one store
            let src = try StoreRows(path: file, dataset: name)
            shape = (src.rows, src.cols)
            read = { try src.read(rows: 0..<src.rows, into: $0) }
        } else {
            let info = try HDF5File.info(path: file, dataset: name)
            if info.shape.count != 2 { throw LaminaError(.format, "dataset '\(name)' has rank \(info.shape.count); expected rank 2 (n x features)") }
            if info.shape[1] < 1 { throw LaminaError(.format, "dataset '\(name)' has no columns") }
            shape = (info.shape[0], info.shape[1])
            read = { try HDF5File.readFloat(path: file, dataset: name, rowStart: 0, rowCount: shape.rows, into: $0) }
        }
        if let want = expected, shape.rows != want {
            throw LaminaError.shape("dataset '\(name)' has \(shape.rows) rows; expected n = \(want) (\(rowsMeaning))")
        }
        expected = shape.rows
        _ = try Check.elements(shape.rows, shape.cols, "dataset '\(name)'")
        var m = Matrix(uninitializedRows: shape.rows, cols: shape.cols)
        try m.storage.withUnsafeMutableBufferPointer { try read($0.baseAddress!) }
        if let bad = m.withView({ $0.firstNonFinite() }) {
            throw LaminaError(.nonFinite, "dataset '\(name)' contains \(m.storage[bad.row * m.cols + bad.col]) at row \(bad.row), column \(bad.col); expected finite values")
        }
        matrices.append(m)
    }
    return matrices
}

/// Views into `matrices`, valid inside `body` (the matrices are kept alive for its duration).
func withViews<R>(_ matrices: [Matrix], _ body: ([MatrixView]) throws -> R) rethrows -> R {
    func go(_ i: Int, _ acc: [MatrixView]) throws -> R {
        if i == matrices.count { return try body(acc) }
        return try matrices[i].withView { try go(i + 1, acc + [$0]) }
    }
    return try go(0, [])
}

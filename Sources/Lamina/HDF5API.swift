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

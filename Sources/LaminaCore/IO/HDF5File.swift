import CHDF5
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Reading activation and label datasets from HDF5 files (as written by h5py). Float16 and bfloat16
/// datasets are read as raw 16-bit words and widened in Swift (HDF5's own half-float conversion is
/// ~10x slower); float32/float64/integer datasets are converted by HDF5. The system libhdf5 is not
/// thread-safe, so every HDF5 call runs under one process-wide lock.
public enum HDF5File {
    private static let lock = Mutex<Void>(())

    public enum StoredType: Sendable, Equatable {
        case float16, bfloat16, float32, float64, integer(bytes: Int, signed: Bool)
        public var name: String {
            switch self {
            case .float16: "float16"
            case .bfloat16: "bfloat16"
            case .float32: "float32"
            case .float64: "float64"
            case .integer(let bytes, let signed): "\(signed ? "int" : "uint")\(bytes * 8)"
            }
        }
    }

    public struct DatasetInfo: Sendable {
        public let shape: [Int]
        public let type: StoredType
    }

    /// Shape and element type of `dataset` in the file at `path`.
    public static func info(path: String, dataset: String) throws -> DatasetInfo {
        try withDataset(path, dataset) { _, info in info }
    }

    /// Rows [rowStart, rowStart + rowCount) of a rank-1 or rank-2 dataset as float32 into `out`
    /// (rowCount * columns values; columns = 1 for rank 1).
    public static func readFloat(path: String, dataset: String, rowStart: Int, rowCount: Int,
                                 into out: UnsafeMutablePointer<Float>) throws {
        try withDataset(path, dataset) { ds, info in
            let (rows, cols) = try matrixShape(info, dataset)
            try checkRange(rowStart, rowCount, rows, dataset)
            let count = rowCount * cols
            switch info.type {
            case .float16, .bfloat16:
                // Read the raw 16-bit words: the memory type is the file's own type, so HDF5 copies the
                // bits instead of converting values (an integer memory type would round 0.37 to 0).
                let raw = UnsafeMutablePointer<UInt16>.allocate(capacity: max(count, 1))
                defer { raw.deallocate() }
                let fileType = H5Dget_type(ds)
                defer { H5Tclose(fileType) }
                try readRows(ds, info, rowStart, rowCount, memType: fileType, into: raw, dataset)
                if H5Tget_order(fileType) == H5T_ORDER_BE {
                    for i in 0..<count { raw[i] = raw[i].byteSwapped }
                }
                if info.type == .float16 {
                    for i in 0..<count { out[i] = Float(Float16(bitPattern: raw[i])) }
                } else {
                    for i in 0..<count { out[i] = Float(bitPattern: UInt32(raw[i]) << 16) }
                }
            case .float32, .float64, .integer:
                try readRows(ds, info, rowStart, rowCount, memType: lamina_h5t_native_float(), into: out, dataset)
            }
        }
    }

    /// A rank-1 integer dataset as int32 (labels).
    public static func readInt32(path: String, dataset: String, into out: UnsafeMutablePointer<Int32>, count: Int) throws {
        try withDataset(path, dataset) { ds, info in
            guard case .integer = info.type else {
                throw LaminaError(.format, "dataset '\(dataset)' holds \(info.type.name); expected an integer dataset for labels")
            }
            if info.shape.count != 1 {
                throw LaminaError(.format, "dataset '\(dataset)' has rank \(info.shape.count); expected a rank-1 label dataset")
            }
            if info.shape[0] != count {
                throw LaminaError.shape("dataset '\(dataset)' has \(info.shape[0]) labels; the output holds \(count)")
            }
            try readRows(ds, info, 0, count, memType: lamina_h5t_native_int32(), into: out, dataset)
        }
    }

    // MARK: - Internals

    private static func matrixShape(_ info: DatasetInfo, _ dataset: String) throws -> (Int, Int) {
        switch info.shape.count {
        case 1: return (info.shape[0], 1)
        case 2: return (info.shape[0], info.shape[1])
        default: throw LaminaError(.format, "dataset '\(dataset)' has rank \(info.shape.count); expected rank 1 or 2 (rows x features)")
        }
    }

    private static func checkRange(_ start: Int, _ count: Int, _ rows: Int, _ dataset: String) throws {
        if start < 0 || count < 0 || start > rows || count > rows - start {
            throw LaminaError.invalid("rows [\(start), \(start + count)) are out of range for dataset '\(dataset)' with \(rows) rows")
        }
    }

    private static func withDataset<R>(_ path: String, _ dataset: String, _ body: (hid_t, DatasetInfo) throws -> R) throws -> R {
        try lock.withLock { _ in
            lamina_h5_silence_errors()
            var status = stat()
            if stat(path, &status) != 0 {
                throw LaminaError(.io, "cannot open '\(path)': \(String(cString: strerror(errno)))")
            }
            if (status.st_mode & S_IFMT) == S_IFDIR {
                throw LaminaError(.io, "cannot open '\(path)': it is a directory; expected an HDF5 file")
            }
            if H5Fis_hdf5(path) <= 0 {
                throw LaminaError(.format, "'\(path)' is not an HDF5 file (or it is truncated or corrupt)")
            }
            let file = H5Fopen(path, lamina_h5f_acc_rdonly(), lamina_h5p_default())
            if file < 0 { throw LaminaError(.format, "cannot open HDF5 file '\(path)': corrupt or unreadable") }
            defer { H5Fclose(file) }
            if H5Lexists(file, dataset, lamina_h5p_default()) <= 0 {
                throw LaminaError.invalid("dataset '\(dataset)' not found in '\(path)'")
            }
            let ds = H5Dopen2(file, dataset, lamina_h5p_default())
            if ds < 0 { throw LaminaError(.format, "'\(dataset)' in '\(path)' is not a dataset") }
            defer { H5Dclose(ds) }
            return try body(ds, try describe(ds, dataset))
        }
    }

    private static func describe(_ ds: hid_t, _ dataset: String) throws -> DatasetInfo {
        let space = H5Dget_space(ds)
        defer { H5Sclose(space) }
        let rank = Int(H5Sget_simple_extent_ndims(space))
        if rank < 0 || rank > 32 { throw LaminaError(.format, "dataset '\(dataset)' has an unreadable dataspace") }
        var dims = [hsize_t](repeating: 0, count: max(rank, 1))
        H5Sget_simple_extent_dims(space, &dims, nil)
        let type = H5Dget_type(ds)
        defer { H5Tclose(type) }
        let size = H5Tget_size(type)
        let stored: StoredType
        switch H5Tget_class(type) {
        case H5T_FLOAT:
            if size == 2 {
                stored = H5Tget_ebias(type) == 127 ? .bfloat16 : .float16
            } else if size == 4 {
                stored = .float32
            } else if size == 8 {
                stored = .float64
            } else {
                throw LaminaError(.format, "dataset '\(dataset)' holds \(size)-byte floats; expected float16, bfloat16, float32 or float64")
            }
        case H5T_INTEGER:
            stored = .integer(bytes: size, signed: H5Tget_sign(type) == H5T_SGN_2)
        default:
            throw LaminaError(.format, "dataset '\(dataset)' does not hold numbers; expected a float or integer dataset")
        }
        return DatasetInfo(shape: rank == 0 ? [] : dims.map { Int($0) }, type: stored)
    }

    private static func readRows<T>(_ ds: hid_t, _ info: DatasetInfo, _ start: Int, _ count: Int, memType: hid_t,
                                    into out: UnsafeMutablePointer<T>, _ dataset: String) throws {
        if count == 0 { return }
        let fileSpace = H5Dget_space(ds)
        defer { H5Sclose(fileSpace) }
        var offset = [hsize_t](repeating: 0, count: info.shape.count)
        var extent = info.shape.map { hsize_t($0) }
        offset[0] = hsize_t(start)
        extent[0] = hsize_t(count)
        H5Sselect_hyperslab(fileSpace, lamina_h5s_select_set(), offset, nil, extent, nil)
        let memSpace = H5Screate_simple(Int32(extent.count), extent, nil)
        defer { H5Sclose(memSpace) }
        if H5Dread(ds, memType, memSpace, fileSpace, lamina_h5p_default(), out) < 0 {
            throw LaminaError(.format, "reading dataset '\(dataset)' failed: the file is truncated or corrupt")
        }
    }
}

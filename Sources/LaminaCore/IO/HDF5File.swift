import CHDF5
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Reading activation and label datasets from HDF5 files (as written by h5py). Float16 and bfloat16
/// datasets are read as raw 16-bit words and widened in Swift (HDF5's own half-float conversion is
/// ~10x slower); float32/float64/integer datasets are converted by HDF5. The system libhdf5 is not
/// thread-safe, so every HDF5 call runs under one process-wide lock.
package enum HDF5File {
    static let lock = Mutex<Void>(())  // also taken by ActivationStore (IO/Store)

    package enum StoredType: Sendable, Equatable {
        case float16, bfloat16, float32, float64, integer(bytes: Int, signed: Bool)
        /// Bytes per stored value.
        package var bytes: Int {
            switch self {
            case .float16, .bfloat16: 2
            case .float32: 4
            case .float64: 8
            case .integer(let bytes, _): bytes
            }
        }
        package var name: String {
            switch self {
            case .float16: "float16"
            case .bfloat16: "bfloat16"
            case .float32: "float32"
            case .float64: "float64"
            case .integer(let bytes, let signed): "\(signed ? "int" : "uint")\(bytes * 8)"
            }
        }
    }

    package struct DatasetInfo: Sendable {
        package let shape: [Int]
        package let type: StoredType
    }

    /// Shape and element type of `dataset` in the file at `path`.
    package static func info(path: String, dataset: String) throws -> DatasetInfo {
        try withDataset(path, dataset) { _, info in info }
    }

    /// Rows [rowStart, rowStart + rowCount) of a rank-1 or rank-2 dataset as float32 into `out`
    /// (rowCount * columns values; columns = 1 for rank 1).
    package static func readFloat(path: String, dataset: String, rowStart: Int, rowCount: Int,
                                 into out: UnsafeMutablePointer<Float>) throws {
        try withDataset(path, dataset) { ds, info in
            let (rows, cols) = try matrixShape(info, dataset)
            try checkRange(rowStart, rowCount, rows, dataset)
            let count = rowCount * cols
            switch info.type {
            case .float16, .bfloat16:
                // Read the raw 16-bit words: the memory type is the file's own type, so HDF5 copies the
                // bits instead of converting values (an integer memory type would round 0.37 to 0).
                let raw: UnsafeMutablePointer<UInt16> = try Memory.allocate(count, "the 16-bit read buffer of dataset '\(dataset)'")
                defer { Memory.free(raw) }
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

    /// The rows of a rank-2 dataset given as runs [(start, count)] (sorted by start, disjoint) as
    /// float32 into `out`, in row order (sum of counts * columns values). Each H5Dread takes the union of
    /// up to `runsPerRead` row hyperslabs (HDF5 1.10 merges an OR-ed selection in time quadratic in its
    /// runs). The file is opened with HDF5's data sieve off, so that a contiguous dataset has only the
    /// selected rows' bytes read (a chunked dataset reads every storage chunk a run touches).
    package static func readFloatRuns(path: String, dataset: String, runs: [(start: Int, count: Int)],
                                      into out: UnsafeMutablePointer<Float>, runsPerRead: Int = 128) throws {
        if runs.isEmpty { return }
        try withDataset(path, dataset, sieve: false) { ds, info in
            let (rows, cols) = try matrixShape(info, dataset)
            var previousEnd = 0
            for run in runs {
                try checkRange(run.start, run.count, rows, dataset)
                if run.start < previousEnd || run.count < 1 {
                    throw LaminaError.invalid("row runs must be sorted, disjoint and non-empty; run (\(run.start), \(run.count)) follows row \(previousEnd)")
                }
                previousEnd = run.start + run.count
            }
            var first = 0, written = 0
            while first < runs.count {
                let group = Array(runs[first..<min(runs.count, first + max(1, runsPerRead))])
                let groupRows = group.reduce(0) { $0 + $1.count }
                let count = groupRows * cols
                let dst = out + written
                switch info.type {
                case .float16, .bfloat16:
                    let raw: UnsafeMutablePointer<UInt16> = try Memory.allocate(count, "the 16-bit read buffer of dataset '\(dataset)'")
                    defer { Memory.free(raw) }
                    let fileType = H5Dget_type(ds)
                    defer { H5Tclose(fileType) }
                    try readRuns(ds, info, group, groupRows, memType: fileType, into: raw, dataset)
                    let swap = H5Tget_order(fileType) == H5T_ORDER_BE
                    for i in 0..<count {
                        let w = swap ? raw[i].byteSwapped : raw[i]
                        dst[i] = info.type == .float16 ? Float(Float16(bitPattern: w)) : Float(bitPattern: UInt32(w) << 16)
                    }
                case .float32, .float64, .integer:
                    try readRuns(ds, info, group, groupRows, memType: lamina_h5t_native_float(), into: dst, dataset)
                }
                written += count
                first += group.count
            }
        }
    }

    /// Several row ranges of a rank-2 dataset read with one open of the file (the activation store's
    /// shuffled reader, IO/Store/StoreShuffle.swift). Range i is read into `scratch` (room for its rows x
    /// columns values of the stored type) and handed to `body(i)`: float16/bfloat16 as their raw 16-bit
    /// words (little-endian order restored), float32 as is; other types converted to float32 by HDF5.
    /// `body` runs under the HDF5 lock, so it should only copy.
    /// The dataset must hold `expect` (so that the caller's scratch size is right).
    package static func readRawRanges(path: String, dataset: String, expect: StoredType, ranges: [Range<Int>],
                                      scratch: UnsafeMutableRawPointer, body: (Int) throws -> Void) throws {
        try withDataset(path, dataset) { ds, info in
            let (rows, cols) = try matrixShape(info, dataset)
            if info.type != expect {
                throw LaminaError(.format, "dataset '\(dataset)' in '\(path)' holds \(info.type.name); expected \(expect.name) (the file changed after it was checked?)")
            }
            let fileType = H5Dget_type(ds)
            defer { H5Tclose(fileType) }
            let swap = H5Tget_order(fileType) == H5T_ORDER_BE
            for (i, r) in ranges.enumerated() {
                try checkRange(r.lowerBound, r.count, rows, dataset)
                switch info.type {
                case .float16, .bfloat16:
                    let raw = scratch.assumingMemoryBound(to: UInt16.self)
                    try readRows(ds, info, r.lowerBound, r.count, memType: fileType, into: raw, dataset)
                    if swap { for k in 0..<(r.count * cols) { raw[k] = raw[k].byteSwapped } }
                case .float32, .float64, .integer:
                    try readRows(ds, info, r.lowerBound, r.count, memType: lamina_h5t_native_float(),
                                 into: scratch.assumingMemoryBound(to: Float.self), dataset)
                }
                try body(i)
            }
        }
    }

    /// A rank-1 integer dataset as int32 (labels).
    package static func readInt32(path: String, dataset: String, into out: UnsafeMutablePointer<Int32>, count: Int) throws {
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

    private static func withDataset<R>(_ path: String, _ dataset: String, sieve: Bool = true,
                                       _ body: (hid_t, DatasetInfo) throws -> R) throws -> R {
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
            // sieve false: a file-access list with a zero-byte data sieve (reads go straight to the rows).
            let fapl = sieve ? lamina_h5p_default() : H5Pcreate(lamina_h5p_file_access())
            defer { if !sieve && fapl >= 0 { H5Pclose(fapl) } }
            if fapl < 0 || (!sieve && H5Pset_sieve_buf_size(fapl, 0) < 0) {
                throw LaminaError(.internal, "HDF5 could not create a file-access property list for '\(path)'")
            }
            let file = H5Fopen(path, lamina_h5f_acc_rdonly(), fapl)
            if file < 0 { throw LaminaError(.format, "cannot open HDF5 file '\(path)': corrupt or unreadable") }
            defer { H5Fclose(file) }
            if H5Lexists(file, dataset, lamina_h5p_default()) <= 0 {
                throw LaminaError.invalid("dataset '\(dataset)' not found in '\(path)'")
            }
            let ds = H5Dopen2(file, dataset, lamina_h5p_default())
            if ds < 0 { throw LaminaError(.format, "'\(dataset)' in '\(path)' is not a dataset") }
            defer { H5Dclose(ds) }
            let info = try describe(ds, dataset)
            let key = ValidatedKey(path: path, dataset: dataset, device: UInt64(status.st_dev), inode: UInt64(status.st_ino),
                                   size: Int64(status.st_size), mtime: Int64(status.st_mtim.tv_sec) &* 1_000_000_000 &+ Int64(status.st_mtim.tv_nsec))
            if !validated.contains(key) {
                try checkStorage(ds, info, fileSize: Int(status.st_size), dataset)
                if validated.count > 64 { validated.removeAll() }
                validated.insert(key)
            }
            return try body(ds, info)
        }
    }

    /// Datasets (by file identity and modification time) that passed checkStorage, so that streaming
    /// reads of the same file do not repeat the chunk scan. Guarded by `lock`.
    private struct ValidatedKey: Hashable {
        let path: String, dataset: String
        let device: UInt64, inode: UInt64
        let size: Int64, mtime: Int64
    }
    nonisolated(unsafe) private static var validated = Set<ValidatedKey>()

    /// deflate's largest compression ratio (a 258-byte match coded in 2 bits): no stored chunk can
    /// expand to more than this many times its size.
    static let deflateMaxRatio = 1032

    /// The checks that make a dataset's claimed shape trustworthy before anything is sized from it
    /// (DESIGN: validate first). A corrupt header can claim billions of rows in a 6 KB file; HDF5 would
    /// then serve fill values for all of them. Checked, in order:
    ///  - layout: contiguous, compact or chunked (virtual datasets and external raw-data files are refused);
    ///  - filters: only deflate, shuffle and fletcher32 (what h5py writes) are accepted;
    ///  - chunked: the chunk rank equals the dataset rank, every chunk dimension is >= 1 and no larger than
    ///    the dataset's (maximum) dimension, a chunk holds < 4 GiB, the file indexes no more chunks than
    ///    the chunk grid has, and each stored chunk (up to 2^20 of them) lies at a chunk-aligned offset
    ///    inside the dataset, inside the file, with the full chunk size when unfiltered;
    ///  - storage: the bytes stored for the dataset fit in the file, and they can hold the claimed size:
    ///    claimed bytes <= stored bytes (x 1032 with deflate). A dataset whose rows were never written
    ///    (fill values only) is therefore refused.
    private static func checkStorage(_ ds: hid_t, _ info: DatasetInfo, fileSize: Int, _ dataset: String) throws {
        func corrupt(_ what: String) -> LaminaError {
            LaminaError(.format, "dataset '\(dataset)': \(what); the file is corrupt or not a plain h5py dataset")
        }
        var logical = info.type.bytes
        for n in info.shape {
            let (v, o) = logical.multipliedReportingOverflow(by: n)
            if o || n < 0 { throw corrupt("its shape \(info.shape) overflows") }
            logical = v
        }
        let dcpl = H5Dget_create_plist(ds)
        if dcpl < 0 { throw corrupt("its creation properties are unreadable") }
        defer { H5Pclose(dcpl) }
        let layout = H5Pget_layout(dcpl)
        switch layout {
        case H5D_CONTIGUOUS, H5D_COMPACT, H5D_CHUNKED: break
        case H5D_VIRTUAL: throw LaminaError(.format, "dataset '\(dataset)' is a virtual dataset (its data lives in other files); expected a contiguous, compact or chunked dataset")
        default: throw corrupt("its storage layout is unreadable")
        }
        if H5Pget_external_count(dcpl) != 0 {
            throw LaminaError(.format, "dataset '\(dataset)' stores its data in external files; expected the data inside the HDF5 file")
        }
        let filters = Int(H5Pget_nfilters(dcpl))
        if filters < 0 || filters > 32 { throw corrupt("its filter pipeline is unreadable") }
        var ratio = 1
        for i in 0..<filters {
            var flags: UInt32 = 0, nValues = 0, values = [UInt32](repeating: 0, count: 16), config: UInt32 = 0
            var name = [CChar](repeating: 0, count: 64)
            let id = H5Pget_filter2(dcpl, UInt32(i), &flags, &nValues, &values, 64, &name, &config)
            switch id {
            case 1: ratio = deflateMaxRatio  // deflate
            case 2, 3: break  // shuffle, fletcher32
            default:
                let label = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                throw LaminaError(.format, "dataset '\(dataset)' uses filter \(id)\(label.isEmpty ? "" : " (\(label))"); supported filters: deflate (gzip), shuffle, fletcher32")
            }
        }
        let stored = Int(clamping: H5Dget_storage_size(ds))
        if stored > fileSize {
            throw corrupt("it claims \(stored) bytes of storage in a file of \(fileSize) bytes")
        }
        if logical > 0 && (stored == 0 || logical / ratio > stored) {
            throw corrupt("its shape \(info.shape) of \(info.type.name) needs \(logical) bytes but the file stores \(stored) bytes for it" + (ratio > 1 ? " (at most \(ratio)x with deflate)" : ""))
        }
        if layout == H5D_CONTIGUOUS {
            let offset = UInt64(H5Dget_offset(ds))
            if logical > 0 && (offset == UInt64.max || offset > UInt64(fileSize) || UInt64(fileSize) - offset < UInt64(stored)) {
                throw corrupt("its data at offset \(offset) with \(stored) bytes lies outside the file (\(fileSize) bytes)")
            }
        }
        if layout == H5D_CHUNKED { try checkChunks(ds, dcpl, info, fileSize: fileSize, filtered: filters > 0, dataset, corrupt) }
    }

    private static func checkChunks(_ ds: hid_t, _ dcpl: hid_t, _ info: DatasetInfo, fileSize: Int, filtered: Bool,
                                    _ dataset: String, _ corrupt: (String) -> LaminaError) throws {
        let rank = info.shape.count
        var chunk = [hsize_t](repeating: 0, count: 32)
        let chunkRank = Int(H5Pget_chunk(dcpl, 32, &chunk))
        if chunkRank != rank || rank == 0 { throw corrupt("its chunks have rank \(chunkRank); the dataset has rank \(rank)") }
        let space = H5Dget_space(ds)
        defer { H5Sclose(space) }
        var dims = [hsize_t](repeating: 0, count: rank), maxDims = [hsize_t](repeating: 0, count: rank)
        if H5Sget_simple_extent_dims(space, &dims, &maxDims) != Int32(rank) { throw corrupt("its dataspace is unreadable") }
        var chunkBytes = info.type.bytes, grid = 1
        for k in 0..<rank {
            let c = chunk[k], n = dims[k]
            let limit = maxDims[k] > n ? maxDims[k] : Swift.max(n, 1)  // extensible dimensions may have larger chunks
            if c < 1 || c > limit || c > UInt64(UInt32.max) {
                throw corrupt("its chunk shape \(chunk.prefix(rank).map { Int($0) }) does not fit its shape \(info.shape)")
            }
            chunkBytes = chunkBytes.multipliedReportingOverflow(by: Int(c)).overflow ? Int.max : chunkBytes * Int(c)
            let cells = Int((n + c - 1) / c)
            grid = grid.multipliedReportingOverflow(by: cells).overflow ? Int.max : grid * cells
        }
        if chunkBytes >= 1 << 32 { throw corrupt("its chunks of \(chunkBytes) bytes exceed HDF5's 4 GiB limit") }
        var indexed: hsize_t = 0
        if H5Dget_num_chunks(ds, space, &indexed) < 0 { throw corrupt("its chunk index is unreadable") }
        if Int(clamping: indexed) > grid { throw corrupt("its chunk index lists \(indexed) chunks; its shape has \(grid)") }
        if indexed > 1 << 20 { return }  // too many to visit one by one; the storage bound above still holds
        var offset = [hsize_t](repeating: 0, count: rank)
        for i in 0..<indexed {
            var mask: UInt32 = 0, address: haddr_t = 0, size: hsize_t = 0
            if H5Dget_chunk_info(ds, space, i, &offset, &mask, &address, &size) < 0 {
                throw corrupt("chunk \(i) of its index is unreadable")
            }
            for k in 0..<rank where offset[k] % chunk[k] != 0 || offset[k] >= dims[k] {
                throw corrupt("chunk \(i) sits at \(offset.map { Int(clamping: $0) }), outside its shape \(info.shape) or off its chunk grid")
            }
            if address == haddr_t.max || UInt64(address) > UInt64(fileSize) || UInt64(fileSize) - UInt64(address) < size {
                throw corrupt("chunk \(i) (\(size) bytes at offset \(address)) lies outside the file (\(fileSize) bytes)")
            }
            if size == 0 || (!filtered && Int(size) != chunkBytes) {
                throw corrupt("chunk \(i) stores \(size) bytes; an unfiltered chunk holds \(chunkBytes)")
            }
        }
    }

    private static func describe(_ ds: hid_t, _ dataset: String) throws -> DatasetInfo {
        let space = H5Dget_space(ds)
        defer { H5Sclose(space) }
        let rank = Int(H5Sget_simple_extent_ndims(space))
        if rank < 0 || rank > 32 { throw LaminaError(.format, "dataset '\(dataset)' has an unreadable dataspace") }
        var dims = [hsize_t](repeating: 0, count: max(rank, 1))
        if H5Sget_simple_extent_dims(space, &dims, nil) != Int32(rank) || dims.contains(where: { $0 > UInt64(Int.max) }) {
            throw LaminaError(.format, "dataset '\(dataset)' has an unreadable dataspace")
        }
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
            if ![1, 2, 4, 8].contains(size) {
                throw LaminaError(.format, "dataset '\(dataset)' holds \(size)-byte integers; expected 1, 2, 4 or 8 bytes")
            }
            stored = .integer(bytes: size, signed: H5Tget_sign(type) == H5T_SGN_2)
        default:
            throw LaminaError(.format, "dataset '\(dataset)' does not hold numbers; expected a float or integer dataset")
        }
        return DatasetInfo(shape: rank == 0 ? [] : dims.map { Int($0) }, type: stored)
    }

    private static func readRuns<T>(_ ds: hid_t, _ info: DatasetInfo, _ runs: [(start: Int, count: Int)], _ total: Int,
                                    memType: hid_t, into out: UnsafeMutablePointer<T>, _ dataset: String) throws {
        let fileSpace = H5Dget_space(ds)
        defer { H5Sclose(fileSpace) }
        if fileSpace < 0 { throw LaminaError(.format, "dataset '\(dataset)': its dataspace is unreadable") }
        let cols = hsize_t(info.shape.count == 2 ? info.shape[1] : 1)
        for (i, run) in runs.enumerated() {
            let offset: [hsize_t] = info.shape.count == 2 ? [hsize_t(run.start), 0] : [hsize_t(run.start)]
            let extent: [hsize_t] = info.shape.count == 2 ? [hsize_t(run.count), cols] : [hsize_t(run.count)]
            if H5Sselect_hyperslab(fileSpace, i == 0 ? lamina_h5s_select_set() : lamina_h5s_select_or(), offset, nil, extent, nil) < 0 {
                throw LaminaError(.format, "dataset '\(dataset)': selecting rows [\(run.start), \(run.start + run.count)) failed: the file is corrupt")
            }
        }
        let memExtent: [hsize_t] = info.shape.count == 2 ? [hsize_t(total), cols] : [hsize_t(total)]
        let memSpace = H5Screate_simple(Int32(memExtent.count), memExtent, nil)
        if memSpace < 0 { throw LaminaError(.format, "dataset '\(dataset)': a \(memExtent) selection is not representable") }
        defer { H5Sclose(memSpace) }
        if H5Dread(ds, memType, memSpace, fileSpace, lamina_h5p_default(), out) < 0 {
            throw LaminaError(.format, "reading dataset '\(dataset)' failed: the file is truncated or corrupt")
        }
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
        if fileSpace < 0 || H5Sselect_hyperslab(fileSpace, lamina_h5s_select_set(), offset, nil, extent, nil) < 0 {
            throw LaminaError(.format, "dataset '\(dataset)': selecting rows [\(start), \(start + count)) failed: the file is corrupt")
        }
        let memSpace = H5Screate_simple(Int32(extent.count), extent, nil)
        if memSpace < 0 { throw LaminaError(.format, "dataset '\(dataset)': a \(extent) selection is not representable") }
        defer { H5Sclose(memSpace) }
        if H5Dread(ds, memType, memSpace, fileSpace, lamina_h5p_default(), out) < 0 {
            throw LaminaError(.format, "reading dataset '\(dataset)' failed: the file is truncated or corrupt")
        }
    }
}

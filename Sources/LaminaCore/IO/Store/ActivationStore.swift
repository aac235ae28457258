import CHDF5
#if canImport(Glibc)
import Glibc
#endif

/// An append-only activation store: a directory of immutable, sealed HDF5 segment files and one
/// manifest (MANIFEST.json) that is replaced atomically. See README.md beside this file for the layout
/// and the crash-safety argument; the C contract is lamina.h, section "Activation store".
package enum StoreDType: Int32, Sendable, CaseIterable {
    case float16 = 0, bfloat16 = 1, float32 = 2   // the LAMINA_DTYPE_* codes

    package var bytes: Int { self == .float32 ? 4 : 2 }
    package var name: String {
        switch self {
        case .float16: "float16"
        case .bfloat16: "bfloat16"
        case .float32: "float32"
        }
    }
    package init?(name: String) {
        guard let d = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = d
    }
    var hdf5: HDF5File.StoredType {
        switch self {
        case .float16: .float16
        case .bfloat16: .bfloat16
        case .float32: .float32
        }
    }
}

package struct StoreDataset: Sendable, Equatable {
    package let name: String
    package let width: Int
    package let dtype: StoreDType
}

package struct StoreSegment: Sendable, Equatable {
    package let file: String
    package let rows: Int
}

/// The committed state of a store: what MANIFEST.json says. Segment files not listed are not part of
/// the store (leftovers of an interrupted or failed append).
package struct StoreManifest: Sendable {
    package static let fileName = "MANIFEST.json"
    package static let format = "lamina-activation-store"
    package static let version: Int64 = 1

    package var datasets: [StoreDataset] = []
    package var segments: [StoreSegment] = []
    package var nextSegment = 1
    package var rows: Int { segments.reduce(0) { $0 + $1.rows } }

    package init() {}

    package static func segmentName(_ index: Int) -> String {
        var digits = String(index)
        while digits.count < 8 { digits = "0" + digits }
        return "seg-\(digits).h5"
    }

    static func isDirectory(_ path: String) -> Bool? {
        var st = stat()
        if stat(path, &st) != 0 { return nil }
        return (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Reads and checks the manifest of the store directory `directory`; with `checkSegments`, every
    /// listed segment must exist and hold each dataset with its rows, width and dtype.
    package static func read(directory: String, checkSegments: Bool) throws -> StoreManifest {
        let path = directory + "/" + fileName
        func bad(_ what: String) -> LaminaError {
            LaminaError(.format, "'\(path)': \(what); the store is corrupt or not a Lamina activation store")
        }
        let bytes = try AtomicFile.read(path: path, maxBytes: 1 << 28)
        let root: JSONValue
        do { root = try JSONValue.parse(bytes) } catch { throw bad("not valid JSON (\(error))") }
        guard let obj = root.objectValue else { throw bad("expected a JSON object") }
        guard obj["format"]?.stringValue == format else { throw bad("its \"format\" is not \"\(format)\"") }
        guard let v = obj["version"]?.int64Value, v == version else {
            throw bad("its \"version\" is \(obj["version"].map { "\($0)" } ?? "missing"); this Lamina reads version \(version)")
        }
        var m = StoreManifest()
        guard let ds = obj["datasets"]?.arrayValue, let segs = obj["segments"]?.arrayValue,
              let next = obj["next_segment"]?.int64Value, next >= 1, next < 100_000_000 else {
            throw bad("\"datasets\", \"segments\" or \"next_segment\" is missing or invalid")
        }
        m.nextSegment = Int(next)
        for d in ds {
            guard let o = d.objectValue, let name = o["name"]?.stringValue, let w = o["width"]?.int64Value,
                  let t = o["dtype"]?.stringValue, let dtype = StoreDType(name: t), w >= 1, w <= 1 << 30,
                  (try? checkName(name)) != nil, !m.datasets.contains(where: { $0.name == name }) else {
                throw bad("a dataset entry is invalid: \(d)")
            }
            m.datasets.append(StoreDataset(name: name, width: Int(w), dtype: dtype))
        }
        var total = 0
        for s in segs {
            guard let o = s.objectValue, let file = o["file"]?.stringValue, let r = s.objectValue?["rows"]?.int64Value,
                  r >= 1, r <= 1 << 40, file.hasPrefix("seg-"), file.hasSuffix(".h5"), !file.contains("/"),
                  !m.segments.contains(where: { $0.file == file }) else {
                throw bad("a segment entry is invalid: \(s)")
            }
            total += Int(r)
            m.segments.append(StoreSegment(file: file, rows: Int(r)))
        }
        if !m.segments.isEmpty && m.datasets.isEmpty { throw bad("it lists segments but no datasets") }
        if total > 1 << 40 { throw bad("it claims \(total) rows") }
        if checkSegments {
            for s in m.segments {
                let file = directory + "/" + s.file
                for d in m.datasets {
                    let info: HDF5File.DatasetInfo
                    do { info = try HDF5File.info(path: file, dataset: d.name) } catch let e as LaminaError {
                        throw LaminaError(.format, "segment '\(file)' of the store is damaged: \(e.message)")
                    }
                    if info.shape != [s.rows, d.width] || info.type != d.dtype.hdf5 {
                        throw LaminaError(.format, "segment '\(file)': dataset '\(d.name)' is \(info.type.name) \(info.shape); the manifest says \(d.dtype.name) [\(s.rows), \(d.width)]")
                    }
                }
            }
        }
        return m
    }

    func serialized() throws -> [UInt8] {
        var o = JSONObject()
        o["format"] = .string(Self.format)
        o["version"] = .int(Self.version)
        o["rows"] = .int(Int64(rows))
        o["next_segment"] = .int(Int64(nextSegment))
        o["datasets"] = .array(datasets.map { d in
            var x = JSONObject()
            x["name"] = .string(d.name); x["width"] = .int(Int64(d.width)); x["dtype"] = .string(d.dtype.name)
            return .object(x)
        })
        o["segments"] = .array(segments.map { s in
            var x = JSONObject()
            x["file"] = .string(s.file); x["rows"] = .int(Int64(s.rows))
            return .object(x)
        })
        return Array(try JSONValue.object(o).prettySerialized().utf8) + [10]
    }

    /// A dataset name: 1...255 bytes of letters, digits, '_', '-', '.', not starting with '.'.
    package static func checkName(_ name: String) throws {
        let ok = !name.isEmpty && name.utf8.count <= 255 && !name.hasPrefix(".")
            && name.utf8.allSatisfy { c in
                (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 || c == 45 || c == 46
            }
        if !ok {
            throw LaminaError.invalid("dataset name '\(name)' is invalid; expected 1 to 255 characters of letters, digits, '_', '-' or '.', not starting with '.'")
        }
    }
}

/// Options of a store writer.
package struct StoreOptions: Sendable {
    /// deflate level 0 (none) ... 9.
    package var compression = 0
    /// Rows per HDF5 chunk; 0 picks about 1 MiB per chunk.
    package var chunkRows = 0
    /// fsync every segment, the manifest and the directory before an append returns (survives power
    /// loss and OS crashes; without it an append survives the death of the writing process only).
    package var durable = false
    package init() {}
}

/// The writer of one store directory. One writer per store at a time (an flock on `.lock`); readers
/// (StoreRows, h5py on the segments) may run at the same time.
package final class ActivationStoreWriter {
    package let directory: String
    package let options: StoreOptions
    package private(set) var manifest: StoreManifest
    private var lockFD: Int32 = -1

    package init(path: String, options: StoreOptions) throws {
        guard !path.isEmpty else { throw LaminaError.invalid("path is empty; expected a store directory") }
        guard !path.utf8.contains(0) else { throw LaminaError.invalid("path contains a NUL byte") }
        if options.compression < 0 || options.compression > 9 {
            throw LaminaError.invalid("compression is \(options.compression); expected 0 (none) to 9 (deflate level)")
        }
        if options.chunkRows < 0 || options.chunkRows > 1 << 30 {
            throw LaminaError.invalid("chunk_rows is \(options.chunkRows); expected 0 (automatic) or 1 to 2^30")
        }
        var dir = path
        while dir.count > 1 && dir.hasSuffix("/") { dir.removeLast() }
        self.directory = dir
        self.options = options
        switch StoreManifest.isDirectory(dir) {
        case .some(false):
            let isH5 = HDF5File.lock.withLock { _ -> Bool in lamina_h5_silence_errors(); return H5Fis_hdf5(dir) > 0 }
            throw LaminaError(.format, "'\(dir)' is \(isH5 ? "an HDF5 file" : "a file"), not an activation store; a store is a directory holding \(StoreManifest.fileName) and seg-*.h5 files (pass a new or empty directory path to create one)")
        case .none:
            if mkdir(dir, 0o777) != 0 {
                throw LaminaError(.io, "cannot create the store directory '\(dir)': \(AtomicFile.errnoText(errno))")
            }
        case .some(true): break
        }
        // A directory that is neither empty nor a store is refused before anything is written into it.
        if access(dir + "/" + StoreManifest.fileName, F_OK) != 0 {
            let foreign = try Self.entries(dir).filter { $0 != ".lock" && !$0.hasPrefix(".manifest.tmp") && !($0.hasPrefix("seg-") && $0.contains(".h5")) }
            if !foreign.isEmpty {
                throw LaminaError(.format, "'\(dir)' is a non-empty directory without \(StoreManifest.fileName) (it holds '\(foreign[0])'): not an activation store; refusing to write into it")
            }
        }
        if access(dir, W_OK | X_OK) != 0 {
            throw LaminaError(.io, "the store directory '\(dir)' is not writable: \(AtomicFile.errnoText(errno))")
        }
        let fd = open(dir + "/.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o666)
        if fd < 0 { throw LaminaError(.io, "cannot create '\(dir)/.lock': \(AtomicFile.errnoText(errno))") }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            _ = Glibc.close(fd)
            throw LaminaError(.io, "the store '\(dir)' is open for writing by another writer (its .lock is held); one writer per store at a time")
        }
        lockFD = fd
        do {
            let manifestPath = dir + "/" + StoreManifest.fileName
            if access(manifestPath, F_OK) == 0 {
                manifest = try StoreManifest.read(directory: dir, checkSegments: true)
            } else {
                manifest = StoreManifest()
                try writeManifest(manifest)
            }
            try removeLeftovers()
        } catch {
            _ = Glibc.close(fd)
            lockFD = -1
            throw error
        }
    }

    deinit { if lockFD >= 0 { _ = Glibc.close(lockFD) } }

    package var isOpen: Bool { lockFD >= 0 }

    static func entries(_ dir: String) throws -> [String] {
        guard let d = opendir(dir) else { throw LaminaError(.io, "cannot list '\(dir)': \(AtomicFile.errnoText(errno))") }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Removes segment files the manifest does not list and temporary files of interrupted appends.
    private func removeLeftovers() throws {
        let listed = Set(manifest.segments.map(\.file))
        for name in try Self.entries(directory) where name.hasPrefix(".manifest.tmp") || (name.hasPrefix("seg-") && name.contains(".h5") && !listed.contains(name)) {
            _ = unlink(directory + "/" + name)
        }
    }

    private func fsyncPath(_ path: String, directory isDir: Bool) throws {
        let fd = open(path, (isDir ? O_RDONLY | O_DIRECTORY : O_RDWR) | O_CLOEXEC)
        if fd < 0 { throw LaminaError(.io, "cannot open '\(path)' to sync it: \(AtomicFile.errnoText(errno))") }
        let rc = fsync(fd), err = errno
        _ = Glibc.close(fd)
        if rc != 0 && !(isDir && err == EINVAL) { throw LaminaError(.io, "fsync of '\(path)' failed: \(AtomicFile.errnoText(err))") }
    }

    /// Writes the manifest to a temporary file and renames it over MANIFEST.json (atomic on POSIX).
    private func writeManifest(_ m: StoreManifest) throws {
        let bytes = try m.serialized()
        let tmp = directory + "/.manifest.tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o666)
        if fd < 0 { throw LaminaError(.io, "cannot write '\(tmp)': \(AtomicFile.errnoText(errno))") }
        var ok = false
        defer { if !ok { _ = unlink(tmp) } }
        do {
            defer { _ = Glibc.close(fd) }
            try bytes.withUnsafeBytes { try AtomicFile.writeAll(fd, $0, tmp) }
            if options.durable && fsync(fd) != 0 { throw LaminaError(.io, "fsync of '\(tmp)' failed: \(AtomicFile.errnoText(errno))") }
        }
        if rename(tmp, directory + "/" + StoreManifest.fileName) != 0 {
            throw LaminaError(.io, "cannot replace '\(directory)/\(StoreManifest.fileName)': \(AtomicFile.errnoText(errno))")
        }
        ok = true
        if options.durable { try fsyncPath(directory, directory: true) }
    }

    /// One batch: `rows` rows for each of the store's datasets (row-major, `width` values of `dtype` per
    /// row; 16-bit values as raw bits). The first append fixes the set of datasets, their widths and
    /// dtypes; every later append must give the same set (any order), widths and dtypes.
    package func append(names: [String], widths: [Int], data: [UnsafeRawPointer], dtype: StoreDType, rows: Int) throws {
        guard isOpen else { throw LaminaError.invalid("the store writer is closed") }
        guard rows >= 1 else { throw LaminaError.invalid("n_rows is \(rows); expected >= 1") }
        guard !names.isEmpty, names.count == widths.count, names.count == data.count else {
            throw LaminaError.invalid("n_datasets is \(names.count); expected >= 1 names, widths and data pointers")
        }
        for (i, n) in names.enumerated() {
            try StoreManifest.checkName(n)
            if names[..<i].contains(n) { throw LaminaError.invalid("dataset '\(n)' is given twice in one append") }
            if widths[i] < 1 || widths[i] > 1 << 30 { throw LaminaError.invalid("widths[\(i)] (dataset '\(n)') is \(widths[i]); expected 1 to 2^30") }
            let (b, o) = rows.multipliedReportingOverflow(by: widths[i] * dtype.bytes)
            if o || b > 1 << 40 { throw LaminaError.invalid("dataset '\(n)': \(rows) rows of \(widths[i]) \(dtype.name) values overflow") }
        }
        var schema = manifest.datasets
        if schema.isEmpty {
            schema = zip(names, widths).map { StoreDataset(name: $0, width: $1, dtype: dtype) }
        } else {
            for (i, n) in names.enumerated() {
                guard let d = schema.first(where: { $0.name == n }) else {
                    throw LaminaError.invalid("dataset '\(n)' is not in the store '\(directory)' (its datasets: \(schema.map(\.name).joined(separator: ", "))); every append gives rows for the same datasets")
                }
                if d.width != widths[i] {
                    throw LaminaError.shape("dataset '\(n)' has width \(d.width) in the store '\(directory)'; this append gives width \(widths[i])")
                }
                if d.dtype != dtype {
                    throw LaminaError.invalid("dataset '\(n)' is stored as \(d.dtype.name) in the store '\(directory)'; this append gives \(dtype.name)")
                }
            }
            if let missing = schema.first(where: { !names.contains($0.name) }) {
                throw LaminaError.invalid("this append gives no rows for dataset '\(missing.name)' of the store '\(directory)'; every append gives rows for all its datasets (\(schema.map(\.name).joined(separator: ", ")))")
            }
        }
        let index = manifest.nextSegment
        let file = StoreManifest.segmentName(index)
        let final = directory + "/" + file
        let tmp = final + ".tmp"
        var renamed = false, committed = false
        defer {
            if !committed { _ = unlink(renamed ? final : tmp) }
        }
        try writeSegment(tmp, names: names, widths: widths, data: data, dtype: dtype, rows: rows)
        if options.durable { try fsyncPath(tmp, directory: false) }
        if rename(tmp, final) != 0 { throw LaminaError(.io, "cannot rename '\(tmp)' to '\(final)': \(AtomicFile.errnoText(errno))") }
        renamed = true
        var next = manifest
        next.datasets = schema
        next.segments.append(StoreSegment(file: file, rows: rows))
        next.nextSegment = index + 1
        try writeManifest(next)
        committed = true
        manifest = next
    }

    private func writeSegment(_ path: String, names: [String], widths: [Int], data: [UnsafeRawPointer], dtype: StoreDType, rows: Int) throws {
        try HDF5File.lock.withLock { _ in
            lamina_h5_silence_errors()
            let file = H5Fcreate(path, lamina_h5f_acc_trunc(), lamina_h5p_default(), lamina_h5p_default())
            if file < 0 { throw LaminaError(.io, "cannot create the segment file '\(path)' (disk full or not writable?)") }
            var fileOpen = true
            defer { if fileOpen { H5Fclose(file) } }
            let type: hid_t
            switch dtype {
            case .float16: type = lamina_h5t_float16_le()
            case .bfloat16: type = lamina_h5t_bfloat16_le()
            case .float32: type = H5Tcopy(lamina_h5t_ieee_f32le())
            }
            if type < 0 { throw LaminaError(.internal, "cannot create the HDF5 \(dtype.name) type") }
            defer { H5Tclose(type) }
            for (i, name) in names.enumerated() {
                let width = widths[i]
                var dims: [hsize_t] = [hsize_t(rows), hsize_t(width)]
                let space = H5Screate_simple(2, &dims, nil)
                if space < 0 { throw LaminaError(.internal, "cannot create a dataspace of \(dims)") }
                defer { H5Sclose(space) }
                let dcpl = H5Pcreate(lamina_h5p_dataset_create())
                if dcpl < 0 { throw LaminaError(.internal, "cannot create a dataset property list") }
                defer { H5Pclose(dcpl) }
                let chunkRows = min(rows, options.chunkRows > 0 ? options.chunkRows : Self.autoChunkRows(rows: rows, rowBytes: width * dtype.bytes))
                // A chunk holds < 4 GiB (HDF5's limit): fewer rows for very wide datasets.
                let capped = max(1, min(chunkRows, Int((UInt64(1) << 31) / UInt64(width * dtype.bytes))))
                var chunk: [hsize_t] = [hsize_t(capped), hsize_t(width)]
                if H5Pset_chunk(dcpl, 2, &chunk) < 0 { throw LaminaError(.internal, "cannot set chunk shape \(chunk)") }
                if options.compression > 0 && H5Pset_deflate(dcpl, UInt32(options.compression)) < 0 {
                    throw LaminaError(.internal, "deflate is not available in this libhdf5")
                }
                // Unfiltered: no chunk cache, so that HDF5 writes each full chunk straight from the caller's
                // buffer instead of copying it through the cache first (measured: faster, see bench_store.py).
                let dapl = H5Pcreate(lamina_h5p_dataset_access())
                if dapl < 0 { throw LaminaError(.internal, "cannot create a dataset access property list") }
                defer { H5Pclose(dapl) }
                if options.compression == 0 && H5Pset_chunk_cache(dapl, 0, 0, 1.0) < 0 {
                    throw LaminaError(.internal, "cannot disable the chunk cache")
                }
                let ds = H5Dcreate2(file, name, type, space, lamina_h5p_default(), dcpl, dapl)
                if ds < 0 { throw LaminaError(.io, "cannot create dataset '\(name)' in '\(path)' (disk full?)") }
                defer { H5Dclose(ds) }
                if options.compression == 0 {
                    try Self.writeChunksDirect(ds, data[i], rows: rows, chunkRows: capped, rowBytes: width * dtype.bytes, name, path)
                } else if H5Dwrite(ds, type, lamina_h5s_all(), lamina_h5s_all(), lamina_h5p_default(), data[i]) < 0 {
                    throw LaminaError(.io, "writing dataset '\(name)' to '\(path)' failed (disk full?)")
                }
            }
            fileOpen = false
            if H5Fclose(file) < 0 { throw LaminaError(.io, "closing the segment file '\(path)' failed (disk full?)") }
        }
    }

    /// Rows per chunk when chunk_rows is 0: about 1 MiB per chunk, chosen so that the chunks tile the
    /// segment's rows (HDF5 stores an edge chunk at full size: with 682-row chunks a batch of 8,192 rows
    /// of 768 float16 would store 674 rows of padding, 8% more bytes). Among k = c ... 2c chunks (c the
    /// count at 1 MiB per chunk; at most c + 4096) the first k dividing the rows is taken; else the rows are split evenly
    /// into c chunks (less than one row of padding per chunk).
    static func autoChunkRows(rows: Int, rowBytes: Int) -> Int {
        let target = max(1, (1 << 20) / max(rowBytes, 1))
        if rows <= target { return max(rows, 1) }
        let c = (rows + target - 1) / target
        for k in c...(c + min(c, 4096)) where rows % k == 0 { return rows / k }
        return (rows + c - 1) / c
    }

    /// Unfiltered datasets: every chunk goes to the file with H5Dwrite_chunk straight from the caller's
    /// buffer (a chunk spans full rows, so chunk c is the contiguous bytes of rows [c C, (c + 1) C)),
    /// bypassing HDF5's selection and type-conversion path (measured 1.2-1.5x faster than H5Dwrite for
    /// 1 MiB chunks, benchmarks/README.md). The last chunk, when partial, is padded with zeros to the
    /// full chunk size, as HDF5 stores edge chunks; the file is the same as H5Dwrite would make.
    private static func writeChunksDirect(_ ds: hid_t, _ data: UnsafeRawPointer, rows: Int, chunkRows: Int, rowBytes: Int,
                                          _ name: String, _ path: String) throws {
        let chunkBytes = chunkRows * rowBytes
        var r = 0
        var pad: UnsafeMutablePointer<UInt8>? = nil
        defer { if let pad { Memory.free(pad) } }
        while r < rows {
            let n = min(chunkRows, rows - r)
            var src = data + r * rowBytes
            if n < chunkRows {
                let p: UnsafeMutablePointer<UInt8> = try Memory.allocate(chunkBytes, "the last chunk of dataset '\(name)'")
                pad = p
                p.update(from: src.assumingMemoryBound(to: UInt8.self), count: n * rowBytes)
                (p + n * rowBytes).update(repeating: 0, count: chunkBytes - n * rowBytes)
                src = UnsafeRawPointer(p)
            }
            var offset: [hsize_t] = [hsize_t(r), 0]
            if H5Dwrite_chunk(ds, lamina_h5p_default(), 0, &offset, chunkBytes, src) < 0 {
                throw LaminaError(.io, "writing dataset '\(name)' to '\(path)' failed (disk full?)")
            }
            r += n
        }
    }

    /// Releases the writer's lock; the store stays as the last append left it. Idempotent.
    package func close() {
        if lockFD >= 0 { _ = Glibc.close(lockFD); lockFD = -1 }
    }
}

/// The rows of one dataset of a store, across its segments in append order (a RowSource, so the SAE
/// trainer, its evaluation and encoders read a store like an HDF5 dataset). Reads the manifest once:
/// rows appended later are not seen.
package struct StoreRows: RowSource, Sendable {
    package let directory: String
    package let dataset: String
    package let rows: Int
    package let cols: Int
    package let dtype: StoreDType
    /// segment files and the first row of each (starts.count == files.count + 1).
    let files: [String]
    let starts: [Int]

    /// Whether `path` is a store directory (a directory holding MANIFEST.json).
    package static func isStore(_ path: String) -> Bool {
        StoreManifest.isDirectory(path) == true && access(path + "/" + StoreManifest.fileName, F_OK) == 0
    }

    package init(path: String, dataset: String) throws {
        guard StoreManifest.isDirectory(path) == true else {
            throw LaminaError(.io, "'\(path)' is not a directory; expected an activation store directory")
        }
        let m = try StoreManifest.read(directory: path, checkSegments: true)
        guard let d = m.datasets.first(where: { $0.name == dataset }) else {
            throw LaminaError.invalid("dataset '\(dataset)' not found in the store '\(path)' (its datasets: \(m.datasets.map(\.name).joined(separator: ", ")))")
        }
        if m.rows < 1 { throw LaminaError(.format, "the store '\(path)' holds no rows") }
        directory = path; self.dataset = dataset
        rows = m.rows; cols = d.width; dtype = d.dtype
        files = m.segments.map { path + "/" + $0.file }
        var s = [0]
        for seg in m.segments { s.append(s.last! + seg.rows) }
        starts = s
    }

    /// The segment holding row r (binary search over starts).
    func segment(of r: Int) -> Int {
        var lo = 0, hi = files.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if starts[mid] <= r { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }

    package func read(rows range: Range<Int>, into out: UnsafeMutablePointer<Float>) throws {
        if range.isEmpty { return }
        guard range.lowerBound >= 0, range.upperBound <= rows else {
            throw LaminaError.invalid("rows [\(range.lowerBound), \(range.upperBound)) are out of range for the store dataset '\(dataset)' with \(rows) rows")
        }
        var r = range.lowerBound, i = segment(of: r), o = out
        while r < range.upperBound {
            let end = min(range.upperBound, starts[i + 1])
            try HDF5File.readFloat(path: files[i], dataset: dataset, rowStart: r - starts[i], rowCount: end - r, into: o)
            o += (end - r) * cols
            r = end
            i += 1
        }
    }
}

/// The rows of `dataset` at `path`: a store directory (StoreRows) or an HDF5 file (HDF5Rows). Every
/// path-taking entry point that reads activations goes through this, so each accepts both.
package func activationRows(path: String, dataset: String) throws -> any RowSource {
    StoreRows.isStore(path) ? try StoreRows(path: path, dataset: dataset) : try HDF5Rows(path: path, dataset: dataset)
}

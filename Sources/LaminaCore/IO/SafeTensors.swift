/// The safetensors format of huggingface/safetensors, read and written without Foundation.
///
/// Layout: 8 bytes N (little-endian u64), N bytes of a UTF-8 JSON object header, then the data section.
/// The header maps each tensor name to {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}
/// (offsets relative to the data section, little-endian, C order) and may hold "__metadata__", a map
/// of strings to strings. Validation follows the reference reader (safetensors/src/tensor.rs): header
/// length <= 100,000,000, the tensors sorted by offsets cover the data section contiguously from 0 to
/// its end (no overlap, no hole, no trailing bytes), and end - begin = product(shape) * dtype size
/// (checked for overflow). Everything a corrupt, truncated or malicious file can trigger is a
/// `LaminaError(.format, ...)` naming the tensor or the byte offset.
///
/// The writer produces the reference serializer's bytes: tensors ordered by descending dtype (the
/// Rust enum order, which keeps every tensor aligned to its element size) then by name, the header
/// `{"__metadata__":{...},"name":{"dtype":..,"shape":[..],"data_offsets":[b,e]},...}` in that order
/// and padded with spaces to a multiple of 8 bytes. (The reference orders the metadata entries by a
/// hash map; Lamina writes them in the order given.) Files are written through `AtomicFile`.
package enum SafeTensorsDType: String, Sendable, CaseIterable {
    // In the reference's enum order (the writer sorts by it, descending).
    case BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64

    /// Bytes per element.
    package var size: Int {
        switch self {
        case .BOOL, .U8, .I8, .F8_E5M2, .F8_E4M3: 1
        case .I16, .U16, .F16, .BF16: 2
        case .I32, .U32, .F32: 4
        case .F64, .I64, .U64: 8
        }
    }

    /// Position in the reference's Dtype enum (the canonical writer order is descending rank).
    package var rank: Int { Self.allCases.firstIndex(of: self)! }

    package var isFloatingPoint: Bool { self == .F16 || self == .BF16 || self == .F32 || self == .F64 }
    package var isInteger: Bool {
        switch self {
        case .U8, .I8, .I16, .U16, .I32, .U32, .I64, .U64: true
        default: false
        }
    }
}

/// One tensor to write: name, dtype, shape (C order) and data.
package struct SafeTensor {
    package enum Data {
        /// Raw little-endian bytes, exactly product(shape) * dtype.size of them.
        case bytes([UInt8])
        /// Float values, stored as F32, F64, F16 or BF16 (round to nearest even).
        case floats([Float])
        /// Float values in a caller buffer that stays valid for the duration of the write call
        /// (avoids copying large weight matrices); stored like `.floats`.
        case floatBuffer(UnsafeBufferPointer<Float>)
        /// Integer values, stored as I64 or I32 (range-checked).
        case int64s([Int64])
    }

    package let name: String
    package let dtype: SafeTensorsDType
    package let shape: [Int]
    package let data: Data

    package init(name: String, dtype: SafeTensorsDType, shape: [Int], data: Data) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.data = data
    }

    package init(name: String, shape: [Int], floats: [Float], dtype: SafeTensorsDType = .F32) {
        self.init(name: name, dtype: dtype, shape: shape, data: .floats(floats))
    }

    package init(name: String, shape: [Int], int64s: [Int64], dtype: SafeTensorsDType = .I64) {
        self.init(name: name, dtype: dtype, shape: shape, data: .int64s(int64s))
    }
}

package enum SafeTensors {
    /// The reference reader's header size limit.
    package static let maxHeaderBytes = 100_000_000

    /// Product of `dims` with overflow checks; nil on a negative dimension or overflow.
    static func elementCount(_ dims: [Int]) -> Int? {
        var n = 1
        for d in dims {
            guard d >= 0 else { return nil }
            let (p, o) = n.multipliedReportingOverflow(by: d)
            if o { return nil }
            n = p
        }
        return n
    }

    // MARK: Writing

    /// The complete file content for `tensors` and `metadata` (nil: no "__metadata__" entry).
    /// With `canonicalOrder` (default) tensors are laid out as the reference serializer lays them out
    /// (descending dtype, then name); otherwise in the order given.
    package static func serialize(_ tensors: [SafeTensor], metadata: [(key: String, value: String)]? = nil,
                                 canonicalOrder: Bool = true) throws -> [UInt8] {
        let plan = try prepare(tensors, metadata: metadata, canonicalOrder: canonicalOrder)
        var out: [UInt8] = []
        out.reserveCapacity(8 + plan.header.count + plan.dataBytes)
        out.append(contentsOf: littleEndianBytes(UInt64(plan.header.count)))
        out.append(contentsOf: plan.header)
        for t in plan.order {
            try emit(t) { AtomicFile.append($0, to: &out) }
        }
        return out
    }

    /// Writes `tensors` and `metadata` to `path` atomically (`AtomicFile`): on failure the previous
    /// file at `path` survives and a `LaminaError(.io)` names the path. Arguments are validated
    /// (`.invalidArgument` / `.shapeMismatch`) before the file is touched.
    package static func write(path: String, tensors: [SafeTensor], metadata: [(key: String, value: String)]? = nil,
                             canonicalOrder: Bool = true) throws {
        let plan = try prepare(tensors, metadata: metadata, canonicalOrder: canonicalOrder)
        try AtomicFile.write(path: path) { writer in
            try littleEndianBytes(UInt64(plan.header.count)).withUnsafeBytes { try writer.write($0) }
            try writer.write(plan.header)
            for t in plan.order {
                var failure: Error?
                try emit(t) { chunk in
                    if failure != nil { return }
                    do { try writer.write(chunk) } catch { failure = error }
                }
                if let failure { throw failure }
            }
        }
    }

    private struct Plan {
        var header: [UInt8]
        var order: [SafeTensor]
        var dataBytes: Int
    }

    private static func prepare(_ tensors: [SafeTensor], metadata: [(key: String, value: String)]?,
                                canonicalOrder: Bool) throws -> Plan {
        var names = Set<String>()
        for t in tensors {
            if t.name == "__metadata__" {
                throw LaminaError.invalid("tensor name '__metadata__' is reserved by the safetensors format")
            }
            if !names.insert(t.name).inserted { throw LaminaError.invalid("duplicate tensor name '\(t.name)'") }
            try validate(t)
        }
        let order = canonicalOrder
            ? tensors.sorted { a, b in
                a.dtype.rank != b.dtype.rank ? a.dtype.rank > b.dtype.rank : a.name.utf8.lexicographicallyPrecedes(b.name.utf8)
            }
            : tensors
        var root = JSONObject()
        if let metadata {
            var m = JSONObject()
            for (k, v) in metadata {
                if m[k] != nil { throw LaminaError.invalid("duplicate metadata key '\(k)'") }
                m[k] = .string(v)
            }
            root["__metadata__"] = .object(m)
        }
        var offset = 0
        for t in order {
            let n = elementCount(t.shape)! * t.dtype.size  // validated: no overflow
            let (end, o) = offset.addingReportingOverflow(n)
            if o { throw LaminaError.invalid("total tensor data size overflows") }
            var info = JSONObject()
            info["dtype"] = .string(t.dtype.rawValue)
            info["shape"] = .array(t.shape.map { .int(Int64($0)) })
            info["data_offsets"] = .array([.int(Int64(offset)), .int(Int64(end))])
            root[t.name] = .object(info)
            offset = end
        }
        var header = try JSONValue.object(root).serializedBytes()
        while header.count % 8 != 0 { header.append(0x20) }
        if header.count > maxHeaderBytes {
            throw LaminaError.invalid("the safetensors header would be \(header.count) bytes; the format's limit is \(maxHeaderBytes)")
        }
        return Plan(header: header, order: order, dataBytes: offset)
    }

    private static func validate(_ t: SafeTensor) throws {
        guard let count = elementCount(t.shape) else {
            throw LaminaError.invalid("tensor '\(t.name)': shape \(t.shape) has a negative dimension or too many elements")
        }
        let (bytes, o) = count.multipliedReportingOverflow(by: t.dtype.size)
        if o { throw LaminaError.invalid("tensor '\(t.name)': shape \(t.shape) has too many bytes") }
        switch t.data {
        case .bytes(let b):
            if b.count != bytes {
                throw LaminaError.shape("tensor '\(t.name)': \(b.count) data bytes; shape \(t.shape) of \(t.dtype.rawValue) needs \(bytes)")
            }
        case .floats, .floatBuffer:
            let n: Int
            if case .floats(let a) = t.data { n = a.count } else if case .floatBuffer(let p) = t.data { n = p.count } else { n = 0 }
            guard t.dtype.isFloatingPoint else {
                throw LaminaError.invalid("tensor '\(t.name)': float data cannot be stored as \(t.dtype.rawValue); expected F32, F64, F16 or BF16")
            }
            if n != count {
                throw LaminaError.shape("tensor '\(t.name)': \(n) values; shape \(t.shape) needs \(count)")
            }
        case .int64s(let a):
            guard t.dtype == .I64 || t.dtype == .I32 else {
                throw LaminaError.invalid("tensor '\(t.name)': integer data cannot be stored as \(t.dtype.rawValue); expected I64 or I32")
            }
            if a.count != count {
                throw LaminaError.shape("tensor '\(t.name)': \(a.count) values; shape \(t.shape) needs \(count)")
            }
            if t.dtype == .I32, let bad = a.firstIndex(where: { $0 < Int64(Int32.min) || $0 > Int64(Int32.max) }) {
                throw LaminaError.invalid("tensor '\(t.name)': value \(a[bad]) at index \(bad) does not fit in I32")
            }
        }
    }

    /// Calls `sink` with the little-endian bytes of `t`'s data, in chunks.
    private static func emit(_ t: SafeTensor, _ sink: (UnsafeRawBufferPointer) -> Void) throws {
        switch t.data {
        case .bytes(let b): b.withUnsafeBytes { sink($0) }
        case .floats(let a): a.withUnsafeBufferPointer { emitFloats($0, t.dtype, sink) }
        case .floatBuffer(let p): emitFloats(p, t.dtype, sink)
        case .int64s(let a):
            if t.dtype == .I64 {
                a.withUnsafeBytes { sink($0) }
            } else {
                convertChunked(a.count, as: Int32.self, sink) { i in Int32(truncatingIfNeeded: a[i]) }
            }
        }
    }

    private static func emitFloats(_ p: UnsafeBufferPointer<Float>, _ dtype: SafeTensorsDType,
                                   _ sink: (UnsafeRawBufferPointer) -> Void) {
        switch dtype {
        case .F32: sink(UnsafeRawBufferPointer(p))
        case .F64: convertChunked(p.count, as: Double.self, sink) { Double(p[$0]) }
        case .F16: convertChunked(p.count, as: UInt16.self, sink) { Float16(p[$0]).bitPattern }
        case .BF16: convertChunked(p.count, as: UInt16.self, sink) { bfloat16Bits(p[$0]) }
        default: break  // validated
        }
    }

    private static func convertChunked<T>(_ count: Int, as: T.Type, _ sink: (UnsafeRawBufferPointer) -> Void,
                                          _ convert: (Int) -> T) {
        let chunk = 1 << 16
        let tmp = UnsafeMutableBufferPointer<T>.allocate(capacity: min(max(count, 1), chunk))
        defer { tmp.deallocate() }
        var start = 0
        while start < count {
            let n = min(chunk, count - start)
            for i in 0..<n { tmp[i] = convert(start + i) }
            sink(UnsafeRawBufferPointer(UnsafeMutableBufferPointer(rebasing: tmp[0..<n])))
            start += n
        }
    }

    /// Float -> bfloat16 bits, round to nearest even (as torch converts); NaN stays a quiet NaN.
    static func bfloat16Bits(_ x: Float) -> UInt16 {
        let bits = x.bitPattern
        if x.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040 }
        let rounded = bits &+ 0x7FFF &+ ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: rounded >> 16)
    }

    static func littleEndianBytes(_ v: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) }
    }
}

/// A parsed safetensors file held in memory (see `SafeTensors` for the format and its validation).
package struct SafeTensorsFile: Sendable {
    package struct Entry: Sendable, Equatable {
        package let name: String
        package let dtype: SafeTensorsDType
        package let shape: [Int]
        /// Byte range within the data section.
        package let dataOffsets: Range<Int>
        package var elementCount: Int { SafeTensors.elementCount(shape)! }  // validated at parse time
    }

    /// The tensors in data-section order.
    package let entries: [Entry]
    /// The "__metadata__" entries in header order; nil when the header has none.
    package let metadata: [(key: String, value: String)]?
    /// N, the header length in bytes.
    package let headerLength: Int
    private let bytes: [UInt8]
    private let index: [String: Int]

    /// Tensor names in data-section order.
    package var names: [String] { entries.map(\.name) }

    /// Reads and validates the file at `path` (`.io` if it cannot be read, `.format` if it is not a
    /// valid safetensors file).
    package static func read(path: String, maxBytes: Int = AtomicFile.defaultMaxReadBytes) throws -> SafeTensorsFile {
        let bytes = try AtomicFile.read(path: path, maxBytes: maxBytes)
        do {
            return try SafeTensorsFile(bytes: bytes)
        } catch let e as LaminaError {
            throw LaminaError(e.kind, "'\(path)': \(e.message)")
        }
    }

    /// Parses and validates a whole file's bytes.
    package init(bytes: [UInt8]) throws {
        func bad(_ m: String) -> LaminaError { LaminaError(.format, "not a valid safetensors file: \(m)") }
        guard bytes.count >= 8 else {
            throw bad("\(bytes.count) bytes; the file must start with an 8-byte header length")
        }
        var n64: UInt64 = 0
        for i in 0..<8 { n64 |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard n64 <= UInt64(SafeTensors.maxHeaderBytes) else {
            throw bad("header length \(n64) exceeds the format's limit of \(SafeTensors.maxHeaderBytes) bytes")
        }
        let n = Int(n64)
        guard n <= bytes.count - 8 else {
            throw bad("header length \(n) but only \(bytes.count - 8) bytes follow the length field (truncated file)")
        }
        let root: JSONValue
        do {
            root = try bytes.withUnsafeBufferPointer {
                try JSONValue.parse(UnsafeBufferPointer(rebasing: $0[8..<(8 + n)]), maxDepth: 16, maxBytes: n)
            }
        } catch let e as LaminaError {
            throw bad("header: \(e.message) (offsets within the header, which starts at byte 8)")
        }
        guard case .object(let object) = root else {
            throw bad("the header is a JSON \(root.typeName); expected an object")
        }
        var metadata: [(key: String, value: String)]?
        var entries: [Entry] = []
        for (name, value) in object.entries {
            if name == "__metadata__" {
                switch value {
                case .null: metadata = nil
                case .object(let m):
                    metadata = try m.entries.map { k, v in
                        guard let s = v.stringValue else {
                            throw bad("__metadata__ entry '\(k)' is a \(v.typeName); expected a string")
                        }
                        return (k, s)
                    }
                default: throw bad("__metadata__ is a \(value.typeName); expected an object of strings")
                }
                continue
            }
            entries.append(try Self.parseEntry(name, value, bad))
        }
        // Validate as the reference does: sorted by offsets, contiguous from 0, sizes consistent, and
        // the last end is the end of the file.
        entries.sort { ($0.dataOffsets.lowerBound, $0.dataOffsets.upperBound) < ($1.dataOffsets.lowerBound, $1.dataOffsets.upperBound) }
        var expected = 0
        for e in entries {
            if e.dataOffsets.lowerBound != expected {
                throw bad(e.dataOffsets.lowerBound < expected
                    ? "tensor '\(e.name)' data_offsets [\(e.dataOffsets.lowerBound), \(e.dataOffsets.upperBound)] overlap the previous tensor (which ends at \(expected))"
                    : "tensor '\(e.name)' data_offsets start at \(e.dataOffsets.lowerBound); expected \(expected) (a hole in the data section)")
            }
            guard let count = SafeTensors.elementCount(e.shape) else {
                throw bad("tensor '\(e.name)' shape \(e.shape) overflows")
            }
            let (nbytes, o) = count.multipliedReportingOverflow(by: e.dtype.size)
            if o { throw bad("tensor '\(e.name)' shape \(e.shape) of \(e.dtype.rawValue) overflows") }
            if e.dataOffsets.count != nbytes {
                throw bad("tensor '\(e.name)' spans \(e.dataOffsets.count) bytes but shape \(e.shape) of \(e.dtype.rawValue) needs \(nbytes)")
            }
            expected = e.dataOffsets.upperBound
        }
        let dataSize = bytes.count - 8 - n
        if expected != dataSize {
            throw bad(expected > dataSize
                ? "the tensors need \(expected) data bytes but the file holds \(dataSize) (truncated file)"
                : "the tensors cover \(expected) data bytes but the file holds \(dataSize) (trailing bytes)")
        }
        var index: [String: Int] = [:]
        for (i, e) in entries.enumerated() { index[e.name] = i }
        self.entries = entries
        self.metadata = metadata
        self.headerLength = n
        self.bytes = bytes
        self.index = index
    }

    private static func parseEntry(_ name: String, _ value: JSONValue, _ bad: (String) -> LaminaError) throws -> Entry {
        guard case .object(let info) = value else {
            throw bad("tensor '\(name)' is a \(value.typeName); expected an object with dtype, shape and data_offsets")
        }
        for key in info.keys where key != "dtype" && key != "shape" && key != "data_offsets" {
            throw bad("tensor '\(name)' has an unknown field '\(key)'")
        }
        guard let dtypeName = info["dtype"]?.stringValue else {
            throw bad("tensor '\(name)' has no string field 'dtype'")
        }
        guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
            throw bad("tensor '\(name)' has unsupported dtype '\(dtypeName)'")
        }
        guard let shapeItems = info["shape"]?.arrayValue else {
            throw bad("tensor '\(name)' has no array field 'shape'")
        }
        var shape: [Int] = []
        for s in shapeItems {
            guard case .int(let d) = s, d >= 0 else {
                throw bad("tensor '\(name)' shape has entry \((try? s.serialized()) ?? s.typeName); expected non-negative integers")
            }
            shape.append(Int(d))
        }
        guard let offsets = info["data_offsets"]?.arrayValue, offsets.count == 2,
              case .int(let begin) = offsets[0], case .int(let end) = offsets[1], begin >= 0, end >= 0 else {
            throw bad("tensor '\(name)' data_offsets must be two non-negative integers [begin, end]")
        }
        guard begin <= end else {
            throw bad("tensor '\(name)' data_offsets [\(begin), \(end)] end before they begin")
        }
        return Entry(name: name, dtype: dtype, shape: shape, dataOffsets: Int(begin)..<Int(end))
    }

    // MARK: Access

    package func entry(_ name: String) -> Entry? { index[name].map { entries[$0] } }

    /// The entry for `name`, checked against an expected shape (`.format` if absent or different).
    package func require(_ name: String, shape: [Int]? = nil) throws -> Entry {
        guard let e = entry(name) else {
            throw LaminaError(.format, "safetensors file has no tensor '\(name)' (it holds \(names))")
        }
        if let shape, e.shape != shape {
            throw LaminaError(.format, "tensor '\(name)' has shape \(e.shape); expected \(shape)")
        }
        return e
    }

    /// The metadata value for `key`, if any.
    package func metadataValue(_ key: String) -> String? { metadata?.first { $0.key == key }?.value }

    /// The metadata value for `key`; a format error "'path' is not a <kind> (metadata 'key' is missing)"
    /// when absent (the checkpoint loaders' shared check).
    package func requiredMetadata(_ key: String, path: String, kind: String) throws -> String {
        guard let v = metadataValue(key) else {
            throw LaminaError(.format, "'\(path)' is not a \(kind) (metadata '\(key)' is missing)")
        }
        return v
    }

    /// The raw little-endian bytes of tensor `name`.
    package func rawBytes(_ name: String) throws -> [UInt8] {
        let e = try require(name)
        let start = 8 + headerLength + e.dataOffsets.lowerBound
        return Array(bytes[start..<(start + e.dataOffsets.count)])
    }

    /// Tensor `name` as float32 (F32 copied, F16/BF16 widened exactly, F64 rounded to nearest).
    package func floats(_ name: String) throws -> [Float] {
        let e = try require(name)
        let n = e.elementCount
        return try [Float](unsafeUninitializedCapacity: max(n, 1)) { buf, count in
            try copyFloats(e, into: UnsafeMutableBufferPointer(rebasing: buf[0..<n]))
            count = n
        }
    }

    /// Writes tensor `name` as float32 into `out`, which must hold exactly its element count.
    package func copyFloats(_ name: String, into out: UnsafeMutableBufferPointer<Float>) throws {
        try copyFloats(try require(name), into: out)
    }

    private func copyFloats(_ e: Entry, into out: UnsafeMutableBufferPointer<Float>) throws {
        let n = e.elementCount
        guard out.count == n else {
            throw LaminaError.shape("tensor '\(e.name)' has \(n) elements; the output holds \(out.count)")
        }
        guard e.dtype.isFloatingPoint else {
            throw LaminaError(.format, "tensor '\(e.name)' has dtype \(e.dtype.rawValue); expected a floating-point dtype (F32, F16, BF16 or F64)")
        }
        bytes.withUnsafeBytes { raw in
            let src = raw.baseAddress! + 8 + headerLength + e.dataOffsets.lowerBound
            switch e.dtype {
            case .F32:
                for i in 0..<n { out[i] = Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
            case .F64:
                for i in 0..<n { out[i] = Float(Double(bitPattern: UInt64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
            case .F16:
                for i in 0..<n { out[i] = Float(Float16(bitPattern: UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))) }
            case .BF16:
                for i in 0..<n { out[i] = Float(bitPattern: UInt32(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16) }
            default: break
            }
        }
    }

    /// Tensor `name` as Int64 (any integer dtype; U64 values above Int64.max are a `.format` error).
    package func int64s(_ name: String) throws -> [Int64] {
        let e = try require(name)
        guard e.dtype.isInteger else {
            throw LaminaError(.format, "tensor '\(e.name)' has dtype \(e.dtype.rawValue); expected an integer dtype (I64, I32, ...)")
        }
        let n = e.elementCount
        var out = [Int64](repeating: 0, count: n)
        var overflowAt: Int?
        bytes.withUnsafeBytes { raw in
            let src = raw.baseAddress! + 8 + headerLength + e.dataOffsets.lowerBound
            for i in 0..<n {
                switch e.dtype {
                case .U8: out[i] = Int64(src.load(fromByteOffset: i, as: UInt8.self))
                case .I8: out[i] = Int64(src.load(fromByteOffset: i, as: Int8.self))
                case .I16: out[i] = Int64(Int16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)))
                case .U16: out[i] = Int64(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                case .I32: out[i] = Int64(Int32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
                case .U32: out[i] = Int64(UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                case .I64: out[i] = Int64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))
                case .U64:
                    let v = UInt64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))
                    if v > UInt64(Int64.max) { if overflowAt == nil { overflowAt = i } } else { out[i] = Int64(v) }
                default: break
                }
            }
        }
        if let i = overflowAt {
            throw LaminaError(.format, "tensor '\(e.name)' value at index \(i) exceeds Int64.max")
        }
        return out
    }
}

import CLaminaABI
import LaminaCore

/// Argument checks shared by every entry point. Each names the argument, the value received and what
/// was expected, and runs before any work.
enum Check {
    /// Largest element count accepted for one buffer: keeps every byte offset inside Int.
    static let maxElements = Int.max / 16

    static func pointer<T>(_ p: UnsafePointer<T>?, _ name: String) throws -> UnsafePointer<T> {
        guard let p else { throw LaminaError.invalid("\(name) is NULL; expected a pointer to the data") }
        return p
    }

    static func output<T>(_ p: UnsafeMutablePointer<T>?, _ name: String) throws -> UnsafeMutablePointer<T> {
        guard let p else { throw LaminaError.invalid("\(name) is NULL; expected a pointer to caller-allocated output") }
        return p
    }

    static func count(_ value: Int64, _ name: String, minimum: Int64 = 1) throws -> Int {
        if value < minimum { throw LaminaError.invalid("\(name) is \(value); expected >= \(minimum)") }
        if value > Int64(maxElements) { throw LaminaError.invalid("\(name) is \(value); expected <= \(maxElements)") }
        return Int(value)
    }

    /// n x d product without overflow.
    static func elements(_ n: Int, _ d: Int, _ what: String) throws -> Int {
        let (product, overflow) = n.multipliedReportingOverflow(by: d)
        if overflow || product > maxElements {
            throw LaminaError(.outOfMemory, "\(what) has \(n) x \(d) elements, which overflows; expected n * d <= \(maxElements)")
        }
        return product
    }

    /// A finite row-major float32 (or float64) matrix `name` of n x d.
    /// `expectedCols` (the width a model fixes, and the shape error naming it) is checked before any value is
    /// read: a caller that declared the wrong width gets that error, not a scan past the end of its buffer.
    static func matrix<T: LaminaFloat>(_ x: UnsafePointer<T>?, _ n: Int64, _ d: Int64, _ name: String = "x",
                                       rowsName: String = "n", colsName: String = "d",
                                       expectedCols: (count: Int, mismatch: (Int) -> String)? = nil) throws -> MatrixViewOf<T> {
        let rows = try count(n, rowsName), cols = try count(d, colsName)
        _ = try elements(rows, cols, name)
        if let expectedCols, cols != expectedCols.count { throw LaminaError.shape(expectedCols.mismatch(cols)) }
        let view = MatrixViewOf<T>(base: try pointer(x, name), rows: rows, cols: cols)
        if let bad = view.firstNonFinite() {
            let value = view.base[bad.row * cols + bad.col]
            throw LaminaError(.nonFinite, "\(name) contains \(value) at row \(bad.row), column \(bad.col); expected finite values")
        }
        return view
    }

    static func labels(_ p: UnsafePointer<Int32>?, _ n: Int, _ name: String = "labels") throws -> EncodedLabels {
        EncodedLabels(UnsafeBufferPointer(start: try pointer(p, name), count: n))
    }

    /// Labels that may be empty (n = 0, pointer may then be NULL).
    static func labelsAllowingEmpty(_ p: UnsafePointer<Int32>?, _ n: Int64, _ name: String) throws -> EncodedLabels {
        let count = try count(n, "n", minimum: 0)
        if count == 0 { return EncodedLabels(UnsafeBufferPointer(start: nil, count: 0)) }
        return try labels(p, count, name)
    }

    static func length(_ given: Int64, expected: Int, _ name: String) throws {
        if given != Int64(expected) {
            throw LaminaError.shape("\(name) is \(given); expected \(expected)")
        }
    }

    static func cString(_ p: UnsafePointer<CChar>?, _ name: String) throws -> String {
        guard let p else { throw LaminaError.invalid("\(name) is NULL; expected a NUL-terminated string") }
        return String(cString: p)
    }
}

/// One C enum of the header: each value is a LAMINA_* macro imported from the header (CLaminaABI),
/// paired with the core's case and the name used in messages. The core's own raw values play no part
/// at the boundary, so the header alone fixes the numbers.
struct CEnum<Value: Equatable> {
    let cases: [(code: Int32, value: Value, name: String)]

    init(_ cases: [(Int32, Value, String)]) { self.cases = cases.map { (code: $0.0, value: $0.1, name: $0.2) } }

    /// The core value of a C argument, or LAMINA_ERR_INVALID_ARGUMENT listing the valid values.
    func decode(_ raw: Int32, _ argument: String) throws -> Value {
        if let match = cases.first(where: { $0.code == raw }) { return match.value }
        let options = cases.map { "\($0.code) (\($0.name))" }.joined(separator: ", ")
        throw LaminaError.invalid("\(argument) is \(raw); expected one of \(options)")
    }

    /// The C value of a core value (every case is listed, so the fallback -1, which no enum uses and
    /// every check refuses, is unreachable).
    func code(_ value: Value) -> Int32 { cases.first(where: { $0.value == value })?.code ?? -1 }
}

/// The header's enums, in header order.
enum CEnums {
    static let distance = CEnum<DistanceMetric>([
        (LAMINA_DISTANCE_EUCLIDEAN, .euclidean, "euclidean"), (LAMINA_DISTANCE_SQEUCLIDEAN, .sqeuclidean, "sqeuclidean"),
        (LAMINA_DISTANCE_COSINE, .cosine, "cosine"), (LAMINA_DISTANCE_MANHATTAN, .manhattan, "manhattan"),
        (LAMINA_DISTANCE_CHEBYSHEV, .chebyshev, "chebyshev"), (LAMINA_DISTANCE_CORRELATION, .correlation, "correlation")])
    static let linkage = CEnum<DunnIndex.Linkage>([
        (LAMINA_LINKAGE_SINGLE, .single, "single"), (LAMINA_LINKAGE_COMPLETE, .complete, "complete"),
        (LAMINA_LINKAGE_AVERAGE, .average, "average"), (LAMINA_LINKAGE_CENTROID, .centroid, "centroid")])
    static let diameter = CEnum<DunnIndex.Diameter>([
        (LAMINA_DIAMETER_MAX, .maxPairwise, "max"), (LAMINA_DIAMETER_MEAN_PAIRWISE, .meanPairwise, "mean_pairwise"),
        (LAMINA_DIAMETER_CENTROID, .centroidMean, "centroid")])
    static let xieBeniSeparation = CEnum<XieBeniIndex.Separation>([
        (LAMINA_XIE_BENI_CENTROID, .centroid, "centroid"), (LAMINA_XIE_BENI_POINT_PAIR, .pointPair, "point_pair")])
    static let average = CEnum<ExternalIndices.AverageMethod>([
        (LAMINA_AVERAGE_MIN, .min, "min"), (LAMINA_AVERAGE_GEOMETRIC, .geometric, "geometric"),
        (LAMINA_AVERAGE_ARITHMETIC, .arithmetic, "arithmetic"), (LAMINA_AVERAGE_MAX, .max, "max")])
    static let kmeansInit = CEnum<KMeans.Initialization>([
        (LAMINA_KMEANS_INIT_PLUSPLUS, .kMeansPlusPlus, "k-means++"), (LAMINA_KMEANS_INIT_RANDOM, .random, "random"),
        (LAMINA_KMEANS_INIT_GIVEN, .given, "given")])
    static let structuralKind = CEnum<StructuralProbeKind>([
        (LAMINA_STRUCTURAL_DISTANCE, .distance, "distance"), (LAMINA_STRUCTURAL_DEPTH, .depth, "depth")])
    static let saeArchitecture = CEnum<SAEArchitecture>([
        (LAMINA_SAE_TOPK, .topK, "topk"), (LAMINA_SAE_BATCHTOPK, .batchTopK, "batchtopk"),
        (LAMINA_SAE_RELU, .relu, "relu"), (LAMINA_SAE_JUMPRELU, .jumpReLU, "jumprelu"),
        (LAMINA_SAE_MATRYOSHKA_BATCHTOPK, .matryoshkaBatchTopK, "matryoshka_batchtopk")])
    static let saeDecay = CEnum<SAEDecay>([
        (LAMINA_SAE_DECAY_NONE, .none, "none"), (LAMINA_SAE_DECAY_LINEAR, .linear, "linear"),
        (LAMINA_SAE_DECAY_COSINE, .cosine, "cosine")])
    static let saeBiasInit = CEnum<SAEBiasInit>([
        (LAMINA_SAE_BDEC_MEAN, .mean, "mean"), (LAMINA_SAE_BDEC_GEOMETRIC_MEDIAN, .geometricMedian, "geometric_median"),
        (LAMINA_SAE_BDEC_ZERO, .zero, "zero")])
    static let saeWeightInit = CEnum<SAEWeightInit>([
        (LAMINA_SAE_INIT_AUTO, .auto, "auto"), (LAMINA_SAE_INIT_SPARSIFY, .sparsify, "sparsify"),
        (LAMINA_SAE_INIT_TIED, .tied, "tied")])
    static let saeFormat = CEnum<SAEFormat>([
        (LAMINA_SAE_FORMAT_SAELENS, .saelens, "saelens"), (LAMINA_SAE_FORMAT_SPARSIFY, .sparsify, "sparsify")])
}

extension UnsafeMutablePointer {
    /// Copies an array into the caller's buffer (validated by the caller: non-NULL, room for
    /// `values.count` elements).
    func store(_ values: [Pointee]) {
        values.withUnsafeBufferPointer { if let base = $0.baseAddress { update(from: base, count: $0.count) } }
    }
}

extension Check {
    /// Hands a stored result to the caller: `out_len` (named `lengthName`) must equal its count and
    /// `out` must not be NULL; then copies it.
    static func copyOut<T>(_ values: [T], to out: UnsafeMutablePointer<T>?, length given: Int64, _ lengthName: String,
                           _ outName: String = "out") throws {
        try length(given, expected: values.count, lengthName)
        try output(out, outName).store(values)
    }
}

extension Check {
    /// A named model tensor copied out to the caller (get_tensor): out_len must equal its size.
    static func copyTensor(_ name: String, _ b: FloatBuffer, to out: UnsafeMutablePointer<Float>?, _ outLen: Int64) throws {
        try Check.length(outLen, expected: b.count, "out_len (the size of '\(name)')")
        try Check.output(out, "out").update(from: b.p, count: b.count)
    }

    /// Caller values copied into a named model tensor (set_tensor): len must equal its size and every
    /// value be finite; on an error the tensor is unchanged.
    static func copyTensor(_ name: String, from values: UnsafePointer<Float>?, _ len: Int64, into b: FloatBuffer) throws {
        try Check.length(len, expected: b.count, "len (the size of '\(name)')")
        let view = try Check.matrix(values, 1, Int64(b.count), "values", colsName: "len")
        b.p.update(from: view.base, count: b.count)
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// A sparse autoencoder: parameters and inference (encode, decode, reconstruct, evaluate).
///
///   pre   = W_enc (s x - b_dec) + b_enc            (s = inputScale, 1 unless normalize_input)
///   z     = act(pre)                               (TopK / BatchTopK-as-JumpReLU / ReLU / JumpReLU)
///   x_hat = (W_dec^T z + b_dec) / s
///
/// Storage is row-per-latent: wEnc and wDec are n_latents x d_in (SAELens' W_enc [d_in, d_sae] is
/// the transpose of wEnc; its W_dec [d_sae, d_in] is wDec). Training (SAETrainer) works on the
/// unscaled parameters; `exportedWeights()` folds the input scale back in (W_enc s, b_dec / s,
/// W_dec / s), which gives the same function of raw x.
package final class SparseAutoencoder: @unchecked Sendable {
    package let config: SAEConfig
    package var dIn: Int { config.dIn }
    package var nLatents: Int { config.nLatents }
    package let wEnc: FloatBuffer
    package let bEnc: FloatBuffer
    package let wDec: FloatBuffer
    package let bDec: FloatBuffer
    /// JumpReLU: theta_i = exp(log_theta_i); BatchTopK: the running threshold estimate (one value,
    /// repeated); zero otherwise.
    package let threshold: FloatBuffer
    package var inputScale: Float = 1
    /// Per-row input normalisation of a loaded SAELens model (normalize_activations); undone on the
    /// reconstruction. Trained models have none.
    package var normalization: SAEInputNormalization = .none
    /// sparsify's skip connection W_skip (d_in x d_in, [out, in]): x_hat += W_skip x (raw x). nil = none.
    package var wSkip: FloatBuffer?

    /// The reconstruction depends on the input rows themselves (per-row normalisation or a skip
    /// connection), so it cannot be computed from codes alone, and such a model is not trained.
    package var reconstructionNeedsInput: Bool { normalization != .none || wSkip != nil }
    /// The options of a loaded model that codes alone cannot carry, for error messages.
    package var inputDependentOptions: String {
        var parts: [String] = []
        if normalization != .none { parts.append("normalize_activations = '\(normalization.name)'") }
        if wSkip != nil { parts.append("skip_connection = true") }
        return parts.joined(separator: " and ")
    }

    /// A freshly initialised model (seeded), by `config.weightInit` (resolved for the architecture):
    ///  - sparsify: W_enc rows ~ U(-1/sqrt(d), 1/sqrt(d)) iid (torch nn.Linear's kaiming_uniform(a = sqrt 5));
    ///    W_dec row j = r W_enc,j / (||W_enc,j|| + FLT_EPSILON) (sparsify's set_decoder_norm_to_unit_norm);
    ///  - tied: W_dec rows ~ N(0, I) (Box-Muller) scaled to norm r; W_enc = W_dec^T;
    /// r = 1 for TopK/BatchTopK, 0.1 for ReLU and JumpReLU (SAELens' decoder_init_norm); b_enc = 0,
    /// b_dec = 0 (set from the data when training starts), threshold = jumprelu_init_threshold for JumpReLU.
    package init(_ config: SAEConfig) throws {
        try config.check()
        self.config = config
        let n = config.nLatents, d = config.dIn
        wEnc = try FloatBuffer(checked: n * d, zero: 0, "W_enc (\(n) x \(d))")
        wDec = try FloatBuffer(checked: n * d, zero: 0, "W_dec (\(n) x \(d))")
        bEnc = FloatBuffer(n, zero: 0)
        bDec = FloatBuffer(d, zero: 0)
        threshold = FloatBuffer(n, zero: config.architecture.rule.initialThreshold(config))
        SparseAutoencoder.initialiseWeights(config, wEnc: wEnc.p, wDec: wDec.p)
    }

    /// Fills W_enc and W_dec (n_latents x d_in each) as `init(_:)` documents.
    static func initialiseWeights(_ config: SAEConfig, wEnc: UnsafeMutablePointer<Float>, wDec: UnsafeMutablePointer<Float>) {
        let n = config.nLatents, d = config.dIn
        var rng = Xoshiro256(seed: config.seed)
        let norm = config.architecture.rule.initialDecoderNorm
        switch config.weightInit.resolved(for: config.architecture) {
        case .sparsify:
            let bound = 1 / Double(d).squareRoot()
            for j in 0..<n {
                let we = wEnc + j * d, wd = wDec + j * d
                var ss = 0.0
                for i in 0..<d {
                    let v = Float((2 * rng.nextUnit() - 1) * bound)
                    we[i] = v
                    ss += Double(v) * Double(v)
                }
                let f = Float(norm) / (Float(ss.squareRoot()) + Float.ulpOfOne)
                for i in 0..<d { wd[i] = we[i] * f }
            }
        case .tied, .auto:
            for j in 0..<n {
                let wd = wDec + j * d
                var ss = 0.0
                var i = 0
                while i < d {
                    // Box-Muller pairs from the seeded generator.
                    let u1 = max(rng.nextUnit(), 0x1p-60), u2 = rng.nextUnit()
                    let r = (-2 * log(u1)).squareRoot()
                    let g0 = r * cos(2 * Double.pi * u2), g1 = r * sin(2 * Double.pi * u2)
                    wd[i] = Float(g0); ss += g0 * g0
                    if i + 1 < d { wd[i + 1] = Float(g1); ss += g1 * g1 }
                    i += 2
                }
                let f = Float(norm / max(ss.squareRoot(), 1e-30))
                Vec.scale(wd, f, d)
            }
            wEnc.update(from: wDec, count: n * d)
        }
    }

    /// A model with given parameters (loading). Shapes must match the config.
    package init(_ config: SAEConfig, wEnc: FloatBuffer, bEnc: FloatBuffer, wDec: FloatBuffer, bDec: FloatBuffer,
                threshold: FloatBuffer, inputScale: Float) throws {
        try config.check()
        let n = config.nLatents, d = config.dIn
        if wEnc.count != n * d || wDec.count != n * d || bEnc.count != n || bDec.count != d || threshold.count != n {
            throw LaminaError.shape("SAE parameters do not match d_in = \(d), n_latents = \(n)")
        }
        self.config = config
        self.wEnc = wEnc; self.bEnc = bEnc; self.wDec = wDec; self.bDec = bDec; self.threshold = threshold
        self.inputScale = inputScale
    }

    // MARK: - Inference

    static let chunkRows = 4096

    /// Lower bounds of the inference activation rule (pre > lower_j keeps latent j with z = pre).
    func inferenceLower() -> FloatBuffer {
        let lower = FloatBuffer(nLatents, zero: 0)
        if config.architecture.rule.hasThreshold {
            for j in 0..<nLatents { lower[j] = max(threshold[j], 0) }
        }
        return lower
    }

    /// Encodes rows [0, n) of x (n x d) chunk by chunk; calls `body(rowOffset, codes, xhatOrNil)`.
    /// With `decode`, the reconstruction of the chunk (raw units) is passed too.
    func forEachChunk(_ x: RowSource, decode: Bool, _ body: (Int, SparseCodes, UnsafePointer<Float>, UnsafePointer<Float>?) throws -> Void) throws {
        let d = dIn, n = x.rows
        let chunk = min(SparseAutoencoder.chunkRows, max(n, 1))
        let xs = FloatBuffer(chunk * d, zero: 0), xc = FloatBuffer(chunk * d, zero: 0)
        let xhat = decode ? FloatBuffer(chunk * d, zero: 0) : nil
        let lower = inferenceLower()
        let rule = config.architecture.rule
        let codes = SparseCodes()
        let norm = normalization
        let rowScale = FloatBuffer(norm == .none ? 1 : chunk, zero: 1), rowShift = FloatBuffer(norm == .none ? 1 : chunk, zero: 0)
        var r0 = 0
        while r0 < n {
            let nr = min(chunk, n - r0)
            try x.read(rows: r0..<(r0 + nr), into: xs.p)
            let s = inputScale, bd = bDec.p
            let blocks = (nr + 63) / 64
            Parallel.forEachTask(blocks) { t in
                for r in (t * 64)..<min(nr, t * 64 + 64) {
                    let src = xs.p + r * d, dst = xc.p + r * d
                    if norm != .none {
                        dst.update(from: src, count: d)
                        (rowScale[r], rowShift[r]) = norm.apply(dst, d)
                        for i in 0..<d { dst[i] = dst[i] * s - bd[i] }
                    } else {
                        for i in 0..<d { dst[i] = src[i] * s - bd[i] }
                    }
                }
            }
            rule.encodeInference(self, xc: xc.p, rows: nr, lower: lower.p, into: codes)
            if let xhat {
                SAEDecoderKernel.decode(codes, wDec: wDec.p, bDec: bDec.p, d: d, into: xhat.p)
                if s != 1 { Vec.scale(xhat.p, 1 / s, nr * d) }
                if norm != .none {
                    for r in 0..<nr {
                        let o = xhat.p + r * d, a = rowScale[r], b = rowShift[r]
                        for i in 0..<d { o[i] = o[i] * a + b }
                    }
                }
                if let wSkip {
                    // x_hat += x W_skip^T (sparsify: sae_out += x @ W_skip.mT)
                    Gemm.abT(m: nr, n: d, k: d, a: xs.p, lda: d, b: wSkip.p, ldb: d, beta: 1, c: xhat.p, ldc: d)
                }
            }
            try body(r0, codes, xs.p, xhat.map { UnsafePointer($0.p) })
            r0 += nr
        }
    }

    /// Dense codes: out (n x n_latents) zero except the active latents.
    package func encodeDense(_ x: RowSource, into out: UnsafeMutablePointer<Float>) throws {
        let nl = nLatents
        try forEachChunk(x, decode: false) { r0, codes, _, _ in
            (out + r0 * nl).initialize(repeating: 0, count: codes.rows * nl)
            codes.latent.withUnsafeBufferPointer { lat in
                codes.value.withUnsafeBufferPointer { val in
                    for r in 0..<codes.rows {
                        for e in codes.rowStart[r]..<codes.rowStart[r + 1] where val[e] != 0 {
                            out[(r0 + r) * nl + Int(lat[e])] = val[e]
                        }
                    }
                }
            }
        }
    }

    /// Sparse codes, `width` slots per row sorted by value (descending; ties by lower index); unused
    /// slots get index -1 and value 0. Returns the largest number of active latents in a row.
    @discardableResult
    package func encodeSparse(_ x: RowSource, width: Int, indices: UnsafeMutablePointer<Int32>,
                             values: UnsafeMutablePointer<Float>) throws -> Int {
        var widest = 0
        var entries: [(Float, Int32)] = []  // one row's active codes, reused across rows
        try forEachChunk(x, decode: false) { r0, codes, _, _ in
            codes.latent.withUnsafeBufferPointer { lat in
                codes.value.withUnsafeBufferPointer { val in
                    for r in 0..<codes.rows {
                        entries.removeAll(keepingCapacity: true)
                        for e in codes.rowStart[r]..<codes.rowStart[r + 1] where val[e] != 0 {
                            entries.append((val[e], lat[e]))
                        }
                        entries.sort { $0.0 > $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
                        widest = max(widest, entries.count)
                        let base = (r0 + r) * width
                        for s in 0..<width {
                            if s < entries.count { indices[base + s] = entries[s].1; values[base + s] = entries[s].0 }
                            else { indices[base + s] = -1; values[base + s] = 0 }
                        }
                    }
                }
            }
        }
        return widest
    }

    package func reconstruct(_ x: RowSource, into out: UnsafeMutablePointer<Float>) throws {
        let d = dIn
        try forEachChunk(x, decode: true) { r0, codes, _, xhat in
            (out + r0 * d).update(from: xhat!, count: codes.rows * d)
        }
    }

    /// Refuses decoding from codes alone when the reconstruction needs the input rows.
    package func checkDecodableFromCodes() throws {
        if reconstructionNeedsInput {
            throw LaminaError.invalid("this SAE's reconstruction depends on the input rows (\(inputDependentOptions)), so it cannot be decoded from codes alone; use reconstruct(x)")
        }
    }

    /// x_hat = (W_dec^T z + b_dec) / s for dense codes z (n x n_latents).
    package func decodeDense(_ z: UnsafePointer<Float>, rows n: Int, into out: UnsafeMutablePointer<Float>) throws {
        try checkDecodableFromCodes()
        let d = dIn, nl = nLatents, s = inputScale
        let wd = wDec.p, bd = bDec.p
        Parallel.forEachTask((n + 63) / 64) { t in
            for r in (t * 64)..<min(n, t * 64 + 64) {
                let o = out + r * d
                o.update(from: bd, count: d)
                let zr = z + r * nl
                for j in 0..<nl where zr[j] != 0 { Vec.axpy(zr[j], wd + j * d, o, d) }
                if s != 1 { Vec.scale(o, 1 / s, d) }
            }
        }
    }

    /// The same from sparse codes (n x width indices and values; index -1 or value 0 is skipped).
    package func decodeSparse(indices: UnsafePointer<Int32>, values: UnsafePointer<Float>, rows n: Int, width: Int,
                             into out: UnsafeMutablePointer<Float>) throws {
        try checkDecodableFromCodes()
        let d = dIn, s = inputScale
        let wd = wDec.p, bd = bDec.p
        Parallel.forEachTask((n + 63) / 64) { t in
            for r in (t * 64)..<min(n, t * 64 + 64) {
                let o = out + r * d
                o.update(from: bd, count: d)
                for slot in 0..<width {
                    let j = indices[r * width + slot], v = values[r * width + slot]
                    if j >= 0 && v != 0 { Vec.axpy(v, wd + Int(j) * d, o, d) }
                }
                if s != 1 { Vec.scale(o, 1 / s, d) }
            }
        }
    }

    /// Evaluation metrics on held-out rows (float64 accumulation).
    package struct Metrics: Sendable {
        /// mean over elements of (x_hat - x)^2
        package var mse = 0.0
        /// OpenAI's normalized_mean_squared_error: mean over rows of ||x_hat - x||^2 / ||x||^2
        package var nmse = 0.0
        /// sum ||x_hat - x||^2 / sum ||x - mean(x)||^2 (sparsify's fvu)
        package var fvu = 0.0
        /// SAELens: mean over rows of 1 - ||x - x_hat||^2 / ||x - mean(x)||^2
        package var explainedVariance = 0.0
        /// mean over dimensions j of 1 - var(x_j - x_hat_j) / var(x_j) (sklearn explained_variance_score)
        package var fve = 0.0
        /// mean over rows of cos(x, x_hat) (0 for a zero row)
        package var cosineSimilarity = 0.0
        package var l0 = 0.0
        package var deadFraction = 0.0
        package var firingFrequency: [Double] = []
        /// Matryoshka: sum ||x_hat_g - x||^2 / sum ||x - mean(x)||^2 of each prefix decoder W_dec[:m_g]
        /// (the last is fvu); empty for other architectures.
        package var prefixFVU: [Double] = []
    }

    package func evaluate(_ x: RowSource) throws -> Metrics {
        let d = dIn, n = x.rows, nl = nLatents
        // Pass 1: column means and variances of x (two passes over chunks, float64).
        var mean = [Double](repeating: 0, count: d)
        let chunk = SparseAutoencoder.chunkRows
        let buf = FloatBuffer(min(chunk, n) * d, zero: 0)
        var r0 = 0
        while r0 < n {
            let nr = min(chunk, n - r0)
            try x.read(rows: r0..<(r0 + nr), into: buf.p)
            mean.withUnsafeMutableBufferPointer { m in
                for r in 0..<nr { Reduce.accumulate(buf.p + r * d, into: m.baseAddress!, d) }
            }
            r0 += nr
        }
        for i in 0..<d { mean[i] /= Double(n) }
        var varX = [Double](repeating: 0, count: d)
        var sumE = [Double](repeating: 0, count: d), sumE2 = [Double](repeating: 0, count: d)
        var sse = 0.0, tss = 0.0, ev = 0.0, nmse = 0.0, cos = 0.0, active = 0
        var fired = [Int](repeating: 0, count: nl)
        // Matryoshka prefixes: x_hat_g = x_hat minus the decoded codes of latents >= m_g (mapped to the
        // input's units like x_hat: divided by the input scale, times the row's normalisation scale).
        let widths = config.groupWidths, G = widths.count
        var prefixSSE = [Double](repeating: 0, count: G)
        let delta = FloatBuffer(G > 1 ? d : 0, zero: 0), tmp = FloatBuffer(G > 1 && normalization != .none ? d : 0, zero: 0)
        try forEachChunk(x, decode: true) { _, codes, xs, xhat in
            let xhat = xhat!
            if G > 1 {
                for r in 0..<codes.rows {
                    var rowScale = Float(1)
                    if normalization != .none {
                        tmp.p.update(from: xs + r * d, count: d)
                        rowScale = normalization.apply(tmp.p, d).0
                    }
                    let f = rowScale / inputScale
                    for g in 0..<(G - 1) {
                        delta.p.initialize(repeating: 0, count: d)
                        for e in codes.rowStart[r]..<codes.rowStart[r + 1] where codes.value[e] != 0 && Int(codes.latent[e]) >= widths[g] {
                            Vec.axpy(codes.value[e], wDec.p + Int(codes.latent[e]) * d, delta.p, d)
                        }
                        var s = 0.0
                        let xr = xs + r * d, hr = xhat + r * d
                        for i in 0..<d {
                            let e = Double(xr[i]) - (Double(hr[i]) - Double(delta[i]) * Double(f))
                            s += e * e
                        }
                        prefixSSE[g] += s
                    }
                }
            }
            for r in 0..<codes.rows {
                let xr = xs + r * d, hr = xhat + r * d
                var rss = 0.0, tr = 0.0, xx = 0.0, hh = 0.0, xh = 0.0
                for i in 0..<d {
                    let xv = Double(xr[i]), hv = Double(hr[i])
                    let e = xv - hv, c = xv - mean[i]
                    rss += e * e; tr += c * c; xx += xv * xv; hh += hv * hv; xh += xv * hv
                    varX[i] += c * c; sumE[i] += e; sumE2[i] += e * e
                }
                sse += rss; tss += tr
                ev += 1 - rss / tr
                nmse += rss / xx
                cos += (xx > 0 && hh > 0) ? xh / (xx.squareRoot() * hh.squareRoot()) : 0
                for e in codes.rowStart[r]..<codes.rowStart[r + 1] where codes.value[e] != 0 {
                    active += 1
                    fired[Int(codes.latent[e])] += 1
                }
            }
        }
        var m = Metrics()
        let nd = Double(n)
        m.mse = sse / (nd * Double(d))
        m.nmse = nmse / nd
        m.fvu = sse / tss
        m.explainedVariance = ev / nd
        var fve = 0.0
        for i in 0..<d {
            let vx = varX[i] / nd
            let me = sumE[i] / nd
            let ve = max(sumE2[i] / nd - me * me, 0)
            if vx > 0 { fve += 1 - ve / vx } else { fve += ve == 0 ? 1 : 0 }
        }
        m.fve = fve / Double(d)
        m.cosineSimilarity = cos / nd
        m.l0 = Double(active) / nd
        m.firingFrequency = fired.map { Double($0) / nd }
        m.deadFraction = Double(fired.filter { $0 == 0 }.count) / Double(nl)
        if G > 0 {
            prefixSSE[G - 1] = sse
            m.prefixFVU = prefixSSE.map { $0 / tss }
        }
        return m
    }

    /// Parameters as exported (input scale folded in): W_enc s, b_enc, W_dec / s, b_dec / s, threshold.
    package func exportedWeights() -> (wEnc: FloatBuffer, bEnc: FloatBuffer, wDec: FloatBuffer, bDec: FloatBuffer, threshold: FloatBuffer) {
        let s = inputScale
        let we = wEnc.clone(zero: 0), wd = wDec.clone(zero: 0), bd = bDec.clone(zero: 0)
        if s != 1 {
            Vec.scale(we.p, s, we.count)
            Vec.scale(wd.p, 1 / s, wd.count)
            Vec.scale(bd.p, 1 / s, bd.count)
        }
        return (we, bEnc.clone(zero: 0), wd, bd, threshold.clone(zero: 0))
    }
}

/// Rows of a data set, read by range as float32 (in-memory buffers of float32/float16/bfloat16, or an
/// HDF5 dataset).
package protocol RowSource {
    var rows: Int { get }
    var cols: Int { get }
    func read(rows: Range<Int>, into out: UnsafeMutablePointer<Float>) throws
}

package enum SAEDType: Int32, Sendable {
    case float16 = 0, bfloat16 = 1, float32 = 2
}

/// A caller's row-major buffer of float32, float16 or bfloat16 values (widened on read).
package struct MemoryRows: RowSource, @unchecked Sendable {
    package let base: UnsafeRawPointer
    package let rows: Int
    package let cols: Int
    package let dtype: SAEDType

    package init(base: UnsafeRawPointer, rows: Int, cols: Int, dtype: SAEDType) {
        self.base = base; self.rows = rows; self.cols = cols; self.dtype = dtype
    }

    @inline(__always)
    package func readRow(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        let d = cols
        switch dtype {
        case .float32:
            out.update(from: base.assumingMemoryBound(to: Float.self) + r * d, count: d)
        case .float16:
            let p = base.assumingMemoryBound(to: UInt16.self) + r * d
            for i in 0..<d { out[i] = Float(Float16(bitPattern: p[i])) }
        case .bfloat16:
            let p = base.assumingMemoryBound(to: UInt16.self) + r * d
            for i in 0..<d { out[i] = Float(bitPattern: UInt32(p[i]) << 16) }
        }
    }

    package func read(rows range: Range<Int>, into out: UnsafeMutablePointer<Float>) throws {
        let d = cols, lo = range.lowerBound, n = range.count
        Parallel.forEachTask((n + 255) / 256) { t in
            for r in (t * 256)..<min(n, t * 256 + 256) { readRow(lo + r, into: out + r * d) }
        }
    }

    /// The first non-finite value (row, column), scanning the widened values.
    package func firstNonFinite() -> (row: Int, col: Int)? {
        if dtype == .float32 {
            return MatrixView(base: base.assumingMemoryBound(to: Float.self), rows: rows, cols: cols).firstNonFinite()
        }
        let d = cols
        let hits = Parallel.mapChunks(count: rows, chunk: 4096) { range -> (Int, Int)? in
            let p = base.assumingMemoryBound(to: UInt16.self)
            let expMask: UInt16 = dtype == .float16 ? 0x7C00 : 0x7F80
            for r in range {
                for i in 0..<d where p[r * d + i] & expMask == expMask { return (r, i) }
            }
            return nil
        }
        guard let first = hits.lazy.compactMap({ $0 }).first else { return nil }
        return (first.0, first.1)
    }
}

/// Rows of a rank-2 HDF5 dataset, read by range (row-chunked streaming; HDF5File widens float16 and
/// bfloat16 itself).
package struct HDF5Rows: RowSource, Sendable {
    package let path: String
    package let dataset: String
    package let rows: Int
    package let cols: Int

    package init(path: String, dataset: String) throws {
        let info = try HDF5File.info(path: path, dataset: dataset)
        if info.shape.count != 2 {
            throw LaminaError(.format, "dataset '\(dataset)' has rank \(info.shape.count); expected a rank-2 dataset (rows x features) of activations")
        }
        if case .integer = info.type {
            throw LaminaError(.format, "dataset '\(dataset)' holds \(info.type.name); expected float16, bfloat16, float32 or float64 activations")
        }
        if info.shape[0] < 1 || info.shape[1] < 1 {
            throw LaminaError(.format, "dataset '\(dataset)' has shape (\(info.shape[0]), \(info.shape[1])); expected at least one row and one column")
        }
        self.path = path; self.dataset = dataset
        self.rows = info.shape[0]; self.cols = info.shape[1]
    }

    package func read(rows range: Range<Int>, into out: UnsafeMutablePointer<Float>) throws {
        try HDF5File.readFloat(path: path, dataset: dataset, rowStart: range.lowerBound, rowCount: range.count, into: out)
    }
}


/// SAELens' run-time input normalisations (SAE._setup_activation_normalization), per row x of d values:
///  - constantNormRescale: c = sqrt(d) / ||x||, x' = c x; x_hat = x_hat' / c (a zero row keeps c = 1).
///  - layerNorm: mu = mean(x), sigma = std(x) (unbiased, d - 1; 0 when d = 1), x' = (x - mu) / (sigma + 1e-5);
///    x_hat = x_hat' sigma + mu.
package enum SAEInputNormalization: Int32, Sendable, CaseIterable {
    case none = 0, constantNormRescale = 1, layerNorm = 2

    package var name: String {
        switch self {
        case .none: "none"
        case .constantNormRescale: "constant_norm_rescale"
        case .layerNorm: "layer_norm"
        }
    }

    /// Normalises row `x` (d values) in place; returns (scale, shift) with x_hat = x_hat' * scale + shift.
    @inline(__always)
    func apply(_ x: UnsafeMutablePointer<Float>, _ d: Int) -> (scale: Float, shift: Float) {
        switch self {
        case .none:
            return (1, 0)
        case .constantNormRescale:
            let norm = Vec.sumSquares(x, d).squareRoot()
            if !(norm > 0) { return (1, 0) }
            let c = Float(Double(d).squareRoot() / norm)
            for i in 0..<d { x[i] *= c }
            return (1 / c, 0)
        case .layerNorm:
            var sum = 0.0
            for i in 0..<d { sum += Double(x[i]) }
            let mu = Float(sum / Double(d))
            var ss = 0.0
            for i in 0..<d { let c = Double(x[i] - mu); ss += c * c }
            let sigma = d > 1 ? Float((ss / Double(d - 1)).squareRoot()) : 0
            let denom = sigma + 1e-5
            for i in 0..<d { x[i] = (x[i] - mu) / denom }
            return (sigma, mu)
        }
    }
}

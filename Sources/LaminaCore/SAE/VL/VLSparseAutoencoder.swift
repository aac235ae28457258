#if canImport(Glibc)
import Glibc
#endif

/// VL-SAE (Shen et al., "VL-SAE: Interpreting and Enhancing Vision-Language Alignment with a Unified
/// Concept Set"; authors' code ssfgunner/VL-SAE, cvlms/sae_trainer/sae_model.py): one sparse concept
/// space for two modalities.
///
///   u = x / ||x||                                  (per row, per modality; a zero row is an error)
///   w^_j = W_j / max(||W_j||, 1e-12)               (W: n_latents x d, shared, no bias)
///   s_j = u . w^_j  (one sgemm tile pass);  dist_j = sqrt(max(2 - 2 s_j, 0));  a_j = 2 - dist_j
///   z = a on the k largest a_j of the row (ties: lower latent index), 0 elsewhere
///   x^_m = b_m + z W_dec,m      (one decoder per modality m, each with its bias; W_dec,m is n x d_m)
///   loss = w_v mean((x^_v - x_v)^2) + w_t mean((x^_t - x_t)^2)      (reconstruction of the raw x)
///
/// ||u - w^||^2 = 2 - 2 u.w^ holds for unit vectors; rounding can make it slightly negative, so it is
/// clamped at 0 before the square root. a_j is increasing in s_j, so the top-k of a is the top-k of s:
/// the tile pass selects on s + 1 (> 0 exactly when a > 0, the authors' strict "a > k-th value" rule
/// keeps no zero activation either) and the selected entries' s are recomputed exactly as dots.
/// Widths (the projection rule, VLProjection.swift): without input projections the encoder width is
/// d = d_vision = d_text (unequal widths are refused). With projections (d_common > 0) each modality m
/// has a fixed matrix P_m (d_common x d_m, given or learned by VLAlignment) and the encoder runs on
/// u = normalise(P_m x); each decoder still reconstructs its modality's raw input x (d_m wide).
package enum VLModality: Int32, Sendable, CaseIterable {
    case vision = 0, text = 1
    package var name: String { self == .vision ? "vision" : "text" }
}

package struct VLSAEConfig: Sendable, Equatable {
    package var dVision: Int
    package var dText: Int
    package var nLatents: Int
    package var k: Int
    package var learningRate = 1e-3
    package var batchSize = 512
    package var adam = AdamConfig()
    package var weightVision = 1.0
    package var weightText = 1.0
    package var deadTokens = 10_000_000
    package var warmupSteps = 0
    package var decay: SAEDecay = .none
    package var decaySteps = 0
    package var shuffle = true
    package var seed: UInt64 = 0
    /// The common encoder width when the model has input projections P_vision, P_text (0: none).
    package var dCommon = 0
    /// AuxK on dead latents (as the TopK trainer's): coefficient (0 = off, the default: measured not to
    /// help the VL-SAE, benchmarks/bench_vlsae_defaults.py) and k_aux (0 = d / 2).
    package var auxkAlpha = 0.0
    package var kAux = 0

    package init(dVision: Int, dText: Int, nLatents: Int, k: Int) {
        self.dVision = dVision; self.dText = dText; self.nLatents = nLatents; self.k = k
    }

    /// The encoder width: d_common with input projections, else d_vision (== d_text).
    package var d: Int { dCommon > 0 ? dCommon : dVision }
    package var projected: Bool { dCommon > 0 }

    package func dim(_ m: VLModality) -> Int { m == .vision ? dVision : dText }
    package func weight(_ m: VLModality) -> Double { m == .vision ? weightVision : weightText }
    package var effectiveKAux: Int { kAux > 0 ? kAux : max(1, d / 2) }

    package func check() throws {
        if dVision < 1 || dVision > (1 << 24) { throw LaminaError.invalid("d_vision is \(dVision); expected 1 <= d_vision <= \(1 << 24)") }
        if dText < 1 || dText > (1 << 24) { throw LaminaError.invalid("d_text is \(dText); expected 1 <= d_text <= \(1 << 24)") }
        if dCommon < 0 || dCommon > (1 << 24) { throw LaminaError.invalid("d_common is \(dCommon); expected 0 (no input projections) or 1 <= d_common <= \(1 << 24)") }
        if dCommon == 0 && dVision != dText {
            throw LaminaError.invalid("d_vision is \(dVision) but d_text is \(dText); VL-SAE's shared encoder needs one width: give input projections to a common width d_common (lamina_vlsae_create_projected; Python projections=), learned by the alignment stage or your own")
        }
        if nLatents < 1 || nLatents > (1 << 26) { throw LaminaError.invalid("n_latents is \(nLatents); expected 1 <= n_latents <= \(1 << 26)") }
        if k < 1 || k > nLatents { throw LaminaError.invalid("k is \(k); expected 1 <= k <= n_latents = \(nLatents)") }
        if !(learningRate > 0 && learningRate.isFinite) { throw LaminaError.invalid("lr is \(learningRate); expected a finite value > 0") }
        if batchSize < 1 || batchSize > (1 << 24) { throw LaminaError.invalid("batch_size is \(batchSize); expected 1 <= batch_size <= \(1 << 24)") }
        if let p = adam.problem { throw LaminaError.invalid("adam " + p) }
        if !(weightVision >= 0 && weightVision.isFinite) { throw LaminaError.invalid("weight_vision is \(weightVision); expected a finite value >= 0") }
        if !(weightText >= 0 && weightText.isFinite) { throw LaminaError.invalid("weight_text is \(weightText); expected a finite value >= 0") }
        if !(weightVision + weightText > 0) { throw LaminaError.invalid("weight_vision and weight_text are both 0; expected a positive sum") }
        if deadTokens < 0 { throw LaminaError.invalid("dead_tokens is \(deadTokens); expected >= 0") }
        if warmupSteps < 0 { throw LaminaError.invalid("warmup_steps is \(warmupSteps); expected >= 0") }
        if decaySteps < 0 { throw LaminaError.invalid("decay_steps is \(decaySteps); expected >= 0") }
        if !(auxkAlpha >= 0 && auxkAlpha.isFinite) { throw LaminaError.invalid("auxk_alpha is \(auxkAlpha); expected a finite value >= 0 (0 = off)") }
        if kAux < 0 || kAux > nLatents { throw LaminaError.invalid("k_aux is \(kAux); expected 0 <= k_aux <= n_latents = \(nLatents) (0 = d / 2)") }
    }

    /// The lr multiplier at step t of `total` (the SAE trainer's schedule: linear warm-up, then
    /// linear or cosine decay).
    func lrMultiplier(step t: Int, total: Int) -> Double {
        var c = SAEConfig(dIn: 1, nLatents: 1)
        c.warmupSteps = warmupSteps; c.decay = decay; c.decaySteps = decaySteps
        return c.lrMultiplier(step: t, total: total)
    }
}

package final class VLSparseAutoencoder: @unchecked Sendable {
    package let config: VLSAEConfig
    package var d: Int { config.d }
    package var nLatents: Int { config.nLatents }
    /// Shared encoder W (n_latents x d), decoders W_dec,m (n_latents x d_m, the transpose of torch's
    /// nn.Linear weight) and their biases.
    package let wEnc: FloatBuffer
    package let wDecV, bDecV, wDecT, bDecT: FloatBuffer
    /// Input projections P_vision (d_common x d_vision), P_text (d_common x d_text), fixed (not trained
    /// by the VL-SAE); both nil exactly when config.dCommon == 0.
    package let projV, projT: FloatBuffer?

    /// A seeded model initialised as the authors' torch code: W ~ kaiming_uniform(a = sqrt 5), i.e.
    /// U(-1/sqrt(d), 1/sqrt(d)); decoder weights and biases as nn.Linear(n_latents, d_m):
    /// U(-1/sqrt(n_latents), 1/sqrt(n_latents)). Streams: one xoshiro256** per tensor.
    /// With config.dCommon > 0, `projections` (P_vision, P_text) are required (finite, their documented sizes).
    package init(_ config: VLSAEConfig, projections: (vision: FloatBuffer, text: FloatBuffer)? = nil) throws {
        try config.check()
        let given = try VLSparseAutoencoder.checkProjections(config, projections)
        projV = given.vision; projT = given.text
        self.config = config
        let n = config.nLatents, d = config.d
        wEnc = try FloatBuffer(checked: n * d, zero: 0, "W (\(n) x \(d))")
        wDecV = try FloatBuffer(checked: n * config.dVision, zero: 0, "W_dec_vision (\(n) x \(config.dVision))")
        wDecT = try FloatBuffer(checked: n * config.dText, zero: 0, "W_dec_text (\(n) x \(config.dText))")
        bDecV = FloatBuffer(config.dVision, zero: 0)
        bDecT = FloatBuffer(config.dText, zero: 0)
        func fill(_ b: FloatBuffer, _ bound: Double, _ stream: UInt64) {
            var rng = Xoshiro256(seed: config.seed ^ (stream &* 0x9E37_79B9_7F4A_7C15))
            for i in 0..<b.count { b[i] = Float((2 * rng.nextUnit() - 1) * bound) }
        }
        fill(wEnc, 1 / Double(d).squareRoot(), 1)
        let bd = 1 / Double(n).squareRoot()
        fill(wDecV, bd, 2); fill(bDecV, bd, 3); fill(wDecT, bd, 4); fill(bDecT, bd, 5)
    }

    /// A model with given parameters (loaded); every buffer has its documented size.
    package init(config: VLSAEConfig, wEnc: FloatBuffer, wDecV: FloatBuffer, bDecV: FloatBuffer, wDecT: FloatBuffer, bDecT: FloatBuffer,
                 projV: FloatBuffer? = nil, projT: FloatBuffer? = nil) {
        self.config = config
        self.projV = projV; self.projT = projT
        self.wEnc = wEnc; self.wDecV = wDecV; self.bDecV = bDecV; self.wDecT = wDecT; self.bDecT = bDecT
    }

    package func decoder(_ m: VLModality) -> (w: FloatBuffer, b: FloatBuffer) {
        m == .vision ? (wDecV, bDecV) : (wDecT, bDecT)
    }

    // MARK: - Kernels

    /// w^ = W / max(||W||, 1e-12) per row (F.normalize); returns the norms used.
    static func normaliseRows(_ w: UnsafePointer<Float>, rows: Int, d: Int, into out: UnsafeMutablePointer<Float>,
                              norms: UnsafeMutablePointer<Float>) {
        Parallel.forEachTask((rows + 255) / 256) { t in
            for j in (t * 256)..<min(rows, t * 256 + 256) {
                let nr = max(Vec.sumSquares(w + j * d, d).squareRoot(), 1e-12)
                norms[j] = Float(nr)
                let inv = Float(1 / nr)
                for i in 0..<d { out[j * d + i] = w[j * d + i] * inv }
            }
        }
    }

    /// Normalises the rows of x in place; a zero (or non-finite-norm) row is an error naming it
    /// (`rowOffset` + its index in the batch).
    static func normaliseInput(_ x: UnsafeMutablePointer<Float>, rows: Int, d: Int, rowOffset: Int, _ what: String) throws {
        let bad = Parallel.mapChunks(count: rows, chunk: 256) { range -> Int? in
            for r in range {
                let nr = Vec.sumSquares(x + r * d, d).squareRoot()
                if !(nr > 0 && nr.isFinite) { return r }
                Vec.scale(x + r * d, Float(1 / nr), d)
            }
            return nil
        }
        if let r = bad.lazy.compactMap({ $0 }).first {
            throw LaminaError.invalid("\(what) row \(rowOffset + r) has norm 0; VL-SAE normalises every row to unit length, so a zero row cannot be encoded (drop it)")
        }
    }

    /// Checks that the codes of `rows` rows with k entries each (entries, the selection heaps: ~40 bytes
    /// per entry) can be held, before any Swift array of that size is made.
    static func reserveCodes(rows: Int, k: Int) throws {
        let (entries, o1) = rows.multipliedReportingOverflow(by: k)
        let (bytes, o2) = entries.multipliedReportingOverflow(by: 40)
        if o1 || o2 { throw LaminaError(.outOfMemory, "the codes of \(rows) rows with k = \(k) overflow") }
        try Memory.reserve(bytes, "the codes of \(rows) rows with k = \(k)")
    }

    /// Encodes unit rows u (rows x d) against w^ (unit encoder rows): the k largest activations per row
    /// in `codes` (value = a, pre = dist).
    static func encode(u: UnsafePointer<Float>, rows: Int, d: Int, wHat: UnsafePointer<Float>, ones: UnsafePointer<Float>,
                       nl: Int, k: Int, into codes: SparseCodes) {
        SAEEncoderKernel.run(xc: u, rows: rows, d: d, wEnc: wHat, bEnc: ones, nl: nl,
                             selector: TopKSelector(cap: k), into: codes)
        exactActivations(codes, u: u, d: d, wHat: wHat)
    }

    // MARK: - Inference

    /// Runs `body(row0, codes)` over the rows of x in chunks (rows normalised, codes of the chunk).
    func forEachChunk(_ x: RowSource, _ m: VLModality, _ body: (Int, SparseCodes) throws -> Void) throws {
        let d = self.d, n = x.rows, nl = nLatents, dm = config.dim(m)
        if x.cols != dm { throw LaminaError.shape("x has d = \(x.cols) features; this VL-SAE has d_\(m.name) = \(dm)") }
        let wHat = try FloatBuffer(checked: nl * d, zero: 0, "the normalised encoder (\(nl) x \(d))")
        let norms = FloatBuffer(nl, zero: 0), ones = FloatBuffer(nl, zero: 1)
        VLSparseAutoencoder.normaliseRows(wEnc.p, rows: nl, d: d, into: wHat.p, norms: norms.p)
        let chunk = max(1, min(n, 4096))
        try VLSparseAutoencoder.reserveCodes(rows: chunk, k: config.k)
        let raw = try FloatBuffer(checked: chunk * dm, zero: 0, "an input chunk (\(chunk) x \(dm))")
        let buf = config.projected ? try FloatBuffer(checked: chunk * d, zero: 0, "a projected chunk (\(chunk) x \(d))") : raw
        let codes = SparseCodes()
        var r0 = 0
        while r0 < n {
            let rows = min(chunk, n - r0)
            try x.read(rows: r0..<(r0 + rows), into: raw.p)
            projectInput(raw.p, rows: rows, m, into: buf.p)
            try VLSparseAutoencoder.normaliseInput(buf.p, rows: rows, d: d, rowOffset: r0, config.projected ? "x (after the \(m.name) projection)" : "x")
            VLSparseAutoencoder.encode(u: buf.p, rows: rows, d: d, wHat: wHat.p, ones: ones.p, nl: nl, k: config.k, into: codes)
            try body(r0, codes)
            r0 += rows
        }
    }

    /// Dense codes (n x n_latents).
    package func encodeDense(_ x: RowSource, modality m: VLModality, into out: UnsafeMutablePointer<Float>) throws {
        let nl = nLatents
        try forEachChunk(x, m) { r0, codes in
            (out + r0 * nl).initialize(repeating: 0, count: codes.rows * nl)
            for r in 0..<codes.rows {
                for e in codes.rowStart[r]..<codes.rowStart[r + 1] { out[(r0 + r) * nl + Int(codes.latent[e])] = codes.value[e] }
            }
        }
    }

    /// Sparse codes: per row `width` (latent, value) pairs by decreasing value; unused slots -1 / 0.
    package func encodeSparse(_ x: RowSource, modality m: VLModality, width: Int, indices: UnsafeMutablePointer<Int32>,
                              values: UnsafeMutablePointer<Float>) throws {
        try forEachChunk(x, m) { r0, codes in
            for r in 0..<codes.rows {
                let o = (r0 + r) * width
                (indices + o).initialize(repeating: -1, count: width)
                (values + o).initialize(repeating: 0, count: width)
                var entries = (codes.rowStart[r]..<codes.rowStart[r + 1]).map { (codes.latent[$0], codes.value[$0]) }
                entries.sort { $0.1 > $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }
                for (s, (j, v)) in entries.prefix(width).enumerated() { indices[o + s] = j; values[o + s] = v }
            }
        }
    }

    /// x^ = b_m + z W_dec,m for dense codes z (n x n_latents), into out (n x d_m).
    package func decodeDense(_ z: UnsafePointer<Float>, rows n: Int, modality m: VLModality, into out: UnsafeMutablePointer<Float>) {
        let (w, b) = decoder(m)
        let dm = config.dim(m), nl = nLatents
        Parallel.forEachTask((n + 63) / 64) { t in
            for r in (t * 64)..<min(n, t * 64 + 64) {
                let o = out + r * dm
                o.update(from: b.p, count: dm)
                for j in 0..<nl where z[r * nl + j] != 0 { Vec.axpy(z[r * nl + j], w.p + j * dm, o, dm) }
            }
        }
    }

    /// x^ = b_m + sum_s values[s] W_dec,m[indices[s]] per row (index -1 = unused slot).
    package func decodeSparse(indices: UnsafePointer<Int32>, values: UnsafePointer<Float>, rows n: Int, width: Int,
                              modality m: VLModality, into out: UnsafeMutablePointer<Float>) {
        let (w, b) = decoder(m)
        let dm = config.dim(m)
        Parallel.forEachTask((n + 63) / 64) { t in
            for r in (t * 64)..<min(n, t * 64 + 64) {
                let o = out + r * dm
                o.update(from: b.p, count: dm)
                for s in 0..<width where indices[r * width + s] >= 0 && values[r * width + s] != 0 {
                    Vec.axpy(values[r * width + s], w.p + Int(indices[r * width + s]) * dm, o, dm)
                }
            }
        }
    }
    // MARK: - Enhancement

    /// The paper's concept-level shift of text hidden states towards their paired images:
    /// z' = (1 - beta) enc_text(t) + beta enc_vision(v), t~ = decode_text(z'), t_new = t + alpha (t~ - t),
    /// row by row (n x d_text into out). Rows are processed in chunks of 1024 (dense codes per chunk).
    package func conceptShift(vision: MemoryRows, text: MemoryRows, alpha: Double, beta: Double,
                              into out: UnsafeMutablePointer<Float>) throws {
        let n = vision.rows, nl = nLatents, dv = config.dVision, dt = config.dText
        if text.rows != n { throw LaminaError.shape("vision has \(n) rows but text has \(text.rows); expected paired rows") }
        try VLSAETrainer.validate(vision, .vision)
        try VLSAETrainer.validate(text, .text)
        try validateProjected(vision, .vision)
        try validateProjected(text, .text)
        let chunk = max(1, min(n, 1024))
        let zv = try FloatBuffer(checked: chunk * nl, zero: 0, "vision codes of a chunk")
        let zt = try FloatBuffer(checked: chunk * nl, zero: 0, "text codes of a chunk")
        let rec = try FloatBuffer(checked: chunk * dt, zero: 0, "shifted text of a chunk")
        let vb = vision.base.assumingMemoryBound(to: Float.self), tb = text.base.assumingMemoryBound(to: Float.self)
        let a = Float(alpha), b = Float(beta)
        var r0 = 0
        while r0 < n {
            let rows = min(chunk, n - r0)
            try encodeDense(MemoryRows(base: UnsafeRawPointer(vb + r0 * dv), rows: rows, cols: dv, dtype: .float32), modality: .vision, into: zv.p)
            try encodeDense(MemoryRows(base: UnsafeRawPointer(tb + r0 * dt), rows: rows, cols: dt, dtype: .float32), modality: .text, into: zt.p)
            for i in 0..<(rows * nl) { zt[i] = (1 - b) * zt[i] + b * zv[i] }
            decodeDense(zt.p, rows: rows, modality: .text, into: rec.p)
            for i in 0..<(rows * dt) {
                let t = tb[r0 * dt + i]
                out[r0 * dt + i] = t + a * (rec[i] - t)
            }
            r0 += rows
        }
    }
}

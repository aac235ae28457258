import LaminaCore
import CLaminaABI

/// One SAE handle: the model and its trainer (optimizer state, data position, history).
final class SAEHandle {
    var trainer: SAETrainer
    var model: SparseAutoencoder { trainer.model }

    init(_ model: SparseAutoencoder) { trainer = SAETrainer(model: model) }
    init(trainer: SAETrainer) { self.trainer = trainer }
}

let saeHandles = HandleTable<SAEHandle>("lamina_sae")

func saeConfig(_ p: UnsafePointer<lamina_sae_params>?) throws -> SAEConfig {
    let raw = try Check.pointer(p, "params").pointee
    if raw.d_in < 1 || raw.d_in > Int64(1 << 24) { throw LaminaError.invalid("params.d_in is \(raw.d_in); expected 1 <= d_in <= \(1 << 24)") }
    if raw.n_latents < 1 || raw.n_latents > Int64(1 << 26) {
        throw LaminaError.invalid("params.n_latents is \(raw.n_latents); expected 1 <= n_latents <= \(1 << 26)")
    }
    var c = SAEConfig(dIn: Int(raw.d_in), nLatents: Int(raw.n_latents))
    c.architecture = try CEnums.saeArchitecture.decode(raw.architecture, "params.architecture")
    c.k = Int(raw.k)
    c.learningRate = raw.lr
    c.batchSize = Int(raw.batch_size)
    c.adam = AdamConfig(beta1: Float(raw.adam_beta1), beta2: Float(raw.adam_beta2), epsilon: Float(raw.adam_eps))
    if !(raw.adam_beta1 >= 0 && raw.adam_beta1 < 1) { throw LaminaError.invalid("params.adam_beta1 is \(raw.adam_beta1); expected 0 <= beta1 < 1") }
    if !(raw.adam_beta2 >= 0 && raw.adam_beta2 < 1) { throw LaminaError.invalid("params.adam_beta2 is \(raw.adam_beta2); expected 0 <= beta2 < 1") }
    if !(raw.adam_eps > 0 && raw.adam_eps.isFinite && Float(raw.adam_eps) > 0) {
        throw LaminaError.invalid("params.adam_eps is \(raw.adam_eps); expected a finite value > 0")
    }
    c.auxkAlpha = raw.auxk_alpha
    c.kAux = Int(raw.k_aux)
    if raw.dead_tokens < 0 { throw LaminaError.invalid("params.dead_tokens is \(raw.dead_tokens); expected >= 0") }
    c.deadTokens = Int(raw.dead_tokens)
    c.l1Coefficient = raw.l1_coefficient
    c.l1WarmupSteps = Int(raw.l1_warmup_steps)
    c.jumpReLUInitThreshold = raw.jumprelu_init_threshold
    c.jumpReLUBandwidth = raw.jumprelu_bandwidth
    c.thresholdRate = raw.threshold_rate
    c.warmupSteps = Int(raw.warmup_steps)
    c.decay = try CEnums.saeDecay.decode(raw.decay, "params.decay")
    c.decaySteps = Int(raw.decay_steps)
    c.gradClip = raw.grad_clip
    c.bDecInit = try CEnums.saeBiasInit.decode(raw.b_dec_init, "params.b_dec_init")
    c.weightInit = try CEnums.saeWeightInit.decode(raw.`init`, "params.init")
    if raw.normalize_input != 0 && raw.normalize_input != 1 {
        throw LaminaError.invalid("params.normalize_input is \(raw.normalize_input); expected 0 or 1")
    }
    c.normalizeInput = raw.normalize_input == 1
    c.seed = raw.seed
    try saeGroups(raw, into: &c)
    do { try c.check() } catch let e as LaminaError { throw LaminaError(e.kind, "params." + e.message) }
    return c
}

func saeParams(_ c: SAEConfig) -> lamina_sae_params {
    var p = lamina_sae_params(d_in: Int64(c.dIn), n_latents: Int64(c.nLatents), architecture: CEnums.saeArchitecture.code(c.architecture),
                      k: Int32(clamping: c.k), lr: c.learningRate, batch_size: Int32(clamping: c.batchSize),
                      adam_beta1: Double(c.adam.beta1), adam_beta2: Double(c.adam.beta2), adam_eps: Double(c.adam.epsilon),
                      auxk_alpha: c.auxkAlpha, k_aux: Int32(clamping: c.kAux), dead_tokens: Int64(c.deadTokens),
                      l1_coefficient: c.l1Coefficient, l1_warmup_steps: Int32(clamping: c.l1WarmupSteps),
                      jumprelu_init_threshold: c.jumpReLUInitThreshold, jumprelu_bandwidth: c.jumpReLUBandwidth,
                      threshold_rate: c.thresholdRate, warmup_steps: Int32(clamping: c.warmupSteps), decay: CEnums.saeDecay.code(c.decay),
                      decay_steps: Int32(clamping: c.decaySteps), grad_clip: c.gradClip, b_dec_init: CEnums.saeBiasInit.code(c.bDecInit),
                      init: CEnums.saeWeightInit.code(c.weightInit),
                      normalize_input: c.normalizeInput ? 1 : 0, seed: c.seed,
                      n_groups: 0, group_widths: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), group_weights: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
    p.n_groups = Int32(c.groupWidths.count)
    withUnsafeMutableBytes(of: &p.group_widths) { raw in
        let w = raw.bindMemory(to: Int64.self)
        for (g, m) in c.groupWidths.enumerated() { w[g] = Int64(m) }
    }
    withUnsafeMutableBytes(of: &p.group_weights) { raw in
        let w = raw.bindMemory(to: Double.self)
        for (g, v) in c.groupWeights.enumerated() { w[g] = v }
    }
    return p
}

/// The Matryoshka fields of params (n_groups, group_widths, group_weights): checked for range here, the
/// widths and weights themselves by SAEConfig.checkGroups. All G weights 0 = every weight 1.
func saeGroups(_ raw: lamina_sae_params, into c: inout SAEConfig) throws {
    let maxG = Int(LAMINA_SAE_MAX_GROUPS)
    let n = Int(raw.n_groups)
    if n < 0 || n > maxG { throw LaminaError.invalid("params.n_groups is \(raw.n_groups); expected 0..\(maxG)") }
    var widths: [Int64] = [], weights: [Double] = []
    withUnsafeBytes(of: raw.group_widths) { widths = Array($0.bindMemory(to: Int64.self)) }
    withUnsafeBytes(of: raw.group_weights) { weights = Array($0.bindMemory(to: Double.self)) }
    for g in n..<maxG where widths[g] != 0 || weights[g] != 0 {
        throw LaminaError.invalid("params.group_widths[\(g)] = \(widths[g]), group_weights[\(g)] = \(weights[g]) are set beyond n_groups = \(n); expected 0")
    }
    for g in 0..<n where widths[g] < 1 || widths[g] > Int64(1 << 26) {
        throw LaminaError.invalid("params.group_widths[\(g)] is \(widths[g]); expected 1 <= width <= n_latents (\(c.nLatents))")
    }
    c.groupWidths = widths[0..<n].map { Int($0) }
    let w = Array(weights[0..<n])
    c.groupWeights = w.allSatisfy({ $0 == 0 }) ? [] : w
}

@_cdecl("lamina_sae_default_params")
public func lamina_sae_default_params() -> lamina_sae_params {
    var c = SAEConfig(dIn: 768, nLatents: 16384)
    c.adam = AdamConfig(beta1: 0.9, beta2: 0.999, epsilon: 1e-8)
    var p = saeParams(c)
    p.adam_eps = 1e-8
    p.auxk_alpha = 1.0 / 32
    return p
}

@_cdecl("lamina_sae_check_params")
public func lamina_sae_check_params(_ params: UnsafePointer<lamina_sae_params>?) -> Int32 {
    boundary { _ = try saeConfig(params) }
}

@_cdecl("lamina_sae_create")
public func lamina_sae_create(_ params: UnsafePointer<lamina_sae_params>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    saeHandles.create(out) { SAEHandle(try SparseAutoencoder(try saeConfig(params))) }
}

@_cdecl("lamina_sae_free")
public func lamina_sae_free(_ sae: OpaquePointer?) {
    saeHandles.remove(sae)
}

@_cdecl("lamina_sae_get_params")
public func lamina_sae_get_params(_ sae: OpaquePointer?, _ out: UnsafeMutablePointer<lamina_sae_params>?) -> Int32 {
    boundary {
        let h = try saeHandles.get(sae, "sae")
        try Check.output(out, "out").pointee = saeParams(h.model.config)
    }
}

private func epochsArgument(_ epochs: Int32) throws -> Int {
    if epochs < 1 { throw LaminaError.invalid("epochs is \(epochs); expected >= 1") }
    return Int(epochs)
}

/// The element type of an SAE input buffer (lamina_sae_train, the latent statistics, the VL-SAE): one
/// check and one message for every entry point that takes rows of float16, bfloat16 or float32.
func saeInputDType(_ dtype: Int32) throws -> SAEDType {
    switch dtype {
    case LAMINA_DTYPE_FLOAT16: return .float16
    case LAMINA_DTYPE_BFLOAT16: return .bfloat16
    case LAMINA_DTYPE_FLOAT32: return .float32
    default:
        throw LaminaError.invalid("dtype is \(dtype); expected LAMINA_DTYPE_FLOAT16 (\(LAMINA_DTYPE_FLOAT16)), LAMINA_DTYPE_BFLOAT16 (\(LAMINA_DTYPE_BFLOAT16)) or LAMINA_DTYPE_FLOAT32 (\(LAMINA_DTYPE_FLOAT32))")
    }
}

@_cdecl("lamina_sae_train")
public func lamina_sae_train(_ sae: OpaquePointer?, _ x: UnsafeRawPointer?, _ dtype: Int32, _ n: Int64, _ d: Int64,
                             _ epochs: Int32, _ progress: lamina_progress_fn?, _ user: UnsafeMutableRawPointer?) -> Int32 {
    boundary {
        let h = try saeHandles.get(sae, "sae")
        let type = try saeInputDType(dtype)
        let rows = try Check.count(n, "n"), cols = try Check.count(d, "d")
        _ = try Check.elements(rows, cols, "x")
        guard let x else { throw LaminaError.invalid("x is NULL; expected a pointer to the data") }
        if cols != h.model.dIn { throw LaminaError.shape("x has d = \(cols) features; this SAE has d_in = \(h.model.dIn)") }
        let count = try epochsArgument(epochs)
        let data = SAETrainingData(source: MemoryRows(base: x, rows: rows, cols: cols, dtype: type), streaming: false,
                                   batchSize: h.model.config.batchSize, seed: h.model.config.seed)
        try h.trainer.train(data, epochs: count, progress: progressHandler(progress, user))
    }
}

@_cdecl("lamina_sae_train_h5")
public func lamina_sae_train_h5(_ sae: OpaquePointer?, _ path: UnsafePointer<CChar>?, _ dataset: UnsafePointer<CChar>?,
                                _ epochs: Int32, _ progress: lamina_progress_fn?, _ user: UnsafeMutableRawPointer?) -> Int32 {
    boundary {
        let h = try saeHandles.get(sae, "sae")
        let file = try Check.cString(path, "path"), name = try Check.cString(dataset, "dataset")
        let count = try epochsArgument(epochs)
        let source = try activationRows(path: file, dataset: name)  // an HDF5 file or an activation store
        if source.cols != h.model.dIn {
            throw LaminaError.shape("dataset '\(name)' has \(source.cols) features; this SAE has d_in = \(h.model.dIn)")
        }
        let data = SAETrainingData(source: source, streaming: true, batchSize: h.model.config.batchSize, seed: h.model.config.seed)
        try h.trainer.train(data, epochs: count, progress: progressHandler(progress, user))
    }
}

@_cdecl("lamina_sae_get_state")
public func lamina_sae_get_state(_ sae: OpaquePointer?, _ steps: UnsafeMutablePointer<Int64>?, _ tokens: UnsafeMutablePointer<Int64>?,
                                 _ epoch: UnsafeMutablePointer<Int64>?, _ batchInEpoch: UnsafeMutablePointer<Int64>?,
                                 _ inputScale: UnsafeMutablePointer<Float>?) -> Int32 {
    boundary {
        let h = try saeHandles.get(sae, "sae")
        steps?.pointee = Int64(h.trainer.stepsDone)
        tokens?.pointee = Int64(h.trainer.tokensSeen)
        epoch?.pointee = Int64(h.trainer.epoch)
        batchInEpoch?.pointee = Int64(h.trainer.batchInEpoch)
        inputScale?.pointee = h.model.inputScale
    }
}

@_cdecl("lamina_sae_get_history")
public func lamina_sae_get_history(_ sae: OpaquePointer?, _ out: UnsafeMutablePointer<Double>?, _ outLen: Int64) -> Int32 {
    boundary {
        let h = try saeHandles.get(sae, "sae")
        let rows = h.trainer.history
        try Check.length(outLen, expected: rows.count * 8, "out_len (steps * 8)")
        if rows.isEmpty { return }
        let dst = try Check.output(out, "out")
        for (i, r) in rows.enumerated() {
            let v = [r.loss, r.fvu, r.auxk, r.mse, r.sparsity, r.l0, r.deadFraction, r.lr]
            for c in 0..<8 { dst[i * 8 + c] = v[c] }
        }
    }
}

private func input(_ h: SAEHandle, _ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64) throws -> MemoryRows {
    let view = try Check.matrix(x, n, d, expectedCols: (h.model.dIn, { "x has d = \($0) features; this SAE has d_in = \(h.model.dIn)" }))
    return MemoryRows(base: UnsafeRawPointer(view.base), rows: view.rows, cols: view.cols, dtype: .float32)
}

@_cdecl("lamina_sae_encode")
public func lamina_sae_encode(_ sae: OpaquePointer?, _ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64,
                              _ out: UnsafeMutablePointer<Float>?, _ outLen: Int64) -> Int32 {
    boundary {
        let h = try saeHandles.get(sae, "sae")
        let rows = try input(h, x, n, d)
        try Check.length(outLen, expected: try Check.elements(rows.rows, h.model.nLatents, "out"), "out_len (n * n_latents)")
        try h.model.encodeDense(rows, into: try Check.output(out, "out"))
    }
}

@_cdecl("lamina_sae_encode_sparse")
public func lamina_sae_encode_sparse(_ sae: OpaquePointer?, _ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64, _ width: Int32,
                                     _ indices: UnsafeMutablePointer<Int32>?, _ values: UnsafeMutablePointer<Float>?,
                                     _ maxActive: UnsafeMutablePointer<Int32>?) -> Int32 {
    boundary {
        let h = try saeHandles.get(sae, "sae")
        let rows = try input(h, x, n, d)
        if width < 1 { throw LaminaError.invalid("width is \(width); expected >= 1") }
        _ = try Check.elements(rows.rows, Int(width), "indices")
        let idx = try Check.output(indices, "indices"), val = try Check.output(values, "values")
        let widest = try h.model.encodeSparse(rows, width: Int(width), indices: idx, values: val)
        maxActive?.pointee = Int32(clamping: widest)
    }
}

@_cdecl("lamina_sae_decode")
public func lamina_sae_decode(_ sae: OpaquePointer?, _ z: UnsafePointer<Float>?, _ n: Int64, _ nLatents: Int64,
                              _ out: UnsafeMutablePointer<Float>?, _ outLen: Int64) -> Int32 {
    boundary {
        let h = try saeHandles.get(sae, "sae")
        let view = try Check.matrix(z, n, nLatents, "z", colsName: "n_latents",
                                    expectedCols: (h.model.nLatents, { "z has \($0) columns; this SAE has n_latents = \(h.model.nLatents)" }))
        try Check.length(outLen, expected: try Check.elements(view.rows, h.model.dIn, "out"), "out_len (n * d_in)")
        try h.model.decodeDense(view.base, rows: view.rows, into: try Check.output(out, "out"))
    }
}

@_cdecl("lamina_sae_decode_sparse")
public func lamina_sae_decode_sparse(_ sae: OpaquePointer?, _ indices: UnsafePointer<Int32>?, _ values: UnsafePointer<Float>?,
                                     _ n: Int64, _ width: Int32, _ out: UnsafeMutablePointer<Float>?, _ outLen: Int64) -> Int32 {
    boundary {
        let h = try saeHandles.get(sae, "sae")
        let vals = try Check.matrix(values, n, Int64(width), "values", colsName: "width")
        let idx = try Check.pointer(indices, "indices")
        let nl = Int32(h.model.nLatents)
        for i in 0..<(vals.rows * vals.cols) where idx[i] < -1 || idx[i] >= nl {
            throw LaminaError.invalid("indices contains \(idx[i]) at row \(i / vals.cols), slot \(i % vals.cols); expected -1 or 0 <= index < n_latents (\(nl))")
        }
        try Check.length(outLen, expected: try Check.elements(vals.rows, h.model.dIn, "out"), "out_len (n * d_in)")
        try h.model.decodeSparse(indices: idx, values: vals.base, rows: vals.rows, width: vals.cols, into: try Check.output(out, "out"))
    }
}

@_cdecl("lamina_sae_reconstruct")
public func lamina_sae_reconstruct(_ sae: OpaquePointer?, _ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64,
                                   _ out: UnsafeMutablePointer<Float>?, _ outLen: Int64) -> Int32 {
    boundary {
        let h = try saeHandles.get(sae, "sae")
        let rows = try input(h, x, n, d)
        try Check.length(outLen, expected: rows.rows * rows.cols, "out_len (n * d_in)")
        try h.model.reconstruct(rows, into: try Check.output(out, "out"))
    }
}

@_cdecl("lamina_sae_evaluate")
public func lamina_sae_evaluate(_ sae: OpaquePointer?, _ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64,
                                _ out: UnsafeMutablePointer<lamina_sae_metrics>?, _ firing: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let h = try saeHandles.get(sae, "sae")
        let rows = try input(h, x, n, d)
        let dst = try Check.output(out, "out")
        let m = try h.model.evaluate(rows)
        var r = lamina_sae_metrics()
        r.mse = m.mse; r.nmse = m.nmse; r.fvu = m.fvu; r.explained_variance = m.explainedVariance
        r.fve = m.fve; r.cosine_similarity = m.cosineSimilarity; r.l0 = m.l0; r.dead_fraction = m.deadFraction
        r.n_prefixes = Int32(m.prefixFVU.count)
        withUnsafeMutableBytes(of: &r.prefix_fvu) { raw in
            let f = raw.bindMemory(to: Double.self)
            for (g, v) in m.prefixFVU.enumerated() { f[g] = v }
        }
        dst.pointee = r
        if let firing { firing.store(m.firingFrequency) }
    }
}

@_cdecl("lamina_sae_get_weights")
public func lamina_sae_get_weights(_ sae: OpaquePointer?, _ wEnc: UnsafeMutablePointer<Float>?, _ bEnc: UnsafeMutablePointer<Float>?,
                                   _ wDec: UnsafeMutablePointer<Float>?, _ bDec: UnsafeMutablePointer<Float>?,
                                   _ threshold: UnsafeMutablePointer<Float>?) -> Int32 {
    boundary {
        let h = try saeHandles.get(sae, "sae")
        let w = h.model.exportedWeights()
        let n = h.model.nLatents, d = h.model.dIn
        if let wEnc {
            // [d_in, d_sae]: transpose of the row-per-latent storage.
            for j in 0..<n { for i in 0..<d { wEnc[i * n + j] = w.wEnc[j * d + i] } }
        }
        bEnc?.update(from: w.bEnc.p, count: n)
        wDec?.update(from: w.wDec.p, count: n * d)
        bDec?.update(from: w.bDec.p, count: d)
        threshold?.update(from: w.threshold.p, count: n)
    }
}

@_cdecl("lamina_sae_set_weights")
public func lamina_sae_set_weights(_ sae: OpaquePointer?, _ wEnc: UnsafePointer<Float>?, _ bEnc: UnsafePointer<Float>?,
                                   _ wDec: UnsafePointer<Float>?, _ bDec: UnsafePointer<Float>?,
                                   _ threshold: UnsafePointer<Float>?) -> Int32 {
    boundary {
        let h = try saeHandles.get(sae, "sae")
        let n = h.model.nLatents, d = h.model.dIn
        let we = try Check.matrix(wEnc, Int64(d), Int64(n), "w_enc", rowsName: "d_in", colsName: "n_latents")
        let be = try Check.matrix(bEnc, 1, Int64(n), "b_enc", rowsName: "1", colsName: "n_latents")
        let wd = try Check.matrix(wDec, Int64(n), Int64(d), "w_dec", rowsName: "n_latents", colsName: "d_in")
        let bd = try Check.matrix(bDec, 1, Int64(d), "b_dec", rowsName: "1", colsName: "d_in")
        let th = threshold == nil ? nil : try Check.matrix(threshold, 1, Int64(n), "threshold", rowsName: "1", colsName: "n_latents")
        let wEncB = FloatBuffer(n * d, zero: 0), wDecB = FloatBuffer(n * d, zero: 0)
        for j in 0..<n { for i in 0..<d { wEncB[j * d + i] = we.base[i * n + j] } }
        wDecB.p.update(from: wd.base, count: n * d)
        let bEncB = FloatBuffer(n, zero: 0), bDecB = FloatBuffer(d, zero: 0), thB = FloatBuffer(n, zero: 0)
        bEncB.p.update(from: be.base, count: n)
        bDecB.p.update(from: bd.base, count: d)
        if let th { thB.p.update(from: th.base, count: n) }
        let model = try SparseAutoencoder(h.model.config, wEnc: wEncB, bEnc: bEncB, wDec: wDecB, bDec: bDecB,
                                          threshold: thB, inputScale: 1)
        model.normalization = h.model.normalization  // a loaded model's input options stay
        model.wSkip = h.model.wSkip
        h.trainer = SAETrainer(model: model)
        h.trainer.markDataInitialised()
    }
}

@_cdecl("lamina_sae_save")
public func lamina_sae_save(_ sae: OpaquePointer?, _ directory: UnsafePointer<CChar>?, _ format: Int32) -> Int32 {
    boundary {
        let h = try saeHandles.get(sae, "sae")
        let dir = try Check.cString(directory, "directory")
        let f = try CEnums.saeFormat.decode(format, "format")
        try h.trainer.saveModel(directory: dir, format: f)
    }
}

@_cdecl("lamina_sae_load")
public func lamina_sae_load(_ directory: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    boundary {
        let result = try Check.output(out, "out")
        let dir = try Check.cString(directory, "directory")
        result.pointee = saeHandles.insert(SAEHandle(trainer: try SAETrainer.loadModel(directory: dir)))
    }
}

@_cdecl("lamina_sae_save_checkpoint")
public func lamina_sae_save_checkpoint(_ sae: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> Int32 {
    boundary {
        let h = try saeHandles.get(sae, "sae")
        try h.trainer.saveCheckpoint(path: try Check.cString(path, "path"))
    }
}

@_cdecl("lamina_sae_load_checkpoint")
public func lamina_sae_load_checkpoint(_ path: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    boundary {
        let result = try Check.output(out, "out")
        let file = try Check.cString(path, "path")
        result.pointee = saeHandles.insert(SAEHandle(trainer: try SAETrainer.loadCheckpoint(path: file)))
    }
}

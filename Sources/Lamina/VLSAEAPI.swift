import LaminaCore
import CLaminaABI

/// One VL-SAE handle: the model and its trainer (Adam moments, step count, history).
final class VLSAEHandle {
    var trainer: VLSAETrainer
    var model: VLSparseAutoencoder { trainer.model }
    init(_ model: VLSparseAutoencoder) throws { trainer = try VLSAETrainer(model: model) }
}

let vlsaeHandles = HandleTable<VLSAEHandle>("lamina_vlsae")

extension CEnums {
    static let vlsaeModality = CEnum<VLModality>([(LAMINA_VLSAE_VISION, .vision, "vision"), (LAMINA_VLSAE_TEXT, .text, "text")])
}

func vlsaeConfig(_ p: UnsafePointer<lamina_vlsae_params>?) throws -> VLSAEConfig {
    let raw = try Check.pointer(p, "params").pointee
    func size(_ v: Int64, _ name: String, _ limit: Int64) throws -> Int {
        if v < 1 || v > limit { throw LaminaError.invalid("params.\(name) is \(v); expected 1 <= \(name) <= \(limit)") }
        return Int(v)
    }
    var c = VLSAEConfig(dVision: try size(raw.d_vision, "d_vision", 1 << 24), dText: try size(raw.d_text, "d_text", 1 << 24),
                        nLatents: try size(raw.n_latents, "n_latents", 1 << 26), k: Int(raw.k))
    c.learningRate = raw.lr
    c.batchSize = Int(raw.batch_size)
    if !(raw.adam_beta1 >= 0 && raw.adam_beta1 < 1) { throw LaminaError.invalid("params.adam_beta1 is \(raw.adam_beta1); expected 0 <= beta1 < 1") }
    if !(raw.adam_beta2 >= 0 && raw.adam_beta2 < 1) { throw LaminaError.invalid("params.adam_beta2 is \(raw.adam_beta2); expected 0 <= beta2 < 1") }
    if !(raw.adam_eps > 0 && raw.adam_eps.isFinite && Float(raw.adam_eps) > 0) {
        throw LaminaError.invalid("params.adam_eps is \(raw.adam_eps); expected a finite value > 0")
    }
    c.adam = AdamConfig(beta1: Float(raw.adam_beta1), beta2: Float(raw.adam_beta2), epsilon: Float(raw.adam_eps))
    c.weightVision = raw.weight_vision
    c.weightText = raw.weight_text
    c.deadTokens = Int(clamping: raw.dead_tokens)
    c.warmupSteps = Int(raw.warmup_steps)
    c.decay = try CEnums.saeDecay.decode(raw.decay, "params.decay")
    c.decaySteps = Int(raw.decay_steps)
    if raw.shuffle != 0 && raw.shuffle != 1 { throw LaminaError.invalid("params.shuffle is \(raw.shuffle); expected 0 or 1") }
    c.shuffle = raw.shuffle == 1
    c.seed = raw.seed
    c.auxkAlpha = raw.auxk_alpha
    c.kAux = Int(raw.k_aux)
    do { try c.check() } catch let e as LaminaError { throw LaminaError(e.kind, "params." + e.message) }
    return c
}

func vlsaeParams(_ c: VLSAEConfig) -> lamina_vlsae_params {
    lamina_vlsae_params(d_vision: Int64(c.dVision), d_text: Int64(c.dText), n_latents: Int64(c.nLatents), k: Int32(clamping: c.k),
                        lr: c.learningRate, batch_size: Int32(clamping: c.batchSize), adam_beta1: Double(c.adam.beta1),
                        adam_beta2: Double(c.adam.beta2), adam_eps: Double(c.adam.epsilon), weight_vision: c.weightVision,
                        weight_text: c.weightText, dead_tokens: Int64(c.deadTokens), warmup_steps: Int32(clamping: c.warmupSteps),
                        decay: CEnums.saeDecay.code(c.decay), decay_steps: Int32(clamping: c.decaySteps),
                        shuffle: c.shuffle ? 1 : 0, seed: c.seed, auxk_alpha: c.auxkAlpha, k_aux: Int32(clamping: c.kAux))
}

@_cdecl("lamina_vlsae_default_params")
public func lamina_vlsae_default_params() -> lamina_vlsae_params {
    var p = vlsaeParams(VLSAEConfig(dVision: 512, dText: 512, nLatents: 4096, k: 256))
    p.adam_beta1 = 0.9; p.adam_beta2 = 0.999; p.adam_eps = 1e-8
    return p
}

@_cdecl("lamina_vlsae_check_params")
public func lamina_vlsae_check_params(_ params: UnsafePointer<lamina_vlsae_params>?) -> Int32 {
    boundary { _ = try vlsaeConfig(params) }
}

@_cdecl("lamina_vlsae_create")
public func lamina_vlsae_create(_ params: UnsafePointer<lamina_vlsae_params>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    vlsaeHandles.create(out) { try VLSAEHandle(try VLSparseAutoencoder(try vlsaeConfig(params))) }
}

@_cdecl("lamina_vlsae_free")
public func lamina_vlsae_free(_ h: OpaquePointer?) { vlsaeHandles.remove(h) }

@_cdecl("lamina_vlsae_get_params")
public func lamina_vlsae_get_params(_ h: OpaquePointer?, _ out: UnsafeMutablePointer<lamina_vlsae_params>?) -> Int32 {
    boundary {
        let v = try vlsaeHandles.get(h, "vlsae")
        try Check.output(out, "out").pointee = vlsaeParams(v.model.config)
    }
}

private func rows(_ p: UnsafeRawPointer?, _ type: SAEDType, _ n: Int, _ d: Int64, _ name: String, _ dName: String) throws -> MemoryRows {
    let cols = try Check.count(d, dName)
    _ = try Check.elements(n, cols, name)
    guard let p else { throw LaminaError.invalid("\(name) is NULL; expected a pointer to n x \(dName) values") }
    return MemoryRows(base: p, rows: n, cols: cols, dtype: type)
}

@_cdecl("lamina_vlsae_train")
public func lamina_vlsae_train(_ h: OpaquePointer?, _ vision: UnsafeRawPointer?, _ text: UnsafeRawPointer?, _ dtype: Int32,
                               _ n: Int64, _ dVision: Int64, _ dText: Int64, _ epochs: Int32,
                               _ progress: lamina_progress_fn?, _ user: UnsafeMutableRawPointer?) -> Int32 {
    boundary {
        let v = try vlsaeHandles.get(h, "vlsae")
        let type = try saeInputDType(dtype)
        let count = try Check.count(n, "n")
        let vr = try rows(vision, type, count, dVision, "vision", "d_vision")
        let tr = try rows(text, type, count, dText, "text", "d_text")
        if epochs < 1 { throw LaminaError.invalid("epochs is \(epochs); expected >= 1") }
        try v.trainer.train(vision: vr, text: tr, epochs: Int(epochs), progress: progressHandler(progress, user))
    }
}

@_cdecl("lamina_vlsae_get_state")
public func lamina_vlsae_get_state(_ h: OpaquePointer?, _ steps: UnsafeMutablePointer<Int64>?, _ tokens: UnsafeMutablePointer<Int64>?) -> Int32 {
    boundary {
        let v = try vlsaeHandles.get(h, "vlsae")
        steps?.pointee = Int64(v.trainer.stepsDone)
        tokens?.pointee = Int64(v.trainer.tokensSeen)
    }
}

@_cdecl("lamina_vlsae_get_history")
public func lamina_vlsae_get_history(_ h: OpaquePointer?, _ out: UnsafeMutablePointer<Double>?, _ outLen: Int64) -> Int32 {
    boundary {
        let v = try vlsaeHandles.get(h, "vlsae")
        let hist = v.trainer.history
        try Check.length(outLen, expected: hist.count * 8, "out_len (steps * 8)")
        if hist.isEmpty { return }
        let dst = try Check.output(out, "out")
        for (i, r) in hist.enumerated() {
            let row = [r.loss, r.mseVision, r.mseText, r.fvuVision, r.fvuText, r.deadFraction, r.lr, r.auxk]
            for c in 0..<8 { dst[i * 8 + c] = row[c] }
        }
    }
}

/// A finite float32 input of the model's width for `modality`.
private func modalityInput(_ v: VLSAEHandle, _ modality: Int32, _ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64,
                           _ name: String = "x") throws -> (VLModality, MemoryRows) {
    let m = try CEnums.vlsaeModality.decode(modality, "modality")
    let want = v.model.config.dim(m)
    let view = try Check.matrix(x, n, d, name, expectedCols: (want, { "\(name) has d = \($0) features; this VL-SAE has d_\(m.name) = \(want)" }))
    return (m, MemoryRows(base: UnsafeRawPointer(view.base), rows: view.rows, cols: view.cols, dtype: .float32))
}

@_cdecl("lamina_vlsae_encode")
public func lamina_vlsae_encode(_ h: OpaquePointer?, _ modality: Int32, _ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64,
                                _ out: UnsafeMutablePointer<Float>?, _ outLen: Int64) -> Int32 {
    boundary {
        let v = try vlsaeHandles.get(h, "vlsae")
        let (m, src) = try modalityInput(v, modality, x, n, d)
        try Check.length(outLen, expected: try Check.elements(src.rows, v.model.nLatents, "out"), "out_len (n * n_latents)")
        let dst = try Check.output(out, "out")
        try v.model.encodeDense(src, modality: m, into: dst)
    }
}

@_cdecl("lamina_vlsae_encode_sparse")
public func lamina_vlsae_encode_sparse(_ h: OpaquePointer?, _ modality: Int32, _ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64,
                                       _ width: Int32, _ indices: UnsafeMutablePointer<Int32>?,
                                       _ values: UnsafeMutablePointer<Float>?) -> Int32 {
    boundary {
        let v = try vlsaeHandles.get(h, "vlsae")
        let (m, src) = try modalityInput(v, modality, x, n, d)
        if width < 1 { throw LaminaError.invalid("width is \(width); expected >= 1 (k = \(v.model.config.k) holds every active latent)") }
        _ = try Check.elements(src.rows, Int(width), "indices")
        let ip = try Check.output(indices, "indices"), vp = try Check.output(values, "values")
        try v.model.encodeSparse(src, modality: m, width: Int(width), indices: ip, values: vp)
    }
}

@_cdecl("lamina_vlsae_decode")
public func lamina_vlsae_decode(_ h: OpaquePointer?, _ modality: Int32, _ z: UnsafePointer<Float>?, _ n: Int64, _ nLatents: Int64,
                                _ out: UnsafeMutablePointer<Float>?, _ outLen: Int64) -> Int32 {
    boundary {
        let v = try vlsaeHandles.get(h, "vlsae")
        let m = try CEnums.vlsaeModality.decode(modality, "modality")
        let view = try Check.matrix(z, n, nLatents, "z", colsName: "n_latents",
                                    expectedCols: (v.model.nLatents, { "z has \($0) columns; this VL-SAE has n_latents = \(v.model.nLatents)" }))
        try Check.length(outLen, expected: try Check.elements(view.rows, v.model.config.dim(m), "out"), "out_len (n * d_\(m.name))")
        v.model.decodeDense(view.base, rows: view.rows, modality: m, into: try Check.output(out, "out"))
    }
}

@_cdecl("lamina_vlsae_decode_sparse")
public func lamina_vlsae_decode_sparse(_ h: OpaquePointer?, _ modality: Int32, _ indices: UnsafePointer<Int32>?,
                                       _ values: UnsafePointer<Float>?, _ n: Int64, _ width: Int32,
                                       _ out: UnsafeMutablePointer<Float>?, _ outLen: Int64) -> Int32 {
    boundary {
        let v = try vlsaeHandles.get(h, "vlsae")
        let m = try CEnums.vlsaeModality.decode(modality, "modality")
        let view = try Check.matrix(values, n, Int64(width), "values", colsName: "width")
        let ip = try Check.pointer(indices, "indices")
        let nl = v.model.nLatents
        for i in 0..<(view.rows * view.cols) where ip[i] < -1 || ip[i] >= Int32(clamping: nl) {
            throw LaminaError.invalid("indices[\(i)] (row \(i / view.cols)) is \(ip[i]); expected -1 (unused) or 0 <= index < n_latents = \(nl)")
        }
        try Check.length(outLen, expected: try Check.elements(view.rows, v.model.config.dim(m), "out"), "out_len (n * d_\(m.name))")
        v.model.decodeSparse(indices: ip, values: view.base, rows: view.rows, width: view.cols, modality: m,
                             into: try Check.output(out, "out"))
    }
}

@_cdecl("lamina_vlsae_concept_shift")
public func lamina_vlsae_concept_shift(_ h: OpaquePointer?, _ vision: UnsafePointer<Float>?, _ text: UnsafePointer<Float>?, _ n: Int64,
                                       _ dVision: Int64, _ dText: Int64, _ alpha: Double, _ beta: Double,
                                       _ out: UnsafeMutablePointer<Float>?, _ outLen: Int64) -> Int32 {
    boundary {
        let v = try vlsaeHandles.get(h, "vlsae")
        let (_, vr) = try modalityInput(v, LAMINA_VLSAE_VISION, vision, n, dVision, "vision")
        let (_, tr) = try modalityInput(v, LAMINA_VLSAE_TEXT, text, n, dText, "text")
        if !alpha.isFinite { throw LaminaError.invalid("alpha is \(alpha); expected a finite value") }
        if !(beta >= 0 && beta <= 1) { throw LaminaError.invalid("beta is \(beta); expected 0 <= beta <= 1") }
        try Check.length(outLen, expected: try Check.elements(vr.rows, v.model.config.dText, "out"), "out_len (n * d_text)")
        try v.model.conceptShift(vision: vr, text: tr, alpha: alpha, beta: beta, into: try Check.output(out, "out"))
    }
}

@_cdecl("lamina_vlsae_save")
public func lamina_vlsae_save(_ h: OpaquePointer?, _ directory: UnsafePointer<CChar>?) -> Int32 {
    boundary {
        let v = try vlsaeHandles.get(h, "vlsae")
        try v.model.save(directory: try Check.cString(directory, "directory"))
    }
}

@_cdecl("lamina_vlsae_load")
public func lamina_vlsae_load(_ directory: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    vlsaeHandles.create(out) { try VLSAEHandle(try VLSparseAutoencoder.load(directory: try Check.cString(directory, "directory"))) }
}

private func tensorArgument(_ v: VLSAEHandle, _ name: UnsafePointer<CChar>?) throws -> (String, FloatBuffer) {
    let s = try Check.cString(name, "name")
    guard let t = v.model.tensor(s) else {
        let names = VLSparseAutoencoder.tensorNames + (v.model.config.projected ? ["P_vision", "P_text"] : [])
        throw LaminaError.invalid("name is '\(s)'; expected one of \(names.map { "'\($0)'" }.joined(separator: ", "))"
                                  + (v.model.config.projected ? "" : " (this VL-SAE has no input projections)"))
    }
    return (s, t.buffer)
}

@_cdecl("lamina_vlsae_get_tensor")
public func lamina_vlsae_get_tensor(_ h: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<Float>?,
                                    _ outLen: Int64) -> Int32 {
    boundary {
        let v = try vlsaeHandles.get(h, "vlsae")
        let (s, b) = try tensorArgument(v, name)
        try Check.copyTensor(s, b, to: out, outLen)
    }
}

@_cdecl("lamina_vlsae_set_tensor")
public func lamina_vlsae_set_tensor(_ h: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ values: UnsafePointer<Float>?,
                                    _ len: Int64) -> Int32 {
    boundary {
        let v = try vlsaeHandles.get(h, "vlsae")
        let (s, b) = try tensorArgument(v, name)
        try Check.copyTensor(s, from: values, len, into: b)
    }
}

// MARK: - Training from HDF5 files, checkpoints, a reducer (data-parallel)

@_cdecl("lamina_vlsae_train_h5")
public func lamina_vlsae_train_h5(_ h: OpaquePointer?, _ path: UnsafePointer<CChar>?, _ visionDataset: UnsafePointer<CChar>?,
                                  _ textDataset: UnsafePointer<CChar>?, _ epochs: Int32, _ progress: lamina_progress_fn?,
                                  _ user: UnsafeMutableRawPointer?) -> Int32 {
    boundary {
        let v = try vlsaeHandles.get(h, "vlsae")
        let file = try Check.cString(path, "path")
        let vn = try Check.cString(visionDataset, "vision_dataset"), tn = try Check.cString(textDataset, "text_dataset")
        if epochs < 1 { throw LaminaError.invalid("epochs is \(epochs); expected >= 1") }
        let vs = try activationRows(path: file, dataset: vn)
        let ts = try activationRows(path: file, dataset: tn)
        if vs.rows != ts.rows {
            throw LaminaError.shape("dataset '\(vn)' has \(vs.rows) rows but dataset '\(tn)' has \(ts.rows); expected paired rows (the same count)")
        }
        let c = v.model.config
        if vs.cols != c.dVision { throw LaminaError.shape("dataset '\(vn)' has \(vs.cols) features; this VL-SAE has d_vision = \(c.dVision)") }
        if ts.cols != c.dText { throw LaminaError.shape("dataset '\(tn)' has \(ts.cols) features; this VL-SAE has d_text = \(c.dText)") }
        try v.trainer.train(VLSAEData(vision: vs, text: ts, streaming: true), epochs: Int(epochs),
                            progress: progressHandler(progress, user))
    }
}

@_cdecl("lamina_vlsae_get_position")
public func lamina_vlsae_get_position(_ h: OpaquePointer?, _ runEpochs: UnsafeMutablePointer<Int64>?,
                                      _ epoch: UnsafeMutablePointer<Int64>?, _ batchInEpoch: UnsafeMutablePointer<Int64>?) -> Int32 {
    boundary {
        let v = try vlsaeHandles.get(h, "vlsae")
        runEpochs?.pointee = Int64(v.trainer.runEpochs)
        epoch?.pointee = Int64(v.trainer.epoch)
        batchInEpoch?.pointee = Int64(v.trainer.batchInEpoch)
    }
}

@_cdecl("lamina_vlsae_save_checkpoint")
public func lamina_vlsae_save_checkpoint(_ h: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> Int32 {
    boundary {
        let v = try vlsaeHandles.get(h, "vlsae")
        try v.trainer.saveCheckpoint(path: try Check.cString(path, "path"))
    }
}

@_cdecl("lamina_vlsae_load_checkpoint")
public func lamina_vlsae_load_checkpoint(_ path: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    vlsaeHandles.create(out) {
        let handle = try VLSAEHandle(try VLSparseAutoencoder(VLSAEConfig(dVision: 1, dText: 1, nLatents: 1, k: 1)))
        handle.trainer = try VLSAETrainer.loadCheckpoint(path: try Check.cString(path, "path"))
        return handle
    }
}

@_cdecl("lamina_vlsae_set_reducer")
public func lamina_vlsae_set_reducer(_ h: OpaquePointer?, _ fn: lamina_reduce_fn?, _ user: UnsafeMutableRawPointer?,
                                     _ rank: Int32, _ worldSize: Int32) -> Int32 {
    boundary {
        let v = try vlsaeHandles.get(h, "vlsae")
        guard let fn else {
            if rank != 0 || worldSize != 1 {
                throw LaminaError.invalid("fn is NULL with rank = \(rank), world_size = \(worldSize); expected rank 0 and world_size 1 to clear the reducer")
            }
            v.trainer.distribution = nil
            return
        }
        if worldSize < 1 { throw LaminaError.invalid("world_size is \(worldSize); expected >= 1") }
        if rank < 0 || rank >= worldSize { throw LaminaError.invalid("rank is \(rank); expected 0 <= rank < world_size = \(worldSize)") }
        if Int(worldSize) > v.model.config.batchSize {
            throw LaminaError.invalid("world_size is \(worldSize) but batch_size is \(v.model.config.batchSize); expected world_size <= batch_size (every rank takes at least one row per step)")
        }
        v.trainer.distribution = SAEDistribution(reducer: CReducer(fn: fn, user: user), rank: Int(rank), worldSize: Int(worldSize))
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// VL-SAE files: a directory with `vlsae_weights.safetensors` (W_enc [n, d], W_dec_vision [n, d_v],
/// b_dec_vision [d_v], W_dec_text [n, d_t], b_dec_text [d_t]; with input projections also P_vision
/// [d_common, d_v], P_text [d_common, d_t], and W_enc is [n, d_common]) and `cfg.json` (architecture "vl_topk"
/// and every hyperparameter), both written through the atomic writer (weights first, cfg.json last).
/// The loader refuses any cfg.json field it does not know, naming it, and any other architecture.
extension VLSparseAutoencoder {
    package static let architectureName = "vl_topk"
    package static let weightsFile = "vlsae_weights.safetensors"

    package static let tensorNames = ["W_enc", "W_dec_vision", "b_dec_vision", "W_dec_text", "b_dec_text"]

    /// The parameter tensor `name` and its shape, or nil for an unknown name.
    package func tensor(_ name: String) -> (buffer: FloatBuffer, shape: [Int])? {
        let n = nLatents, c = config
        switch name {
        case "W_enc": return (wEnc, [n, c.d])
        case "W_dec_vision": return (wDecV, [n, c.dVision])
        case "b_dec_vision": return (bDecV, [c.dVision])
        case "W_dec_text": return (wDecT, [n, c.dText])
        case "b_dec_text": return (bDecT, [c.dText])
        case "P_vision": return projV.map { ($0, [c.dCommon, c.dVision]) }
        case "P_text": return projT.map { ($0, [c.dCommon, c.dText]) }
        default: return nil
        }
    }

    func cfgJSON() -> JSONValue {
        let c = config
        var o = JSONObject()
        o["architecture"] = .string(VLSparseAutoencoder.architectureName)
        o["d_vision"] = .int(Int64(c.dVision)); o["d_text"] = .int(Int64(c.dText))
        o["d_sae"] = .int(Int64(c.nLatents)); o["k"] = .int(Int64(c.k))
        o["lr"] = .double(c.learningRate); o["batch_size"] = .int(Int64(c.batchSize))
        o["adam_beta1"] = .double(Double(c.adam.beta1)); o["adam_beta2"] = .double(Double(c.adam.beta2))
        o["adam_eps"] = .double(Double(c.adam.epsilon))
        o["weight_vision"] = .double(c.weightVision); o["weight_text"] = .double(c.weightText)
        o["dead_tokens"] = .int(Int64(c.deadTokens)); o["warmup_steps"] = .int(Int64(c.warmupSteps))
        o["decay"] = .string(["none", "linear", "cosine"][Int(c.decay.rawValue)])
        o["decay_steps"] = .int(Int64(c.decaySteps)); o["shuffle"] = .bool(c.shuffle)
        o["seed"] = .string(String(c.seed))
        o["dtype"] = .string("float32")
        if c.projected { o["d_common"] = .int(Int64(c.dCommon)) }   // input projections P_vision, P_text
        o["auxk_alpha"] = .double(c.auxkAlpha); o["k_aux"] = .int(Int64(c.kAux))
        return .object(o)
    }

    /// Whether `directory` looks like a VL-SAE saved by `save` (its weights file, or a cfg.json whose
    /// architecture is "vl_topk"): lets the SAE loader name the right loader instead of a missing file.
    package static func isVLSAEDirectory(_ directory: String) -> Bool {
        if SAEPaths.exists(SAEPaths.join(directory, weightsFile)) { return true }
        let cfgPath = SAEPaths.join(directory, "cfg.json")
        guard SAEPaths.exists(cfgPath), let root = try? SAEPaths.readJSON(cfgPath) else { return false }
        return root.objectValue?["architecture"]?.stringValue == architectureName
    }

    static func config(from root: JSONValue, _ path: String) throws -> VLSAEConfig {
        guard let o = root.objectValue else { throw LaminaError(.format, "'\(path)' is not a JSON object") }
        func bad(_ m: String) -> LaminaError { LaminaError(.format, "'\(path)': \(m)") }
        guard let arch = o["architecture"]?.stringValue else {
            throw bad("no \"architecture\" field; expected \"vl_topk\" (this is not a VL-SAE; an SAE of SAELens' or sparsify's layout loads with lamina_sae_load (Python: lamina.sae.load))")
        }
        if arch != architectureName {
            throw bad("architecture is \"\(arch)\"; expected \"vl_topk\" (this is not a VL-SAE but an SAE; load it with lamina_sae_load (Python: lamina.sae.load))")
        }
        let known: Set<String> = ["architecture", "d_vision", "d_text", "d_sae", "k", "lr", "batch_size", "adam_beta1", "adam_beta2",
                                  "adam_eps", "weight_vision", "weight_text", "dead_tokens", "warmup_steps", "decay", "decay_steps",
                                  "shuffle", "seed", "dtype", "d_common", "auxk_alpha", "k_aux"]
        for (key, value) in o.entries where !known.contains(key) {
            throw bad("field \"\(key)\" (value \((try? value.serialized()) ?? value.typeName)) is not a VL-SAE field Lamina implements; refusing to ignore it")
        }
        func int(_ key: String) throws -> Int {
            guard let v = o[key]?.int64Value, v >= 0, v <= Int64(1) << 40 else { throw bad("field \"\(key)\" is missing or not a non-negative integer") }
            return Int(v)
        }
        func dbl(_ key: String) throws -> Double {
            guard let v = o[key]?.doubleValue, v.isFinite else { throw bad("field \"\(key)\" is missing or not a finite number") }
            return v
        }
        if let t = o["dtype"], t.stringValue != "float32" {
            throw bad("dtype is \((try? t.serialized()) ?? t.typeName); expected \"float32\"")
        }
        var c = VLSAEConfig(dVision: try int("d_vision"), dText: try int("d_text"), nLatents: try int("d_sae"), k: try int("k"))
        c.learningRate = try dbl("lr"); c.batchSize = try int("batch_size")
        c.adam = AdamConfig(beta1: Float(try dbl("adam_beta1")), beta2: Float(try dbl("adam_beta2")), epsilon: Float(try dbl("adam_eps")))
        c.weightVision = try dbl("weight_vision"); c.weightText = try dbl("weight_text")
        c.deadTokens = try int("dead_tokens"); c.warmupSteps = try int("warmup_steps"); c.decaySteps = try int("decay_steps")
        guard let decay = o["decay"]?.stringValue, let di = ["none", "linear", "cosine"].firstIndex(of: decay) else {
            throw bad("field \"decay\" is missing or not one of \"none\", \"linear\", \"cosine\"")
        }
        c.decay = SAEDecay(rawValue: Int32(di))!
        guard let sh = o["shuffle"]?.boolValue else { throw bad("field \"shuffle\" is missing or not a boolean") }
        c.shuffle = sh
        guard let s = o["seed"]?.stringValue, let seed = UInt64(s) else { throw bad("field \"seed\" is missing or not a decimal string") }
        c.seed = seed
        if o["d_common"] != nil {
            let dc = try int("d_common")
            if dc < 1 { throw bad("field \"d_common\" is 0; expected >= 1 (omit the field for a model without input projections)") }
            c.dCommon = dc
        }
        // AuxK fields (absent in files written before AuxK existed, which trained without it: 0).
        c.auxkAlpha = o["auxk_alpha"] == nil ? 0 : try dbl("auxk_alpha")
        c.kAux = o["k_aux"] == nil ? 0 : try int("k_aux")
        do { try c.check() } catch let e as LaminaError { throw bad(e.message) }
        return c
    }

    /// Saves the model into `directory` (created if missing): the weights, then cfg.json, each atomic.
    package func save(directory: String) throws {
        try SAEPaths.ensureDirectory(directory)
        var tensors: [SafeTensor] = []
        for name in VLSparseAutoencoder.tensorNames + (config.projected ? ["P_vision", "P_text"] : []) {
            let t = tensor(name)!
            tensors.append(SafeTensor(name: name, dtype: .F32, shape: t.shape, data: .floats(t.buffer.array)))
        }
        try SafeTensors.write(path: SAEPaths.join(directory, VLSparseAutoencoder.weightsFile), tensors: tensors,
                              metadata: [("format", "pt")])
        try AtomicFile.write(path: SAEPaths.join(directory, "cfg.json"), bytes: Array(try cfgJSON().prettySerialized().utf8))
    }

    /// Loads a model saved by `save`: cfg.json checked field by field, tensor shapes checked against
    /// the weights file's header before anything of model size is allocated, weights finite.
    package static func load(directory: String) throws -> VLSparseAutoencoder {
        if !SAEPaths.exists(directory) { throw LaminaError(.io, "cannot open '\(directory)': no such file or directory") }
        if !SAEPaths.isDirectory(directory) {
            throw LaminaError(.io, "'\(directory)' is not a directory; expected the directory holding cfg.json and \(weightsFile)")
        }
        let cfgPath = SAEPaths.join(directory, "cfg.json")
        let config = try VLSparseAutoencoder.config(from: try SAEPaths.readJSON(cfgPath), cfgPath)
        let weightsPath = SAEPaths.join(directory, weightsFile)
        if !SAEPaths.exists(weightsPath) {
            throw LaminaError(.io, "'\(directory)' has no \(weightsFile) (a VL-SAE directory holds cfg.json and \(weightsFile))")
        }
        let n = config.nLatents
        let shapes: [(name: String, shape: [Int])] = [("W_enc", [n, config.d]), ("W_dec_vision", [n, config.dVision]),
                                                       ("b_dec_vision", [config.dVision]), ("W_dec_text", [n, config.dText]),
                                                       ("b_dec_text", [config.dText])]
            + (config.projected ? [("P_vision", [config.dCommon, config.dVision]), ("P_text", [config.dCommon, config.dText])] : [])
        try SafeTensorsHeader.read(path: weightsPath).expect(shapes, cfgPath: cfgPath)
        let file = try SafeTensorsFile.read(path: weightsPath)
        var bufs: [FloatBuffer] = []
        for (name, shape) in shapes {
            let b = try FloatBuffer(checked: shape.reduce(1, *), zero: 0, "tensor \(name)")
            try file.read(name, shape, into: b)
            for i in 0..<b.count where !b[i].isFinite {
                throw LaminaError(.format, "'\(weightsPath)': tensor \(name) holds a non-finite value at index \(i)")
            }
            bufs.append(b)
        }
        return VLSparseAutoencoder(config: config, wEnc: bufs[0], wDecV: bufs[1], bDecV: bufs[2], wDecT: bufs[3], bDecT: bufs[4],
                                   projV: config.projected ? bufs[5] : nil, projT: config.projected ? bufs[6] : nil)
    }

    // MARK: - Checkpoints

    package static let checkpointFormat = "lamina_vlsae_checkpoint"
}

extension VLSAETrainer {
    static let historyColumns = 8

    /// A training checkpoint: one safetensors file (written atomically) with the weights, Adam's moments,
    /// the pairs since each latent fired, the history (float64 bit patterns) and, in its metadata, the
    /// parameters (cfg.json's object), Adam's step and the run position. Loading it and training on the
    /// same data with the same epochs continues the run bit-identically (same thread count).
    package func saveCheckpoint(path: String) throws {
        let n = model.nLatents, c = config
        func t(_ name: String, _ shape: [Int], _ b: FloatBuffer) -> SafeTensor {
            SafeTensor(name: name, dtype: .F32, shape: shape, data: .floatBuffer(UnsafeBufferPointer(start: b.p, count: b.count)))
        }
        var bits = [Int64]()
        bits.reserveCapacity(history.count * VLSAETrainer.historyColumns)
        for r in history {
            for v in [r.loss, r.mseVision, r.mseText, r.fvuVision, r.fvuText, r.deadFraction, r.lr, r.auxk] {
                bits.append(Int64(bitPattern: v.bitPattern))
            }
        }
        var tensors: [SafeTensor] = []
        // The weights, and a projected model's fixed input projections (P_vision, P_text; d_common is in params).
        for name in VLSparseAutoencoder.tensorNames + (c.projected ? ["P_vision", "P_text"] : []) {
            let x = model.tensor(name)!
            tensors.append(t(name, x.shape, x.buffer))
        }
        tensors += [
            t("adam.m.W_enc", [n, c.d], mW), t("adam.v.W_enc", [n, c.d], vW),
            t("adam.m.W_dec_vision", [n, c.dVision], mDV), t("adam.v.W_dec_vision", [n, c.dVision], vDV),
            t("adam.m.W_dec_text", [n, c.dText], mDT), t("adam.v.W_dec_text", [n, c.dText], vDT),
            t("adam.m.b_dec_vision", [c.dVision], mBV), t("adam.v.b_dec_vision", [c.dVision], vBV),
            t("adam.m.b_dec_text", [c.dText], mBT), t("adam.v.b_dec_text", [c.dText], vBT),
            SafeTensor(name: "tokens_since_fired", shape: [n], int64s: sinceFired.array),
            SafeTensor(name: "history_bits", shape: [history.count, VLSAETrainer.historyColumns], int64s: bits),
        ]
        let metadata: [(key: String, value: String)] = [
            ("format", VLSparseAutoencoder.checkpointFormat), ("version", "1"),
            ("params", try model.cfgJSON().serialized()),
            ("adam_step", String(adamStep)), ("steps_done", String(stepsDone)), ("tokens_seen", String(tokensSeen)),
            ("run_epochs", String(runEpochs)), ("run_start_step", String(runStartStep)),
            ("run_batches_per_epoch", String(runBatchesPerEpoch)), ("run_rows", String(runRows)),
            ("epoch", String(epoch)), ("batch_in_epoch", String(batchInEpoch)),
        ]
        try SafeTensors.write(path: path, tensors: tensors, metadata: metadata)
    }

    /// Loads a checkpoint written by saveCheckpoint; every field is checked (format, shapes against the
    /// parameters, finite weights, a consistent position).
    package static func loadCheckpoint(path: String) throws -> VLSAETrainer {
        let file = try SafeTensorsFile.read(path: path)
        func meta(_ key: String) throws -> String { try file.requiredMetadata(key, path: path, kind: "Lamina VL-SAE checkpoint") }
        let format = try meta("format")
        if format != VLSparseAutoencoder.checkpointFormat {
            throw LaminaError(.format, "'\(path)' is a '\(format)' file, not a Lamina VL-SAE checkpoint (expected format '\(VLSparseAutoencoder.checkpointFormat)'; an SAE checkpoint loads with lamina_sae_load_checkpoint)")
        }
        if try meta("version") != "1" { throw LaminaError(.format, "'\(path)': checkpoint version '\(try meta("version"))'; expected '1'") }
        func int(_ key: String) throws -> Int {
            guard let v = Int(try meta(key)), v >= 0 else { throw LaminaError(.format, "'\(path)': metadata '\(key)' is not a count") }
            return v
        }
        let params: JSONValue
        do { params = try JSONValue.parse(try meta("params")) } catch let e as LaminaError {
            throw LaminaError(.format, "'\(path)': params: \(e.message)")
        }
        let config = try VLSparseAutoencoder.config(from: params, path + " (params)")
        let n = config.nLatents
        // A projected model's P_vision, P_text (finiteness and sizes checked by the model's init).
        var projections: (vision: FloatBuffer, text: FloatBuffer)?
        if config.projected {
            let pv = try FloatBuffer(checked: config.dCommon * config.dVision, zero: 0, "P_vision (\(config.dCommon) x \(config.dVision))")
            let pt = try FloatBuffer(checked: config.dCommon * config.dText, zero: 0, "P_text (\(config.dCommon) x \(config.dText))")
            try file.read("P_vision", [config.dCommon, config.dVision], into: pv)
            try file.read("P_text", [config.dCommon, config.dText], into: pt)
            projections = (pv, pt)
        }
        let model: VLSparseAutoencoder
        do { model = try VLSparseAutoencoder(config, projections: projections) } catch let e as LaminaError {
            throw LaminaError(.format, "'\(path)': \(e.message)")
        }
        let tr = try VLSAETrainer(model: model)
        for name in VLSparseAutoencoder.tensorNames {
            let x = model.tensor(name)!
            try file.read(name, x.shape, into: x.buffer)
            for i in 0..<x.buffer.count where !x.buffer[i].isFinite {
                throw LaminaError(.format, "'\(path)': tensor \(name) holds a non-finite value at index \(i)")
            }
        }
        try file.read("adam.m.W_enc", [n, config.d], into: tr.mW); try file.read("adam.v.W_enc", [n, config.d], into: tr.vW)
        try file.read("adam.m.W_dec_vision", [n, config.dVision], into: tr.mDV); try file.read("adam.v.W_dec_vision", [n, config.dVision], into: tr.vDV)
        try file.read("adam.m.W_dec_text", [n, config.dText], into: tr.mDT); try file.read("adam.v.W_dec_text", [n, config.dText], into: tr.vDT)
        try file.read("adam.m.b_dec_vision", [config.dVision], into: tr.mBV); try file.read("adam.v.b_dec_vision", [config.dVision], into: tr.vBV)
        try file.read("adam.m.b_dec_text", [config.dText], into: tr.mBT); try file.read("adam.v.b_dec_text", [config.dText], into: tr.vBT)
        _ = try file.require("tokens_since_fired", shape: [n])
        let since = try file.int64s("tokens_since_fired")
        for j in 0..<n {
            if since[j] < 0 { throw LaminaError(.format, "'\(path)': tokens_since_fired[\(j)] is \(since[j]); expected >= 0") }
            tr.sinceFired[j] = since[j]
        }
        let steps = try int("steps_done")
        _ = try file.require("history_bits", shape: [steps, historyColumns])
        let bits = try file.int64s("history_bits")
        for s in 0..<steps {
            let v = (0..<historyColumns).map { Double(bitPattern: UInt64(bitPattern: bits[s * historyColumns + $0])) }
            tr.history.append(Stats(loss: v[0], mseVision: v[1], mseText: v[2], fvuVision: v[3], fvuText: v[4], deadFraction: v[5],
                                    lr: v[6], auxk: v[7]))
        }
        tr.stepsDone = steps
        tr.adamStep = try int("adam_step")
        tr.tokensSeen = try int("tokens_seen")
        tr.runEpochs = try int("run_epochs"); tr.runStartStep = try int("run_start_step")
        tr.runBatchesPerEpoch = try int("run_batches_per_epoch"); tr.runRows = try int("run_rows")
        tr.epoch = try int("epoch"); tr.batchInEpoch = try int("batch_in_epoch")
        // Consistency: the position lies inside the run, the run inside the steps done.
        let inRun = tr.epoch * max(tr.runBatchesPerEpoch, 1) + tr.batchInEpoch
        if tr.adamStep != steps || tr.runStartStep > steps
            || (tr.runEpochs > 0 && (tr.runBatchesPerEpoch < 1 || tr.batchInEpoch >= tr.runBatchesPerEpoch
                                     || tr.epoch > tr.runEpochs || inRun != steps - tr.runStartStep
                                     || (tr.epoch == tr.runEpochs && tr.batchInEpoch != 0)))
            || (tr.runEpochs == 0 && (steps != 0 || tr.epoch != 0 || tr.batchInEpoch != 0)) {
            throw LaminaError(.format, "'\(path)': the run position is inconsistent (steps_done = \(steps), adam_step = \(tr.adamStep), run_start_step = \(tr.runStartStep), run_epochs = \(tr.runEpochs), run_batches_per_epoch = \(tr.runBatchesPerEpoch), epoch = \(tr.epoch), batch_in_epoch = \(tr.batchInEpoch))")
        }
        return tr
    }
}

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
        return .object(o)
    }

    static func config(from root: JSONValue, _ path: String) throws -> VLSAEConfig {
        guard let o = root.objectValue else { throw LaminaError(.format, "'\(path)' is not a JSON object") }
        func bad(_ m: String) -> LaminaError { LaminaError(.format, "'\(path)': \(m)") }
        guard let arch = o["architecture"]?.stringValue else {
            throw bad("no \"architecture\" field; expected \"vl_topk\" (this is not a VL-SAE; an SAE of SAELens or sparsify loads with lamina_sae_load)")
        }
        if arch != architectureName {
            throw bad("architecture is \"\(arch)\"; expected \"vl_topk\" (this is not a VL-SAE; load it with lamina_sae_load)")
        }
        let known: Set<String> = ["architecture", "d_vision", "d_text", "d_sae", "k", "lr", "batch_size", "adam_beta1", "adam_beta2",
                                  "adam_eps", "weight_vision", "weight_text", "dead_tokens", "warmup_steps", "decay", "decay_steps",
                                  "shuffle", "seed", "dtype", "d_common"]
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
}

#if canImport(Glibc)
import Glibc
#endif

/// SAE files:
///  - SAELens: <dir>/sae_weights.safetensors with W_enc [d_in, d_sae], W_dec [d_sae, d_in], b_enc [d_sae],
///    b_dec [d_in] (+ threshold [d_sae] for JumpReLU; a BatchTopK SAE is saved as the JumpReLU it runs
///    as, as SAELens does) and <dir>/cfg.json with SAELens' architecture fields (v6 names: architecture
///    "standard" | "topk" | "jumprelu", d_in, d_sae, k, dtype, device, apply_b_dec_to_input,
///    normalize_activations, reshape_activations, metadata; and the v5 ones: activation_fn_str,
///    activation_fn_kwargs).
///  - sparsify: <dir>/sae.safetensors with encoder.weight [num_latents, d_in], encoder.bias, W_dec
///    [num_latents, d_in], b_dec [d_in] and <dir>/cfg.json with SparseCoderConfig's fields (activation,
///    expansion_factor, normalize_decoder, num_latents, k, multi_topk, skip_connection, transcode) plus
///    d_in. TopK only (+ W_skip [d_in, d_in] with skip_connection).
///  Which foreign cfg.json fields are implemented, metadata or refused: `SAEForeignConfig`.
///  Lamina's full parameters go to <dir>/lamina.json (neither package reads it; older exports kept them
///  under "lamina" in cfg.json, still read), so a load restores them. The weights are exported with
///  the input scale folded in. Every file is written atomically.
///  - Checkpoint: one safetensors file with the training parameters (unfolded), Adam moments, dead
///    counters and history, and metadata with the parameters, Adam step, data position (epoch, batch),
///    tokens, the BatchTopK threshold and the input scale (bit patterns). Batches are a function of
///    (seed, epoch, batch index), so this is the complete random state: a resumed run is bit-identical.
package enum SAEFormat: Int32, Sendable, CaseIterable {
    case saelens = 0, sparsify = 1
}

extension SAEConfig {
    func json() -> JSONValue {
        var o = JSONObject()
        o["d_in"] = .int(Int64(dIn)); o["n_latents"] = .int(Int64(nLatents))
        o["architecture"] = .string(architecture.name); o["k"] = .int(Int64(k))
        o["lr"] = .double(learningRate); o["batch_size"] = .int(Int64(batchSize))
        o["adam_beta1"] = .double(Double(adam.beta1)); o["adam_beta2"] = .double(Double(adam.beta2))
        o["adam_eps"] = .double(Double(adam.epsilon))
        o["auxk_alpha"] = .double(auxkAlpha); o["k_aux"] = .int(Int64(kAux)); o["dead_tokens"] = .int(Int64(deadTokens))
        o["l1_coefficient"] = .double(l1Coefficient); o["l1_warmup_steps"] = .int(Int64(l1WarmupSteps))
        o["jumprelu_init_threshold"] = .double(jumpReLUInitThreshold); o["jumprelu_bandwidth"] = .double(jumpReLUBandwidth)
        o["threshold_rate"] = .double(thresholdRate); o["warmup_steps"] = .int(Int64(warmupSteps))
        o["decay"] = .string(["none", "linear", "cosine"][Int(decay.rawValue)]); o["decay_steps"] = .int(Int64(decaySteps))
        o["grad_clip"] = .double(gradClip)
        o["b_dec_init"] = .string(["mean", "geometric_median", "zero"][Int(bDecInit.rawValue)])
        o["init"] = .string(weightInit.name)
        o["normalize_input"] = .bool(normalizeInput); o["seed"] = .string(String(seed))
        if !groupWidths.isEmpty {
            o["group_widths"] = .array(groupWidths.map { .int(Int64($0)) })
            o["group_weights"] = .array(effectiveGroupWeights.map { .double($0) })
        }
        return .object(o)
    }

    static func from(json value: JSONValue, _ what: String) throws -> SAEConfig {
        guard let o = value.objectValue else { throw LaminaError(.format, "\(what): 'lamina' is not an object") }
        func int(_ key: String) throws -> Int {
            guard let v = o[key]?.int64Value, v >= Int64(Int32.min), v <= Int64(Int.max / 2) else {
                throw LaminaError(.format, "\(what): field '\(key)' is missing or not an integer")
            }
            return Int(v)
        }
        func dbl(_ key: String) throws -> Double {
            guard let v = o[key]?.doubleValue else { throw LaminaError(.format, "\(what): field '\(key)' is missing or not a number") }
            return v
        }
        func str(_ key: String, _ options: [String]) throws -> Int {
            guard let s = o[key]?.stringValue, let i = options.firstIndex(of: s) else {
                throw LaminaError(.format, "\(what): field '\(key)' is missing or not one of \(options)")
            }
            return i
        }
        var c = SAEConfig(dIn: try int("d_in"), nLatents: try int("n_latents"))
        c.architecture = SAEArchitecture.allCases[try str("architecture", SAEArchitecture.allCases.map(\.name))]
        c.k = try int("k"); c.learningRate = try dbl("lr"); c.batchSize = try int("batch_size")
        c.adam = AdamConfig(beta1: Float(try dbl("adam_beta1")), beta2: Float(try dbl("adam_beta2")), epsilon: Float(try dbl("adam_eps")))
        c.auxkAlpha = try dbl("auxk_alpha"); c.kAux = try int("k_aux"); c.deadTokens = try int("dead_tokens")
        c.l1Coefficient = try dbl("l1_coefficient"); c.l1WarmupSteps = try int("l1_warmup_steps")
        c.jumpReLUInitThreshold = try dbl("jumprelu_init_threshold"); c.jumpReLUBandwidth = try dbl("jumprelu_bandwidth")
        c.thresholdRate = try dbl("threshold_rate"); c.warmupSteps = try int("warmup_steps")
        c.decay = SAEDecay(rawValue: Int32(try str("decay", ["none", "linear", "cosine"])))!
        c.decaySteps = try int("decay_steps"); c.gradClip = try dbl("grad_clip")
        c.bDecInit = SAEBiasInit(rawValue: Int32(try str("b_dec_init", ["mean", "geometric_median", "zero"])))!
        // Files written before the init option have no "init": they were initialised "tied".
        c.weightInit = o["init"] == nil ? .tied : SAEWeightInit(rawValue: Int32(try str("init", ["auto", "sparsify", "tied"])))!
        guard let norm = o["normalize_input"]?.boolValue else { throw LaminaError(.format, "\(what): field 'normalize_input' is missing") }
        c.normalizeInput = norm
        guard let seed = o["seed"]?.stringValue.flatMap({ UInt64($0) }) else { throw LaminaError(.format, "\(what): field 'seed' is missing") }
        c.seed = seed
        if let v = o["group_widths"] {
            guard let a = v.arrayValue, a.count <= SAEConfig.maxGroups else {
                throw LaminaError(.format, "\(what): field 'group_widths' is not an array of at most \(SAEConfig.maxGroups) integers")
            }
            c.groupWidths = try a.map {
                guard let i = $0.int64Value, i >= 1, i <= Int64(1 << 26) else { throw LaminaError(.format, "\(what): field 'group_widths' holds \(SAEForeignConfig.describe($0)); expected integers >= 1") }
                return Int(i)
            }
        }
        if let v = o["group_weights"] {
            guard let a = v.arrayValue, a.count <= SAEConfig.maxGroups else {
                throw LaminaError(.format, "\(what): field 'group_weights' is not an array of at most \(SAEConfig.maxGroups) numbers")
            }
            c.groupWeights = try a.map {
                guard let x = $0.doubleValue else { throw LaminaError(.format, "\(what): field 'group_weights' holds \(SAEForeignConfig.describe($0)); expected numbers") }
                return x
            }
        }
        do { try c.check() } catch let e as LaminaError { throw LaminaError(.format, "\(what): \(e.message)") }
        return c
    }
}

enum SAEPaths {
    /// Lamina's own parameters next to cfg.json (read by Lamina only).
    static let laminaFile = "lamina.json"

    static func readJSON(_ path: String) throws -> JSONValue {
        let bytes = try AtomicFile.read(path: path, maxBytes: 16 << 20)
        do { return try JSONValue.parse(bytes) } catch let e as LaminaError {
            throw LaminaError(.format, "'\(path)': \(e.message)")
        }
    }

    static func join(_ dir: String, _ name: String) -> String { dir.hasSuffix("/") ? dir + name : dir + "/" + name }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    /// Creates `dir` (one level) if it does not exist.
    static func ensureDirectory(_ dir: String) throws {
        if dir.isEmpty { throw LaminaError.invalid("path is empty; expected a directory path") }
        if isDirectory(dir) { return }
        if exists(dir) { throw LaminaError(.io, "cannot save into '\(dir)': it exists and is not a directory") }
        if mkdir(dir, 0o755) != 0 && !isDirectory(dir) {
            throw LaminaError(.io, "cannot create directory '\(dir)': \(String(cString: strerror(errno)))")
        }
    }
}

extension SAETrainer {
    // MARK: - Model files

    package func saveModel(directory: String, format: SAEFormat) throws {
        let cfg = config, arch = cfg.architecture
        let n = model.nLatents, d = model.dIn
        if format == .sparsify && arch != .topK {
            throw LaminaError.invalid("format 'sparsify' holds TopK SAEs only; this SAE is \(arch.name) (save it in the SAELens format)")
        }
        if format == .sparsify && model.normalization != .none {
            throw LaminaError.invalid("format 'sparsify' has no input normalisation; this SAE uses normalize_activations = '\(model.normalization.name)' (save it in the SAELens format)")
        }
        if format == .saelens && model.wSkip != nil {
            throw LaminaError.invalid("SAELens' standard, topk and jumprelu SAEs have no skip connection; this SAE has one (save it in the sparsify format)")
        }
        try SAEPaths.ensureDirectory(directory)
        let w = model.exportedWeights()
        var files: (weights: String, tensors: [SafeTensor], cfg: JSONObject)
        switch format {
        case .saelens:
            // W_enc [d_in, d_sae]
            var wEncT = [Float](repeating: 0, count: n * d)
            for j in 0..<n { for i in 0..<d { wEncT[i * n + j] = w.wEnc[j * d + i] } }
            var tensors = [SafeTensor(name: "W_enc", shape: [d, n], floats: wEncT),
                           SafeTensor(name: "W_dec", dtype: .F32, shape: [n, d], data: .floats(w.wDec.array)),
                           SafeTensor(name: "b_enc", shape: [n], floats: w.bEnc.array),
                           SafeTensor(name: "b_dec", shape: [d], floats: w.bDec.array)]
            let saelensArch = arch.rule.saelensName
            if arch == .matryoshkaBatchTopK {
                // SAELens' training layout: the running threshold as the scalar float64 buffer topk_threshold.
                tensors.append(SafeTensor(name: "topk_threshold", dtype: .F64, shape: [], data: .bytes(withUnsafeBytes(of: Double(w.threshold[0]).bitPattern.littleEndian) { Array($0) })))
            } else if arch.rule.hasThreshold {
                tensors.append(SafeTensor(name: "threshold", shape: [n], floats: w.threshold.array))
            }
            var c = JSONObject()
            c["architecture"] = .string(saelensArch)
            c["d_in"] = .int(Int64(d)); c["d_sae"] = .int(Int64(n))
            if arch == .topK { c["k"] = .int(Int64(cfg.k)); c["rescale_acts_by_decoder_norm"] = .bool(false) }
            c["dtype"] = .string("float32"); c["device"] = .string("cpu")
            c["apply_b_dec_to_input"] = .bool(true)
            c["normalize_activations"] = .string(model.normalization.name)
            c["reshape_activations"] = .string("none")
            var meta = JSONObject()
            meta["sae_lens_training_version"] = .null
            meta["model_name"] = .null; meta["hook_name"] = .null
            // The training layout only exists from SAELens 6.0: without a version SAELens reads the file as
            // a pre-6.0 (inference) config, whose registry has no matryoshka_batchtopk.
            if arch == .matryoshkaBatchTopK { meta["sae_lens_version"] = .string("6.0.0") }
            c["metadata"] = .object(meta)
            if arch == .matryoshkaBatchTopK {
                // MatryoshkaBatchTopKTrainingSAEConfig's fields (SAELens 6), read by TrainingSAE.load_from_disk.
                c["k"] = .int(Int64(cfg.k)); c["topk_threshold_lr"] = .double(cfg.thresholdRate)
                // rescale_acts_by_decoder_norm false: Lamina's codes use W_dec as it is (rows of unit norm), and
                // the file loads back bit-identical (no fold). Not written:
                // aux_loss_coefficient (SAELens' AuxK is not variance-normalised: Lamina's auxk_alpha is another
                // quantity; SAELens takes its default). decoder_init_norm: null (initialisation only).
                c["rescale_acts_by_decoder_norm"] = .bool(false); c["use_sparse_activations"] = .bool(false); c["use_matryoshka_aux_loss"] = .bool(false)
                c["decoder_init_norm"] = .null
                c["matryoshka_widths"] = .array(cfg.groupWidths.map { .int(Int64($0)) })
            } else {
                c["activation_fn_str"] = .string(arch == .topK ? "topk" : "relu")
                var kw = JSONObject()
                if arch == .topK { kw["k"] = .int(Int64(cfg.k)) }
                c["activation_fn_kwargs"] = .object(kw)
            }
            files = (SAEPaths.join(directory, "sae_weights.safetensors"), tensors, c)
        case .sparsify:
            var tensors = [SafeTensor(name: "encoder.weight", dtype: .F32, shape: [n, d], data: .floats(w.wEnc.array)),
                           SafeTensor(name: "encoder.bias", shape: [n], floats: w.bEnc.array),
                           SafeTensor(name: "W_dec", dtype: .F32, shape: [n, d], data: .floats(w.wDec.array)),
                           SafeTensor(name: "b_dec", shape: [d], floats: w.bDec.array)]
            if let skip = model.wSkip {
                // The skip term acts on raw x, so an input scale (never set on a loaded model) does not enter it.
                tensors.append(SafeTensor(name: "W_skip", dtype: .F32, shape: [d, d], data: .floats(skip.array)))
            }
            var c = JSONObject()
            c["activation"] = .string("topk")
            c["expansion_factor"] = .int(Int64(max(1, n / max(d, 1))))
            c["normalize_decoder"] = .bool(true)
            c["num_latents"] = .int(Int64(n))
            c["k"] = .int(Int64(cfg.k))
            c["multi_topk"] = .bool(false)
            c["skip_connection"] = .bool(model.wSkip != nil)
            c["transcode"] = .bool(false)
            c["d_in"] = .int(Int64(d))
            files = (SAEPaths.join(directory, "sae.safetensors"), tensors, c)
        }
        try SafeTensors.write(path: files.weights, tensors: files.tensors, metadata: [("format", "pt")])
        try AtomicFile.write(path: SAEPaths.join(directory, "cfg.json"), bytes: Array(try JSONValue.object(files.cfg).prettySerialized().utf8))
        // Lamina's own parameters go to a file of their own: neither package reads it, and sparsify
        // warns about (and drops) unknown cfg.json keys.
        try AtomicFile.write(path: SAEPaths.join(directory, SAEPaths.laminaFile), bytes: Array(try cfg.json().prettySerialized().utf8))
    }

    /// Loads an SAE saved in SAELens' or sparsify's layout (by Lamina or by those tools). Every cfg.json
    /// field is implemented, known metadata (`SAEForeignConfig.saelensMetadata`), or refused with a
    /// format error naming it; shapes and sizes are checked against the weights file's header (and
    /// the memory check) before any parameter buffer is allocated.
    package static func loadModel(directory: String) throws -> SAETrainer {
        if !SAEPaths.exists(directory) { throw LaminaError(.io, "cannot open '\(directory)': no such file or directory") }
        if !SAEPaths.isDirectory(directory) {
            throw LaminaError(.io, "'\(directory)' is not a directory; expected the directory holding cfg.json and the weights")
        }
        let saelens = SAEPaths.join(directory, "sae_weights.safetensors")
        let sparsify = SAEPaths.join(directory, "sae.safetensors")
        let cfgPath = SAEPaths.join(directory, "cfg.json")
        let format: SAEFormat
        if SAEPaths.exists(saelens) { format = .saelens } else if SAEPaths.exists(sparsify) { format = .sparsify } else {
            if VLSparseAutoencoder.isVLSAEDirectory(directory) {
                throw LaminaError(.format, "'\(directory)' is a VL-SAE directory (\(VLSparseAutoencoder.weightsFile), cfg.json architecture \"\(VLSparseAutoencoder.architectureName)\"), not an SAE; load it with lamina_vlsae_load (Python: lamina.sae.load_vlsae)")
            }
            throw LaminaError(.io, "'\(directory)' holds neither sae_weights.safetensors (SAELens) nor sae.safetensors (sparsify)")
        }
        let root = try SAEPaths.readJSON(cfgPath)
        guard let c = root.objectValue else { throw LaminaError(.format, "'\(cfgPath)' is not a JSON object") }
        var spec = format == .saelens ? try SAEForeignConfig.saelens(c, cfgPath) : try SAEForeignConfig.sparsify(c, cfgPath)
        // Lamina's parameters: lamina.json (or the "lamina" key of older exports' cfg.json).
        let laminaPath = SAEPaths.join(directory, SAEPaths.laminaFile)
        let laminaJSON: JSONValue? = SAEPaths.exists(laminaPath) ? try SAEPaths.readJSON(laminaPath) : c["lamina"]
        if let laminaJSON {
            let own = try SAEConfig.from(json: laminaJSON, "'\(laminaPath)'")
            try spec.adopt(own, laminaPath)
        }
        let config = spec.config
        // Shapes against the weights file's header, then validation and the memory check, before
        // anything of size n * d is allocated or the tensor data is read.
        let weightsPath = format == .saelens ? saelens : sparsify
        let header = try SafeTensorsHeader.read(path: weightsPath)
        try header.expect(spec.tensors, cfgPath: cfgPath)
        do { try config.check() } catch let e as LaminaError {
            throw LaminaError(e.kind == .invalidArgument ? .format : e.kind, "'\(cfgPath)': \(e.message)")
        }
        let weights = try SafeTensorsFile.read(path: weightsPath)
        let n = config.nLatents, d = config.dIn
        let wEnc = FloatBuffer(n * d, zero: 0), wDec = FloatBuffer(n * d, zero: 0)
        let bEnc = FloatBuffer(n, zero: 0), bDec = FloatBuffer(d, zero: 0), th = FloatBuffer(n, zero: 0)
        let skip: FloatBuffer? = spec.skipConnection ? FloatBuffer(d * d, zero: 0) : nil
        func read(_ name: String, _ shape: [Int], into b: FloatBuffer) throws { try weights.read(name, shape, into: b) }
        var topkThreshold: Double? = nil
        if format == .saelens {
            let t = FloatBuffer(n * d, zero: 0)
            try read("W_enc", [d, n], into: t)
            for j in 0..<n { for i in 0..<d { wEnc[j * d + i] = t[i * n + j] } }
            try read("W_dec", [n, d], into: wDec)
            try read("b_enc", [n], into: bEnc)
            try read("b_dec", [d], into: bDec)
            if spec.config.architecture == .matryoshkaBatchTopK {
                let t = FloatBuffer(1, zero: 0)
                try read("topk_threshold", [], into: t)
                topkThreshold = Double(t[0])
                for j in 0..<n { th[j] = t[0] }
            } else if spec.hasThreshold { try read("threshold", [n], into: th) }
        } else {
            try read("encoder.weight", [n, d], into: wEnc)
            try read("encoder.bias", [n], into: bEnc)
            try read("W_dec", [n, d], into: wDec)
            try read("b_dec", [d], into: bDec)
            if let skip { try read("W_skip", [d, d], into: skip) }
        }
        var named = [("W_enc", wEnc), ("W_dec", wDec), ("b_enc", bEnc), ("b_dec", bDec), ("threshold", th)]
        if let skip { named.append(("W_skip", skip)) }
        for (name, b) in named {
            for i in 0..<b.count where !b[i].isFinite {
                throw LaminaError(.format, "tensor '\(name)' holds \(b[i]) at index \(i); expected finite values")
            }
        }
        try spec.fold(wEnc: wEnc, bEnc: bEnc, wDec: wDec, bDec: bDec, threshold: th, n: n, d: d, cfgPath: cfgPath)
        let model = try SparseAutoencoder(config, wEnc: wEnc, bEnc: bEnc, wDec: wDec, bDec: bDec, threshold: th, inputScale: 1)
        model.normalization = spec.normalization
        model.wSkip = skip
        let trainer = SAETrainer(model: model)
        trainer.markDataInitialised()
        if config.architecture.rule.keepsThresholdEstimate { trainer.batchThreshold = Double(th[0]) }
        if let t = topkThreshold { trainer.batchThreshold = t }
        return trainer
    }

    // MARK: - Checkpoints

    package func saveCheckpoint(path: String) throws {
        if model.reconstructionNeedsInput {
            throw LaminaError.invalid("this SAE was loaded with \(model.inputDependentOptions), which a training checkpoint cannot hold; save it with save() instead")
        }
        let n = model.nLatents, d = model.dIn
        func t(_ name: String, _ shape: [Int], _ b: FloatBuffer) -> SafeTensor {
            SafeTensor(name: name, dtype: .F32, shape: shape, data: .floatBuffer(UnsafeBufferPointer(start: b.p, count: b.count)))
        }
        var hist = [Float]()
        var histD = [Int64]()
        hist.reserveCapacity(history.count * 8)
        for r in history {
            for v in [r.loss, r.fvu, r.auxk, r.mse, r.sparsity, r.l0, r.deadFraction, r.lr] { histD.append(Int64(bitPattern: v.bitPattern)) }
        }
        _ = hist
        let tensors: [SafeTensor] = [
            t("W_enc", [n, d], model.wEnc), t("b_enc", [n], model.bEnc), t("W_dec", [n, d], model.wDec), t("b_dec", [d], model.bDec),
            t("threshold", [n], model.threshold), t("log_threshold", [n], logThreshold),
            t("adam.m.W_enc", [n, d], mWenc), t("adam.v.W_enc", [n, d], vWenc),
            t("adam.m.W_dec", [n, d], mWdec), t("adam.v.W_dec", [n, d], vWdec),
            t("adam.m.b_enc", [n], mBenc), t("adam.v.b_enc", [n], vBenc),
            t("adam.m.b_dec", [d], mBdec), t("adam.v.b_dec", [d], vBdec),
            t("adam.m.log_threshold", [n], mThr), t("adam.v.log_threshold", [n], vThr),
            SafeTensor(name: "tokens_since_fired", shape: [n], int64s: sinceFired.array),
            SafeTensor(name: "history_bits", shape: [history.count, 8], int64s: histD),
        ]
        let metadata: [(key: String, value: String)] = [
            ("format", "lamina_sae_checkpoint"), ("version", "1"),
            ("params", try config.json().serialized()),
            ("adam_step", String(adamStep)), ("steps_done", String(stepsDone)), ("epoch", String(epoch)),
            ("batch_in_epoch", String(batchInEpoch)), ("tokens_seen", String(tokensSeen)),
            ("data_initialised", dataInitialised ? "1" : "0"),
            ("batch_threshold_bits", String(batchThreshold.bitPattern)),
            ("input_scale_bits", String(model.inputScale.bitPattern)),
            ("last_density_bits", String(lastDensity.bitPattern)),
        ]
        try SafeTensors.write(path: path, tensors: tensors, metadata: metadata)
    }

    package static func loadCheckpoint(path: String) throws -> SAETrainer {
        let file = try SafeTensorsFile.read(path: path)
        func meta(_ key: String) throws -> String { try file.requiredMetadata(key, path: path, kind: "Lamina SAE checkpoint") }
        if try meta("format") != "lamina_sae_checkpoint" {
            throw LaminaError(.format, "'\(path)' is not a Lamina SAE checkpoint")
        }
        func int(_ key: String) throws -> Int {
            guard let v = Int(try meta(key)), v >= 0 else { throw LaminaError(.format, "'\(path)': metadata '\(key)' is not a count") }
            return v
        }
        let params: JSONValue
        do { params = try JSONValue.parse(try meta("params")) } catch let e as LaminaError {
            throw LaminaError(.format, "'\(path)': params: \(e.message)")
        }
        let config = try SAEConfig.from(json: params, "'\(path)'")
        let n = config.nLatents, d = config.dIn
        let model = try SparseAutoencoder(config)
        let trainer = SAETrainer(model: model)
        func read(_ name: String, _ shape: [Int], _ b: FloatBuffer) throws { try file.read(name, shape, into: b) }
        try read("W_enc", [n, d], model.wEnc); try read("b_enc", [n], model.bEnc)
        try read("W_dec", [n, d], model.wDec); try read("b_dec", [d], model.bDec)
        try read("threshold", [n], model.threshold); try read("log_threshold", [n], trainer.logThreshold)
        try read("adam.m.W_enc", [n, d], trainer.mWenc); try read("adam.v.W_enc", [n, d], trainer.vWenc)
        try read("adam.m.W_dec", [n, d], trainer.mWdec); try read("adam.v.W_dec", [n, d], trainer.vWdec)
        try read("adam.m.b_enc", [n], trainer.mBenc); try read("adam.v.b_enc", [n], trainer.vBenc)
        try read("adam.m.b_dec", [d], trainer.mBdec); try read("adam.v.b_dec", [d], trainer.vBdec)
        try read("adam.m.log_threshold", [n], trainer.mThr); try read("adam.v.log_threshold", [n], trainer.vThr)
        _ = try file.require("tokens_since_fired", shape: [n])
        let since = try file.int64s("tokens_since_fired")
        for j in 0..<n { trainer.sinceFired[j] = since[j] }
        let steps = try int("steps_done")
        _ = try file.require("history_bits", shape: [steps, 8])
        let bits = try file.int64s("history_bits")
        for s in 0..<steps {
            let v = (0..<8).map { Double(bitPattern: UInt64(bitPattern: bits[s * 8 + $0])) }
            trainer.history.append(HistoryRow(loss: v[0], fvu: v[1], auxk: v[2], mse: v[3], sparsity: v[4], l0: v[5],
                                              deadFraction: v[6], lr: v[7]))
        }
        trainer.adamStep = try int("adam_step")
        trainer.stepsDone = steps
        trainer.epoch = try int("epoch")
        trainer.batchInEpoch = try int("batch_in_epoch")
        trainer.tokensSeen = try int("tokens_seen")
        // Every training step advances the data position by one batch, so epoch and batch_in_epoch
        // can never exceed steps_done (a position past the end of the data it resumes on is refused
        // by train(), which knows the data).
        for (key, value) in [("epoch", trainer.epoch), ("batch_in_epoch", trainer.batchInEpoch), ("adam_step", trainer.adamStep)]
        where value > steps {
            throw LaminaError(.format, "'\(path)': metadata '\(key)' is \(value) but steps_done is \(steps); the checkpoint is inconsistent")
        }
        let initialised = try meta("data_initialised")
        guard initialised == "0" || initialised == "1" else {
            throw LaminaError(.format, "'\(path)': metadata 'data_initialised' is '\(initialised)'; expected '0' or '1'")
        }
        trainer.dataInitialised = initialised == "1"
        if steps > 0 && !trainer.dataInitialised {
            throw LaminaError(.format, "'\(path)': metadata 'data_initialised' is '0' but steps_done is \(steps); the checkpoint is inconsistent")
        }
        guard let bt = UInt64(try meta("batch_threshold_bits")), let sb = UInt32(try meta("input_scale_bits")) else {
            throw LaminaError(.format, "'\(path)': threshold or input scale metadata is corrupt")
        }
        trainer.batchThreshold = Double(bitPattern: bt)
        guard let ld = UInt64(try meta("last_density_bits")) else { throw LaminaError(.format, "'\(path)': density metadata is corrupt") }
        trainer.lastDensity = Double(bitPattern: ld)
        model.inputScale = Float(bitPattern: sb)
        if !(model.inputScale.isFinite && model.inputScale > 0) {
            throw LaminaError(.format, "'\(path)': metadata 'input_scale_bits' gives input scale \(model.inputScale); expected a finite value > 0")
        }
        if !trainer.batchThreshold.isFinite || !trainer.lastDensity.isFinite {
            throw LaminaError(.format, "'\(path)': metadata 'batch_threshold_bits' or 'last_density_bits' is not a finite value")
        }
        for b in [model.wEnc, model.wDec, model.bEnc, model.bDec, model.threshold] {
            for i in 0..<b.count where !b[i].isFinite {
                throw LaminaError(.format, "'\(path)': the checkpoint holds non-finite weights")
            }
        }
        trainer.refreshDecoderNorms()
        return trainer
    }
}


extension SafeTensorsFile {
    /// Tensor `name`, which must have exactly `shape`, copied (widened to float32) into `b`.
    func read(_ name: String, _ shape: [Int], into b: FloatBuffer) throws {
        _ = try require(name, shape: shape)
        try copyFloats(name, into: UnsafeMutableBufferPointer(start: b.p, count: b.count))
    }
}


/// The tensor names, dtypes and shapes of a safetensors file, read from its header alone (the data is
/// not read), so that shapes can be checked before anything is allocated.
struct SafeTensorsHeader {
    var tensors: [String: (dtype: String, shape: [Int])] = [:]

    static func read(path: String) throws -> SafeTensorsHeader {
        guard let f = fopen(path, "rb") else {
            throw LaminaError(.io, "cannot open '\(path)': \(String(cString: strerror(errno)))")
        }
        defer { fclose(f) }
        func bad(_ m: String) -> LaminaError { LaminaError(.format, "'\(path)': not a valid safetensors file: \(m)") }
        var len = [UInt8](repeating: 0, count: 8)
        if fread(&len, 1, 8, f) != 8 { throw bad("shorter than its 8-byte header length") }
        var n64: UInt64 = 0
        for i in 0..<8 { n64 |= UInt64(len[i]) << (8 * UInt64(i)) }
        guard n64 <= UInt64(SafeTensors.maxHeaderBytes) else {
            throw bad("header length \(n64) exceeds the format's limit of \(SafeTensors.maxHeaderBytes) bytes")
        }
        var st = stat()
        if fstat(fileno(f), &st) == 0 && UInt64(max(st.st_size, 0)) < 8 + n64 {
            throw bad("header length \(n64) but the file has \(st.st_size) bytes (truncated file)")
        }
        var bytes = [UInt8](repeating: 0, count: Int(n64))
        if n64 > 0 && fread(&bytes, 1, Int(n64), f) != Int(n64) { throw bad("truncated header") }
        let root: JSONValue
        do { root = try JSONValue.parse(bytes) } catch let e as LaminaError { throw bad("header: \(e.message)") }
        guard let o = root.objectValue else { throw bad("the header is not a JSON object") }
        var h = SafeTensorsHeader()
        for (name, v) in o.entries where name != "__metadata__" {
            guard let info = v.objectValue, let dtype = info["dtype"]?.stringValue, let dims = info["shape"]?.arrayValue else {
                throw bad("tensor '\(name)' has no dtype or shape")
            }
            var shape: [Int] = []
            for x in dims {
                guard let v = x.int64Value, v >= 0, v <= Int64(Int32.max) * 16 else { throw bad("tensor '\(name)' has a bad shape") }
                shape.append(Int(v))
            }
            h.tensors[name] = (dtype, shape)
        }
        return h
    }

    /// Every expected tensor is present with exactly its shape and a floating-point dtype, and no
    /// other tensor is present (a tensor Lamina would not use is refused, never dropped).
    func expect(_ expected: [(name: String, shape: [Int])], cfgPath: String) throws {
        for (name, shape) in expected {
            guard let t = tensors[name] else {
                throw LaminaError(.format, "the weights file has no tensor '\(name)' (it holds \(tensors.keys.sorted())), which '\(cfgPath)' requires")
            }
            if t.shape != shape {
                throw LaminaError(.format, "tensor '\(name)' has shape \(t.shape) but '\(cfgPath)' gives \(shape)")
            }
            if !["F32", "F16", "BF16", "F64"].contains(t.dtype) {
                throw LaminaError(.format, "tensor '\(name)' has dtype \(t.dtype); expected F32, F16, BF16 or F64")
            }
        }
        let names = Set(expected.map(\.name))
        for name in tensors.keys.sorted() where !names.contains(name) {
            throw LaminaError(.format, "the weights file holds tensor '\(name)', which this SAE's cfg.json does not use; refusing to drop it")
        }
    }
}

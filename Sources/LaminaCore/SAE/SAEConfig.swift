#if canImport(Glibc)
import Glibc
#endif

/// Sparse autoencoder architectures (the activation rule of the encoder).
package enum SAEArchitecture: Int32, Sendable, CaseIterable {
    /// z = TopK_k(ReLU(pre)) per row (Gao et al. 2024; sparsify).
    case topK = 0
    /// Top k*B activations of ReLU(pre) over the whole batch while training (Bussmann et al. 2024);
    /// inference is JumpReLU with the learned threshold.
    case batchTopK = 1
    /// z = ReLU(pre) with an L1 penalty lambda * sum_i z_i ||W_dec,i|| (Anthropic, April 2024 update).
    case relu = 2
    /// z = pre * H(pre - theta_i) with a straight-through estimator and an L0 penalty
    /// (Rajamanoharan et al. 2024; SAELens JumpReLU training SAE).
    case jumpReLU = 3
    /// Matryoshka BatchTopK (Bussmann et al. 2025): BatchTopK codes over the whole dictionary, loss
    /// sum_g w_g FVU of the prefix decoder W_dec[:m_g]; inference is JumpReLU with the learned threshold.
    case matryoshkaBatchTopK = 4

    package var name: String { rule.name }

    /// TopK and BatchTopK train with the fvu + AuxK objective and unit-norm decoder rows.
    package var isTopKFamily: Bool { rule.objective == .fvuAuxK }
}

package enum SAEDecay: Int32, Sendable, CaseIterable {
    case none = 0, linear = 1, cosine = 2
}

package enum SAEBiasInit: Int32, Sendable, CaseIterable {
    case mean = 0, geometricMedian = 1, zero = 2
}

/// Initialisation of W_enc and W_dec (C: LAMINA_SAE_INIT_*; Python init="auto" | "sparsify" | "tied").
/// Measured at equal tokens against each architecture's reference (benchmarks/bench_sae_curves.py).
package enum SAEWeightInit: Int32, Sendable, CaseIterable {
    /// The architecture's default: `.sparsify` for TopK and BatchTopK, `.tied` for ReLU and JumpReLU.
    case auto = 0
    /// sparsify's: W_enc rows ~ U(-1/sqrt(d_in), 1/sqrt(d_in)) iid (torch nn.Linear's default; row norm
    /// about 1/sqrt(3)), W_dec = each W_enc row scaled to the decoder norm (1 for the TopK family).
    case sparsify = 1
    /// W_dec rows ~ N(0, I) scaled to the decoder norm (1 for the TopK family, 0.1 for ReLU and
    /// JumpReLU), W_enc = W_dec^T (Anthropic, SAELens, dictionary_learning; Lamina's only init before this option).
    case tied = 2

    package var name: String { ["auto", "sparsify", "tied"][Int(rawValue)] }

    /// The rule `.auto` stands for with `architecture`.
    package func resolved(for architecture: SAEArchitecture) -> SAEWeightInit {
        self != .auto ? self : architecture.rule.defaultWeightInit
    }
}

/// Hyperparameters of an SAE and of its training. Defaults follow the recipe (SAE_RECIPE.md /
/// sparsify): lr = 2e-4 / sqrt(n_latents / 2^14) when `learningRate` is 0.
package struct SAEConfig: Sendable, Equatable {
    package var dIn: Int
    package var nLatents: Int
    package var architecture: SAEArchitecture = .topK
    package var k: Int = 32
    /// 0 = the default 2e-4 / sqrt(n_latents / 2^14).
    package var learningRate: Double = 0
    package var batchSize: Int = 4096
    package var adam = AdamConfig()
    /// AuxK coefficient (TopK/BatchTopK); 0 disables AuxK.
    package var auxkAlpha: Double = 1.0 / 32
    /// 0 = d_in / 2 (Gao et al. appendix B.1).
    package var kAux: Int = 0
    /// A latent is dead when it has not fired within the last `deadTokens` training tokens.
    package var deadTokens: Int = 10_000_000
    /// ReLU: lambda of the L1 penalty; JumpReLU: coefficient of the L0 penalty.
    package var l1Coefficient: Double = 5
    /// Steps of linear warm-up of the sparsity coefficient from 0 (ReLU and JumpReLU).
    package var l1WarmupSteps: Int = 0
    /// JumpReLU: initial threshold and rectangle-kernel bandwidth epsilon (the defaults of SAELens before 6; SAELens 6
    /// uses 0.01 and 0.05 with l0_coefficient 1 -- not measured against these yet).
    package var jumpReLUInitThreshold: Double = 0.001
    package var jumpReLUBandwidth: Double = 0.001
    /// BatchTopK: rate of the running threshold estimate (SAELens topk_threshold_lr).
    package var thresholdRate: Double = 0.01
    package var warmupSteps: Int = 0
    package var decay: SAEDecay = .none
    /// Steps at the end of training over which the lr decays (0 = every step after warm-up).
    package var decaySteps: Int = 0
    /// Max global gradient L2 norm (torch.nn.utils.clip_grad_norm_); 0 = no clipping.
    package var gradClip: Double = 0
    package var bDecInit: SAEBiasInit = .mean
    /// W_enc / W_dec initialisation (`.auto` = the architecture's measured default).
    package var weightInit: SAEWeightInit = .auto
    /// Scale inputs so that E||x|| = sqrt(d_in) while training (estimated on the b_dec sample);
    /// the scale is folded back into the exported weights.
    package var normalizeInput: Bool = false
    package var seed: UInt64 = 0
    /// Matryoshka: group widths m_1 < ... < m_G = n_latents (the prefixes W_dec[:m_g]) and their loss
    /// weights w_g (empty = every weight 1, SAELens' sum of the prefix losses). Empty for every
    /// other architecture.
    package var groupWidths: [Int] = []
    package var groupWeights: [Double] = []
    /// The most groups a Matryoshka SAE has (C: LAMINA_SAE_MAX_GROUPS).
    package static let maxGroups = 16

    /// The weight of each group (1 each when `groupWeights` is empty).
    package var effectiveGroupWeights: [Double] {
        groupWeights.isEmpty ? [Double](repeating: 1, count: groupWidths.count) : groupWeights
    }

    package init(dIn: Int, nLatents: Int) {
        self.dIn = dIn
        self.nLatents = nLatents
    }

    package var effectiveLearningRate: Double {
        learningRate > 0 ? learningRate : 2e-4 / (Double(nLatents) / 16384).squareRoot()
    }

    package var effectiveKAux: Int { kAux > 0 ? kAux : max(1, dIn / 2) }

    /// Throws a LaminaError naming the first invalid field.
    package func check() throws {
        func bad(_ message: String) -> LaminaError { LaminaError.invalid(message) }
        if dIn < 1 { throw bad("d_in is \(dIn); expected >= 1") }
        if nLatents < 1 { throw bad("n_latents is \(nLatents); expected >= 1") }
        if dIn > 1 << 24 { throw bad("d_in is \(dIn); expected <= \(1 << 24)") }
        if nLatents > 1 << 26 { throw bad("n_latents is \(nLatents); expected <= \(1 << 26)") }
        let (params, overflow) = dIn.multipliedReportingOverflow(by: nLatents)
        if overflow || params > 1 << 33 {
            throw LaminaError(.outOfMemory, "d_in * n_latents = \(dIn) * \(nLatents) is too large; expected <= 2^33 weights")
        }
        if architecture.isTopKFamily {
            if k < 1 || k > nLatents { throw bad("k is \(k); expected 1 <= k <= n_latents (\(nLatents))") }
        }
        try checkGroups()
        if !(learningRate >= 0 && learningRate.isFinite) {
            throw bad("lr is \(learningRate); expected a finite value > 0 (or 0 for the automatic 2e-4 / sqrt(n_latents / 2^14))")
        }
        if batchSize < 1 || batchSize > 1 << 24 { throw bad("batch_size is \(batchSize); expected 1 <= batch_size <= \(1 << 24)") }
        if let problem = adam.problem { throw bad(problem) }
        if !(auxkAlpha >= 0 && auxkAlpha.isFinite) { throw bad("auxk_alpha is \(auxkAlpha); expected a finite value >= 0") }
        if kAux < 0 { throw bad("k_aux is \(kAux); expected >= 0 (0 = d_in / 2)") }
        if deadTokens < 0 { throw bad("dead_tokens is \(deadTokens); expected >= 0") }
        if !(l1Coefficient >= 0 && l1Coefficient.isFinite) { throw bad("l1_coefficient is \(l1Coefficient); expected a finite value >= 0") }
        if l1WarmupSteps < 0 { throw bad("l1_warmup_steps is \(l1WarmupSteps); expected >= 0") }
        if !(jumpReLUInitThreshold > 0 && jumpReLUInitThreshold.isFinite) {
            throw bad("jumprelu_init_threshold is \(jumpReLUInitThreshold); expected a finite value > 0")
        }
        if !(jumpReLUBandwidth > 0 && jumpReLUBandwidth.isFinite) {
            throw bad("jumprelu_bandwidth is \(jumpReLUBandwidth); expected a finite value > 0")
        }
        if !(thresholdRate > 0 && thresholdRate <= 1) { throw bad("threshold_rate is \(thresholdRate); expected 0 < rate <= 1") }
        if warmupSteps < 0 { throw bad("warmup_steps is \(warmupSteps); expected >= 0") }
        if decaySteps < 0 { throw bad("decay_steps is \(decaySteps); expected >= 0") }
        if !(gradClip >= 0 && gradClip.isFinite) { throw bad("grad_clip is \(gradClip); expected a finite value >= 0 (0 = off)") }
        let need = estimatedTrainingBytes, have = Memory.availableBytes
        if need > have {
            throw LaminaError(.outOfMemory, "training this SAE needs about \(need >> 20) MiB (weights, Adam moments, gradients and batch buffers for d_in = \(dIn), n_latents = \(nLatents), batch_size = \(batchSize)); \(Memory.limitDescription(have))")
        }
    }

    /// The Matryoshka groups: given exactly for `.matryoshkaBatchTopK` (1 to 16 strictly increasing
    /// widths ending at n_latents, weights empty or one finite value >= 0 per group, not all 0), and
    /// refused for every other architecture (never silently ignored).
    package func checkGroups() throws {
        func bad(_ message: String) -> LaminaError { LaminaError.invalid(message) }
        if architecture != .matryoshkaBatchTopK {
            if !groupWidths.isEmpty || !groupWeights.isEmpty {
                throw bad("group_widths / group_weights are given (\(groupWidths.count) / \(groupWeights.count) values) but architecture is '\(architecture.name)'; only 'matryoshka_batchtopk' has groups")
            }
            return
        }
        let m = groupWidths
        if m.isEmpty || m.count > SAEConfig.maxGroups {
            throw bad("group_widths has \(m.count) values; expected 1 to \(SAEConfig.maxGroups) widths m_1 < ... < m_G = n_latents (\(nLatents))")
        }
        if m[0] < 1 { throw bad("group_widths[0] is \(m[0]); expected >= 1") }
        for g in 1..<max(m.count, 1) where m[g] <= m[g - 1] {
            throw bad("group_widths is \(m); expected strictly increasing widths (group_widths[\(g)] = \(m[g]) <= group_widths[\(g - 1)] = \(m[g - 1]))")
        }
        if m[m.count - 1] != nLatents {
            throw bad("group_widths is \(m); the last width must be n_latents (\(nLatents)), got \(m[m.count - 1])")
        }
        if !groupWeights.isEmpty {
            if groupWeights.count != m.count {
                throw bad("group_weights has \(groupWeights.count) values; expected one per group (\(m.count))")
            }
            for (g, w) in groupWeights.enumerated() where !(w >= 0 && w.isFinite) {
                throw bad("group_weights[\(g)] is \(w); expected a finite value >= 0")
            }
            if !groupWeights.contains(where: { $0 > 0 }) { throw bad("group_weights are all 0; expected at least one weight > 0") }
        }
    }

    /// Bytes held while training: 8 n x d matrices (weights, Adam moments, gradients), 5 batch x d
    /// buffers, and for ReLU/JumpReLU two batch x n buffers of the dense path (float32).
    package var estimatedTrainingBytes: Int {
        let nd = Double(nLatents) * Double(dIn), bd = Double(batchSize) * Double(dIn), bn = Double(batchSize) * Double(nLatents)
        let floats = 8 * nd + (5 + Double(groupWidths.count)) * bd + (architecture.isTopKFamily ? 0 : 2 * bn)
        let bytes = floats * 4
        return bytes > 9e18 ? Int.max : Int(bytes)
    }


    /// Learning-rate multiplier of step t (1-based) of `total` steps: linear warm-up t / warmup over
    /// the first `warmupSteps` steps, then (decay != none) over the last D steps (D = decaySteps, or
    /// every step after warm-up) linear (T - t + 1) / D or cosine 0.5 (1 + cos(pi (t - T + D - 1) / D)).
    package func lrMultiplier(step t: Int, total: Int) -> Double {
        var m = 1.0
        if warmupSteps > 0 && t < warmupSteps { m = Double(t) / Double(warmupSteps) }
        if decay != .none && total > 0 {
            let span = decaySteps > 0 ? min(decaySteps, total) : max(1, total - warmupSteps)
            let start = total - span  // steps start+1 ... total decay
            if t > start {
                let done = Double(t - start - 1) / Double(span)  // 0 at the first decaying step
                switch decay {
                case .linear: m *= 1 - done
                case .cosine: m *= 0.5 * (1 + cos(Double.pi * done))
                case .none: break
                }
            }
        }
        return m
    }

    /// Multiplier of the sparsity coefficient at step t (linear warm-up from 0).
    package func sparsityMultiplier(step t: Int) -> Double {
        l1WarmupSteps > 0 && t < l1WarmupSteps ? Double(t) / Double(l1WarmupSteps) : 1
    }
}

/// A foreign cfg.json (SAELens or sparsify) read field by field. Every field is implemented, known
/// metadata that does not change the computation, or refused with a format error naming it and its
/// value -- never ignored.
///
/// SAELens (6.x, and the v5 names):
///  - matryoshka_batchtopk (SAELens' training layout): k (integer-valued), topk_threshold_lr,
///    matryoshka_widths (checked as group widths), rescale_acts_by_decoder_norm (folded, default true) and
///    the scalar tensor topk_threshold (every latent's threshold) are implemented; aux_loss_coefficient,
///    use_sparse_activations, use_matryoshka_aux_loss and decoder_init_norm are training-only metadata (SAELens' AuxK is not
///    variance-normalised like Lamina's, so its coefficient is not Lamina's auxk_alpha and is not written).
///  - implemented: architecture ("standard" | "topk" | "jumprelu"), d_in, d_sae, k (topk; SAELens'
///    default 100 when absent), apply_b_dec_to_input (false: folded into b_enc, b_enc += W_enc b_dec),
///    rescale_acts_by_decoder_norm (topk; folded: W_enc and b_enc rows times ||W_dec_j||, W_dec rows
///    divided by it -- the same codes and reconstructions), normalize_activations ("none",
///    "constant_norm_rescale", "layer_norm", run per row as SAELens does), activation_fn_str /
///    activation_fn_kwargs (v5: must agree with the architecture), finetuning_scaling_factor (false only).
///  - metadata: dtype (Lamina computes in float32 whatever it says), device, metadata,
///    reshape_activations ("none" | "hook_z": rows are the flattened n_heads * d_head values), and the
///    v5 run fields in `saelensMetadata`.
///  - refused: other architectures, normalize_activations "expected_average_only_in" and
///    "covariance_whitening" (their factors are not in the file; SAELens folds them into the weights
///    when training ends), any other field.
/// sparsify (1.3):
///  - implemented: d_in, num_latents (0 = d_in * expansion_factor), expansion_factor, k, activation
///    ("topk"), skip_connection (W_skip: x_hat += W_skip x).
///  - metadata: normalize_decoder and multi_topk (training only).
///  - refused: activation "groupmax", transcode = true, any other field.
struct SAEForeignConfig {
    var config: SAEConfig
    var format: SAEFormat
    var applyBDecToInput = true
    var rescaleByDecoderNorm = false
    var normalization: SAEInputNormalization = .none
    var skipConnection = false

    /// SAELens' v5 descriptive fields (where the activations came from); none changes the computation.
    static let saelensMetadata: Set<String> = [
        "dtype", "device", "metadata", "model_name", "hook_name", "hook_layer", "hook_head_index", "hook_point",
        "hook_point_layer", "hook_point_head_index", "context_size", "dataset_path", "dataset_trust_remote_code",
        "prepend_bos", "sae_lens_training_version", "sae_lens_version", "model_from_pretrained_kwargs",
        "seqpos_slice", "neuronpedia_id", "exclude_special_tokens", "model_class_name",
    ]

    var hasThreshold: Bool { config.architecture.rule.hasThreshold }

    /// The tensors the weights file must hold, with their shapes, and nothing else.
    var tensors: [(name: String, shape: [Int])] {
        let n = config.nLatents, d = config.dIn
        switch format {
        case .saelens:
            var t = [("W_enc", [d, n]), ("W_dec", [n, d]), ("b_enc", [n]), ("b_dec", [d])]
            if config.architecture == .matryoshkaBatchTopK { t.append(("topk_threshold", [])) }
            else if hasThreshold { t.append(("threshold", [n])) }
            return t.map { (name: $0.0, shape: $0.1) }
        case .sparsify:
            var t = [("encoder.weight", [n, d]), ("encoder.bias", [n]), ("W_dec", [n, d]), ("b_dec", [d])]
            if skipConnection { t.append(("W_skip", [d, d])) }
            return t.map { (name: $0.0, shape: $0.1) }
        }
    }

    static func describe(_ v: JSONValue) -> String { (try? v.serialized()) ?? v.typeName }

    static func refuse(_ path: String, _ key: String, _ v: JSONValue, _ why: String) -> LaminaError {
        LaminaError(.format, "'\(path)': field '\(key)' = \(describe(v)) is not supported: \(why)")
    }

    /// A positive integer field; nil when absent (or null).
    static func count(_ c: JSONObject, _ key: String, _ path: String, allowZero: Bool = false) throws -> Int? {
        guard let v = c[key], !v.isNull else { return nil }
        guard let i = v.int64Value, i >= (allowZero ? 0 : 1), i <= Int64(Int.max / 4) else {
            throw LaminaError(.format, "'\(path)': field '\(key)' = \(describe(v)); expected a positive integer")
        }
        return Int(i)
    }

    static func bool(_ c: JSONObject, _ key: String, _ path: String, default def: Bool) throws -> Bool {
        guard let v = c[key], !v.isNull else { return def }
        guard let b = v.boolValue else { throw LaminaError(.format, "'\(path)': field '\(key)' = \(describe(v)); expected true or false") }
        return b
    }

    static func saelens(_ c: JSONObject, _ path: String) throws -> SAEForeignConfig {
        guard let d = try count(c, "d_in", path), let n = try count(c, "d_sae", path) else {
            throw LaminaError(.format, "'\(path)': d_in and d_sae must be positive integers")
        }
        var spec = SAEForeignConfig(config: SAEConfig(dIn: d, nLatents: n), format: .saelens)
        let actStr = c["activation_fn_str"].flatMap { $0.isNull ? nil : $0 }
        if let actStr, actStr.stringValue == nil { throw refuse(path, "activation_fn_str", actStr, "expected a string") }
        let archValue = c["architecture"].flatMap { $0.isNull ? nil : $0 }
        let arch: String
        if let archValue {
            guard let a = archValue.stringValue else { throw refuse(path, "architecture", archValue, "expected a string") }
            arch = a
        } else {
            // v5 files without an architecture: the activation function says which.
            switch actStr?.stringValue ?? "relu" {
            case "relu": arch = "standard"
            case "topk": arch = "topk"
            default: throw refuse(path, "activation_fn_str", actStr!, "expected 'relu' or 'topk'")
            }
        }
        var known: Set<String> = ["architecture", "d_in", "d_sae", "apply_b_dec_to_input", "normalize_activations",
                                  "reshape_activations", "activation_fn_str", "activation_fn_kwargs",
                                  "finetuning_scaling_factor", "lamina"]
        let expectedAct: String
        switch arch {
        case "standard": spec.config.architecture = .relu; expectedAct = "relu"
        case "jumprelu": spec.config.architecture = .jumpReLU; expectedAct = "relu"
        case "topk":
            spec.config.architecture = .topK; expectedAct = "topk"
            known.formUnion(["k", "rescale_acts_by_decoder_norm"])
            let kwK = try c["activation_fn_kwargs"]?.objectValue.flatMap { try count($0, "k", path) }
            let k = try count(c, "k", path) ?? kwK ?? 100
            if let kwK, kwK != k {
                throw LaminaError(.format, "'\(path)': k = \(k) but activation_fn_kwargs.k = \(kwK); they must agree")
            }
            if k > n { throw LaminaError(.format, "'\(path)': field 'k' = \(k) exceeds d_sae = \(n)") }
            spec.config.k = k
            spec.rescaleByDecoderNorm = try bool(c, "rescale_acts_by_decoder_norm", path, default: false)
        case "matryoshka_batchtopk":
            // SAELens' training layout (MatryoshkaBatchTopKTrainingSAEConfig): k (a float in SAELens,
            // an integer here), topk_threshold_lr, matryoshka_widths; the scalar topk_threshold tensor.
            spec.config.architecture = .matryoshkaBatchTopK; expectedAct = "none"
            known.formUnion(["k", "rescale_acts_by_decoder_norm", "topk_threshold_lr", "matryoshka_widths",
                             "aux_loss_coefficient", "use_sparse_activations", "decoder_init_norm",
                             "use_matryoshka_aux_loss"])
            if let v = c["k"], !v.isNull {
                guard let x = v.doubleValue, x >= 1, x <= Double(n), x.rounded() == x else {
                    throw refuse(path, "k", v, "expected an integer 1 <= k <= d_sae (\(n)); Lamina's BatchTopK keeps an integer k*B codes per batch")
                }
                spec.config.k = Int(x)
            } else { spec.config.k = min(100, n) }
            if let v = c["topk_threshold_lr"], !v.isNull {
                guard let x = v.doubleValue, x > 0, x <= 1 else { throw refuse(path, "topk_threshold_lr", v, "expected 0 < rate <= 1") }
                spec.config.thresholdRate = x
            }
            guard let wv = c["matryoshka_widths"], let wa = wv.arrayValue, !wa.isEmpty, wa.count <= SAEConfig.maxGroups else {
                throw LaminaError(.format, "'\(path)': field 'matryoshka_widths' = \(c["matryoshka_widths"].map { describe($0) } ?? "(absent)"); expected 1 to \(SAEConfig.maxGroups) widths ending at d_sae")
            }
            spec.config.groupWidths = try wa.map {
                guard let i = $0.int64Value, i >= 1, i <= Int64(n) else { throw refuse(path, "matryoshka_widths", wv, "expected integers 1..d_sae (\(n))") }
                return Int(i)
            }
            do { try spec.config.checkGroups() } catch let e as LaminaError { throw LaminaError(.format, "'\(path)': \(e.message)") }
            // Training-only options (they do not change what the saved SAE computes).
            _ = try bool(c, "use_sparse_activations", path, default: false)
            _ = try bool(c, "use_matryoshka_aux_loss", path, default: false)  // SAELens >= 6.5x: AuxK per level
            spec.rescaleByDecoderNorm = try bool(c, "rescale_acts_by_decoder_norm", path, default: true)
        default:
            throw refuse(path, "architecture", archValue ?? .string(arch), "Lamina runs 'standard', 'topk', 'jumprelu' and 'matryoshka_batchtopk' SAEs (a BatchTopK SAE is saved as the jumprelu it runs as)")
        }
        if let actStr, arch == "matryoshka_batchtopk" { throw refuse(path, "activation_fn_str", actStr, "a SAELens 6 matryoshka_batchtopk config has no activation_fn_str") }
        if let actStr, actStr.stringValue != expectedAct {
            throw refuse(path, "activation_fn_str", actStr, "architecture '\(arch)' runs '\(expectedAct)'")
        }
        if let kw = c["activation_fn_kwargs"], !kw.isNull {
            guard let o = kw.objectValue else { throw refuse(path, "activation_fn_kwargs", kw, "expected an object") }
            for key in o.keys where !(arch == "topk" && key == "k") {
                throw refuse(path, "activation_fn_kwargs.\(key)", o[key]!, "no activation option other than topk's k is implemented")
            }
        }
        if try bool(c, "finetuning_scaling_factor", path, default: false) {
            throw refuse(path, "finetuning_scaling_factor", .bool(true), "the fine-tuning scaling factor is not implemented")
        }
        spec.applyBDecToInput = try bool(c, "apply_b_dec_to_input", path, default: true)
        if let v = c["normalize_activations"], !v.isNull {
            switch v.stringValue {
            case "none": spec.normalization = .none
            case "constant_norm_rescale": spec.normalization = .constantNormRescale
            case "layer_norm": spec.normalization = .layerNorm
            case "expected_average_only_in", "covariance_whitening":
                throw refuse(path, "normalize_activations", v, "its factors are not stored in the file (SAELens folds them into the weights when training ends); expected 'none', 'constant_norm_rescale' or 'layer_norm'")
            default:
                throw refuse(path, "normalize_activations", v, "expected 'none', 'constant_norm_rescale' or 'layer_norm'")
            }
        }
        if let v = c["reshape_activations"], !v.isNull, v.stringValue != "none" && v.stringValue != "hook_z" {
            throw refuse(path, "reshape_activations", v, "expected 'none' or 'hook_z'")
        }
        for key in c.keys where !known.contains(key) && !saelensMetadata.contains(key) {
            throw refuse(path, key, c[key]!, "Lamina does not know this SAELens field")
        }
        return spec
    }

    static func sparsify(_ c: JSONObject, _ path: String) throws -> SAEForeignConfig {
        guard let d = try count(c, "d_in", path) else { throw LaminaError(.format, "'\(path)': d_in must be a positive integer") }
        var n = try count(c, "num_latents", path, allowZero: true) ?? 0
        if n == 0 {
            // sparsify: num_latents or d_in * expansion_factor (default 32), overflow-checked.
            let ef = try count(c, "expansion_factor", path) ?? 32
            let (p, o) = d.multipliedReportingOverflow(by: ef)
            if o || p > 1 << 40 {
                throw LaminaError(.format, "'\(path)': d_in * expansion_factor = \(d) * \(ef) is out of range")
            }
            n = p
        } else if let ef = c["expansion_factor"], !ef.isNull {
            _ = try count(c, "expansion_factor", path)  // unused when num_latents is given, but must be valid
            _ = ef
        }
        var spec = SAEForeignConfig(config: SAEConfig(dIn: d, nLatents: n), format: .sparsify)
        spec.config.architecture = .topK
        let k = try count(c, "k", path) ?? 32
        if k > n { throw LaminaError(.format, "'\(path)': field 'k' = \(k) exceeds num_latents = \(n)") }
        spec.config.k = k
        if let v = c["activation"], !v.isNull, v.stringValue != "topk" {
            throw refuse(path, "activation", v, "Lamina runs sparsify's 'topk' activation only")
        }
        if try bool(c, "transcode", path, default: false) {
            throw refuse(path, "transcode", .bool(true), "a transcoder predicts another layer's activations; Lamina loads autoencoders")
        }
        spec.skipConnection = try bool(c, "skip_connection", path, default: false)
        _ = try bool(c, "normalize_decoder", path, default: true)  // training only
        _ = try bool(c, "multi_topk", path, default: false)        // training loss only
        let known: Set<String> = ["d_in", "num_latents", "expansion_factor", "k", "activation", "transcode", "skip_connection",
                                  "normalize_decoder", "multi_topk", "lamina"]
        for key in c.keys where !known.contains(key) {
            throw refuse(path, key, c[key]!, "Lamina does not know this sparsify field")
        }
        return spec
    }

    /// Takes Lamina's own parameters (lamina.json) when they describe the same SAE as cfg.json.
    mutating func adopt(_ own: SAEConfig, _ path: String) throws {
        let c = config
        let sameArch = own.architecture == c.architecture || (own.architecture == .batchTopK && c.architecture == .jumpReLU)
        if own.dIn != c.dIn || own.nLatents != c.nLatents || !sameArch || (c.architecture == .topK && own.k != c.k)
            || (c.architecture == .matryoshkaBatchTopK && (own.k != c.k || own.groupWidths != c.groupWidths)) {
            throw LaminaError(.format, "'\(path)' describes a \(own.architecture.name) SAE with d_in = \(own.dIn), n_latents = \(own.nLatents), k = \(own.k) but cfg.json a \(c.architecture.name) SAE with d_in = \(c.dIn), n_latents = \(c.nLatents), k = \(c.k); remove the stale \(path)")
        }
        config = own
    }

    /// Folds rescale_acts_by_decoder_norm and apply_b_dec_to_input = false into the parameters
    /// (row-per-latent storage), in float64.
    func fold(wEnc: FloatBuffer, bEnc: FloatBuffer, wDec: FloatBuffer, bDec: FloatBuffer, threshold: FloatBuffer,
              n: Int, d: Int, cfgPath: String) throws {
        if rescaleByDecoderNorm {
            for j in 0..<n {
                let norm = Vec.sumSquares(wDec.p + j * d, d).squareRoot()
                if !(norm > 0) || !norm.isFinite {
                    throw LaminaError(.format, "'\(cfgPath)': rescale_acts_by_decoder_norm is true but W_dec row \(j) has norm \(norm)")
                }
                let up = Float(norm), down = Float(1 / norm)
                for i in 0..<d { wEnc[j * d + i] *= up; wDec[j * d + i] *= down }
                bEnc[j] = Float(Double(bEnc[j]) * norm)
            }
        }
        if !applyBDecToInput {
            for j in 0..<n {
                var dot = 0.0
                for i in 0..<d { dot += Double(wEnc[j * d + i]) * Double(bDec[i]) }
                bEnc[j] = Float(Double(bEnc[j]) + dot)
            }
        }
    }
}

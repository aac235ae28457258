#if canImport(Glibc)
import Glibc
#endif

/// Sparse autoencoder architectures (the activation rule of the encoder).
public enum SAEArchitecture: Int32, Sendable, CaseIterable {
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

    public var name: String { rule.name }

    /// TopK and BatchTopK train with the fvu + AuxK objective and unit-norm decoder rows.
    public var isTopKFamily: Bool { rule.objective == .fvuAuxK }
}

public enum SAEDecay: Int32, Sendable, CaseIterable {
    case none = 0, linear = 1, cosine = 2
}

public enum SAEBiasInit: Int32, Sendable, CaseIterable {
    case mean = 0, geometricMedian = 1, zero = 2
}

/// Hyperparameters of an SAE and of its training. Defaults follow the recipe (SAE_RECIPE.md /
/// sparsify): lr = 2e-4 / sqrt(n_latents / 2^14) when `learningRate` is 0.
public struct SAEConfig: Sendable, Equatable {
    public var dIn: Int
    public var nLatents: Int
    public var architecture: SAEArchitecture = .topK
    public var k: Int = 32
    /// 0 = the default 2e-4 / sqrt(n_latents / 2^14).
    public var learningRate: Double = 0
    public var batchSize: Int = 4096
    public var adam = AdamConfig()
    /// AuxK coefficient (TopK/BatchTopK); 0 disables AuxK.
    public var auxkAlpha: Double = 1.0 / 32
    /// 0 = d_in / 2 (Gao et al. appendix B.1).
    public var kAux: Int = 0
    /// A latent is dead when it has not fired within the last `deadTokens` training tokens.
    public var deadTokens: Int = 10_000_000
    /// ReLU: lambda of the L1 penalty; JumpReLU: coefficient of the L0 penalty.
    public var l1Coefficient: Double = 5
    /// Steps of linear warm-up of the sparsity coefficient from 0 (ReLU and JumpReLU).
    public var l1WarmupSteps: Int = 0
    /// JumpReLU: initial threshold and rectangle-kernel bandwidth epsilon (SAELens defaults).
    public var jumpReLUInitThreshold: Double = 0.001
    public var jumpReLUBandwidth: Double = 0.001
    /// BatchTopK: rate of the running threshold estimate (SAELens topk_threshold_lr).
    public var thresholdRate: Double = 0.01
    public var warmupSteps: Int = 0
    public var decay: SAEDecay = .none
    /// Steps at the end of training over which the lr decays (0 = every step after warm-up).
    public var decaySteps: Int = 0
    /// Max global gradient L2 norm (torch.nn.utils.clip_grad_norm_); 0 = no clipping.
    public var gradClip: Double = 0
    public var bDecInit: SAEBiasInit = .mean
    /// Scale inputs so that E||x|| = sqrt(d_in) while training (estimated on the b_dec sample);
    /// the scale is folded back into the exported weights.
    public var normalizeInput: Bool = false
    public var seed: UInt64 = 0

    public init(dIn: Int, nLatents: Int) {
        self.dIn = dIn
        self.nLatents = nLatents
    }

    public var effectiveLearningRate: Double {
        learningRate > 0 ? learningRate : 2e-4 / (Double(nLatents) / 16384).squareRoot()
    }

    public var effectiveKAux: Int { kAux > 0 ? kAux : max(1, dIn / 2) }

    /// Throws a LaminaError naming the first invalid field.
    public func check() throws {
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
        let need = estimatedTrainingBytes, have = SAEConfig.physicalMemoryBytes
        if need > have {
            throw LaminaError(.outOfMemory, "training this SAE needs about \(need >> 20) MiB (weights, Adam moments, gradients and batch buffers for d_in = \(dIn), n_latents = \(nLatents), batch_size = \(batchSize)); the machine has \(have >> 20) MiB")
        }
    }

    /// Bytes held while training: 8 n x d matrices (weights, Adam moments, gradients), 5 batch x d
    /// buffers, and for ReLU/JumpReLU two batch x n buffers of the dense path (float32).
    public var estimatedTrainingBytes: Int {
        let nd = Double(nLatents) * Double(dIn), bd = Double(batchSize) * Double(dIn), bn = Double(batchSize) * Double(nLatents)
        let floats = 8 * nd + 5 * bd + (architecture.isTopKFamily ? 0 : 2 * bn)
        let bytes = floats * 4
        return bytes > 9e18 ? Int.max : Int(bytes)
    }

    static var physicalMemoryBytes: Int {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), size = sysconf(Int32(_SC_PAGESIZE))
        if pages <= 0 || size <= 0 { return Int.max }
        return pages.multipliedReportingOverflow(by: size).overflow ? Int.max : pages * size
    }

    /// Learning-rate multiplier of step t (1-based) of `total` steps: linear warm-up t / warmup over
    /// the first `warmupSteps` steps, then (decay != none) over the last D steps (D = decaySteps, or
    /// every step after warm-up) linear (T - t + 1) / D or cosine 0.5 (1 + cos(pi (t - T + D - 1) / D)).
    public func lrMultiplier(step t: Int, total: Int) -> Double {
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
    public func sparsityMultiplier(step t: Int) -> Double {
        l1WarmupSteps > 0 && t < l1WarmupSteps ? Double(t) / Double(l1WarmupSteps) : 1
    }
}

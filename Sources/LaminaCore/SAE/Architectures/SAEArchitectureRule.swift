/// What an SAE architecture decides, in one place: its names, its objective and sparsity penalty
/// (which select the loss terms and gradient kernels of the trainer), whether the model carries a
/// per-latent threshold, the activation rule (selector) used for training and for inference, and
/// what it updates after a training step (BatchTopK's threshold estimate).
///
/// Each `SAEArchitecture` case has one conforming type (`TopKRule`, `BatchTopKRule`, `ReLURule`,
/// `JumpReLURule`) returned by `SAEArchitecture.rule`; the trainer, the model and the files ask the
/// rule instead of switching on the architecture. A new architecture is a new case, a new rule type
/// and its tests (see ARCHITECTURE.md, "Add an SAE architecture").
///
/// The properties are read once per step, outside the hot loops: the kernels branch on the
/// objective and penalty (plain enums), never through an existential call per entry.
protocol SAEArchitectureRule: Sendable {
    /// Name in Lamina's cfg.json, messages and `SAEArchitecture.name` ("topk").
    var name: String { get }
    /// SAELens' `architecture` when saved in the SAELens format ("standard", "topk", "jumprelu").
    var saelensName: String { get }
    /// The training objective family.
    var objective: SAEObjective { get }
    /// The sparsity penalty added to the reconstruction loss (and its gradient).
    var penalty: SAESparsityPenalty { get }
    /// The model carries a per-latent threshold: saved as the "threshold" tensor; inference keeps
    /// latent j when pre_j > max(threshold_j, 0).
    var hasThreshold: Bool { get }
    /// The trainer keeps a running threshold estimate (`SAETrainer.batchThreshold`, saved in
    /// checkpoints), started from the model's threshold.
    var keepsThresholdEstimate: Bool { get }
    /// The threshold every latent starts from (0 unless the architecture learns it from a start value).
    func initialThreshold(_ config: SAEConfig) -> Float
    /// The norm of each initial decoder row: 1 for the unit-norm objective (fvu + AuxK), 0.1 for the
    /// penalty objectives (Anthropic's and SAELens' recipe, whose decoder norms are free).
    var initialDecoderNorm: Double { get }
    /// What `SAEWeightInit.auto` stands for: the initialisation measured best at equal tokens against
    /// the architecture's reference (benchmarks/bench_sae_curves.py).
    var defaultWeightInit: SAEWeightInit { get }

    /// Training activation rule: encodes the trainer's centred batch (`trainer.xc`, rows x d_in) into
    /// `trainer.codes`.
    func encodeTraining(_ trainer: SAETrainer, rows: Int) throws
    /// Inference activation rule: codes of xc (rows x d_in, centred and scaled); `lower` holds the
    /// per-latent lower bounds (max(threshold, 0), or 0 without a threshold).
    func encodeInference(_ model: SparseAutoencoder, xc: UnsafePointer<Float>, rows: Int,
                         lower: UnsafePointer<Float>, into codes: SparseCodes)
    /// After a step's optimizer update and dead-latent tracking (the step's codes still in
    /// `trainer.codes`): state that the architecture keeps beyond the parameters.
    func finishStep(_ trainer: SAETrainer)
}

/// The objective families the trainer implements.
enum SAEObjective: Sendable {
    /// fvu + auxk_alpha * AuxK (Gao et al. 2024): k is validated, decoder rows are kept at unit norm
    /// (the gradient's component along its row removed, the row renormalised after the step), dead
    /// latents feed AuxK, and the step always runs on the sparse path.
    case fvuAuxK
    /// mse + lambda * penalty: free decoder norms; the step runs as dense gemms while the codes are
    /// dense (more than 5% non-zero), sparse otherwise.
    case msePenalty
}

/// Sparsity penalties (the term, its gradient and what the optimizer learns for it).
enum SAESparsityPenalty: Sendable {
    case none
    /// lambda / B * sum_b sum_j z_bj ||W_dec,j|| (Anthropic, April 2024): adds lambda/B ||W_dec,j|| to
    /// dz and lambda/B (sum_b z_bj) W_dec,j / ||W_dec,j|| to the decoder gradient.
    case l1DecoderNorm
    /// lambda / B * sum_b sum_j H(pre_bj - theta_j) with JumpReLU's straight-through estimator
    /// (rectangle kernel of width `jumprelu_bandwidth`): the trainer learns log(theta) with Adam.
    case l0JumpReLU
}

extension SAEArchitecture {
    /// The behaviour of this architecture (the one switch over the cases).
    var rule: any SAEArchitectureRule {
        switch self {
        case .topK: TopKRule()
        case .batchTopK: BatchTopKRule()
        case .relu: ReLURule()
        case .jumpReLU: JumpReLURule()
        case .matryoshkaBatchTopK: MatryoshkaBatchTopKRule()
        }
    }
}

extension SAEArchitectureRule {
    var hasThreshold: Bool { false }
    var keepsThresholdEstimate: Bool { false }
    func initialThreshold(_ config: SAEConfig) -> Float { 0 }
    var initialDecoderNorm: Double { objective == .fvuAuxK ? 1 : 0.1 }
    var defaultWeightInit: SAEWeightInit { objective == .fvuAuxK ? .sparsify : .tied }
    func finishStep(_ trainer: SAETrainer) {}

    /// The threshold rule: keep latent j with z = pre when pre > lower_j.
    func encodeInference(_ model: SparseAutoencoder, xc: UnsafePointer<Float>, rows: Int,
                                lower: UnsafePointer<Float>, into codes: SparseCodes) {
        SAEEncoderKernel.run(xc: xc, rows: rows, d: model.dIn, wEnc: model.wEnc.p, bEnc: model.bEnc.p,
                             nl: model.nLatents, selector: ThresholdSelector(lower: lower, active: lower), into: codes)
    }
}

/// Matryoshka BatchTopK (Bussmann, Nabeshima, Karvonen & Nanda 2025, "Learning Multi-Level Features
/// with Matryoshka Sparse Autoencoders").
///
/// Codes: exactly BatchTopK's (`BatchTopKRule`): the top k*B values of ReLU(pre) over the whole
/// B x n_latents batch -- one selection over the whole dictionary, not one per group; the same codes
/// feed every prefix. Loss: sum_g w_g ||x - x_hat_g||^2 / sum_b ||x_b - mean(x)||^2 with
/// x_hat_g = b_dec + z[:, :m_g] W_dec[:m_g] (the prefix decoders), plus auxk_alpha * AuxK on the
/// residual of the full decoder (m_G = n_latents), as for TopK. The running threshold (smallest positive
/// code of the step, rate `threshold_rate`) is BatchTopK's; inference is JumpReLU with it.
///
/// The references agree on the codes, the prefix reconstructions, the threshold and the AuxK residual
/// (the full reconstruction); they differ in the weighting of the prefix losses, which Lamina makes
/// explicit with `groupWeights`:
///  - SAELens (MatryoshkaBatchTopKTrainingSAE): sum of the per-prefix MSE (sum over d, mean over the
///    batch), every weight 1 -- Lamina's default (empty `groupWeights`).
///  - dictionary_learning (MatryoshkaBatchTopKTrainer): mean over groups of w_g * MSE_g with w_g = 1/G
///    by default, i.e. Lamina's weights w_g / G.
///  - Bussmann's matryoshka_sae: the mean of the G prefix MSEs and of the b_dec-only error (a prefix of
///    width 0, which Lamina has no group for).
/// Lamina's losses are FVUs (the MSE divided by the batch's total variance, as for TopK), a constant
/// factor per batch.
struct MatryoshkaBatchTopKRule: SAEArchitectureRule {
    var name: String { "matryoshka_batchtopk" }
    /// Saved in SAELens' training layout (architecture "matryoshka_batchtopk", matryoshka_widths,
    /// topk_threshold), which SAELens' TrainingSAE.load_from_disk reads back.
    var saelensName: String { "matryoshka_batchtopk" }
    var objective: SAEObjective { .fvuAuxK }
    var penalty: SAESparsityPenalty { .none }
    var hasThreshold: Bool { true }
    var keepsThresholdEstimate: Bool { true }

    func encodeTraining(_ trainer: SAETrainer, rows: Int) throws {
        try BatchTopKRule().encodeTraining(trainer, rows: rows)
    }

    func finishStep(_ trainer: SAETrainer) {
        BatchTopKRule().finishStep(trainer)
    }
}

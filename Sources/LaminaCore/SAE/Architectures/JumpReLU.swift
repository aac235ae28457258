/// JumpReLU (Rajamanoharan et al. 2024; SAELens' JumpReLU training SAE): z = pre * H(pre - theta_j)
/// with a straight-through estimator for theta and an L0 penalty; the trainer learns log(theta).
/// Training keeps the entries with pre > theta - bandwidth / 2 (those inside the estimator's window
/// carry a threshold gradient even when inactive); inference keeps pre > max(theta, 0).
struct JumpReLURule: SAEArchitectureRule {
    var name: String { "jumprelu" }
    var saelensName: String { "jumprelu" }
    var objective: SAEObjective { .msePenalty }
    var penalty: SAESparsityPenalty { .l0JumpReLU }
    var hasThreshold: Bool { true }
    func initialThreshold(_ config: SAEConfig) -> Float { Float(config.jumpReLUInitThreshold) }

    func encodeTraining(_ trainer: SAETrainer, rows: Int) throws {
        let model = trainer.model, nl = model.nLatents
        let eps = Float(trainer.config.jumpReLUBandwidth)
        let lower = FloatBuffer(nl, zero: 0)
        for j in 0..<nl { lower[j] = model.threshold[j] - eps / 2 }
        SAEEncoderKernel.run(xc: trainer.xc.p, rows: rows, d: model.dIn, wEnc: model.wEnc.p, bEnc: model.bEnc.p,
                             nl: nl, selector: ThresholdSelector(lower: lower.p, active: model.threshold.p),
                             into: trainer.codes)
    }
}

/// ReLU with an L1 penalty on z_j ||W_dec,j|| (Anthropic, April 2024 update; SAELens "standard"):
/// z = ReLU(pre) for training and inference.
struct ReLURule: SAEArchitectureRule {
    var name: String { "relu" }
    var saelensName: String { "standard" }
    var objective: SAEObjective { .msePenalty }
    var penalty: SAESparsityPenalty { .l1DecoderNorm }

    func encodeTraining(_ trainer: SAETrainer, rows: Int) throws {
        let model = trainer.model
        let lower = FloatBuffer(model.nLatents, zero: 0)
        SAEEncoderKernel.run(xc: trainer.xc.p, rows: rows, d: model.dIn, wEnc: model.wEnc.p, bEnc: model.bEnc.p,
                             nl: model.nLatents, selector: ThresholdSelector(lower: lower.p, active: lower.p),
                             into: trainer.codes)
    }
}

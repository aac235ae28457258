/// TopK (Gao et al. 2024; sparsify): z = TopK_k(ReLU(pre)) per row, for training and inference.
struct TopKRule: SAEArchitectureRule {
    var name: String { "topk" }
    var saelensName: String { "topk" }
    var objective: SAEObjective { .fvuAuxK }
    var penalty: SAESparsityPenalty { .none }

    func encodeTraining(_ trainer: SAETrainer, rows: Int) throws {
        let model = trainer.model
        SAEEncoderKernel.run(xc: trainer.xc.p, rows: rows, d: model.dIn, wEnc: model.wEnc.p, bEnc: model.bEnc.p,
                             nl: model.nLatents, selector: TopKSelector(cap: trainer.config.k), into: trainer.codes)
    }

    func encodeInference(_ model: SparseAutoencoder, xc: UnsafePointer<Float>, rows: Int,
                         lower: UnsafePointer<Float>, into codes: SparseCodes) {
        SAEEncoderKernel.run(xc: xc, rows: rows, d: model.dIn, wEnc: model.wEnc.p, bEnc: model.bEnc.p,
                             nl: model.nLatents, selector: TopKSelector(cap: model.config.k), into: codes)
    }
}

#if canImport(Glibc)
import Glibc
#endif

// StructuralProbe: data-parallel training through the reducer hook (include/lamina.h section 16,
// lamina_structural_probe_set_reducer). Every rank passes the SAME items (e.g. read from one shared
// file); the batch order is the single-process one (seed, epoch); rank r of R computes the items
// [off_r, off_r + n_r) of every batch (SAEDistribution.share: B / R items, one more for r < B % R), the
// gradient of its items' loss sum normalised by the WHOLE batch's item count; one float64 reduction per
// step of [dL/dB (rank x d) | loss sum] gives every rank the full-batch gradient and loss, so every rank
// applies the same Adam step. The dev loss (lr decay, best epoch, early stopping) is one float64
// reduction of the dev items' loss sums per epoch, split the same way. R ranks equal one process to
// float rounding (each rank sums its items before the ranks are added); R = 1 is bit-identical.

extension StructuralProbe {
    /// Runs `body`; distributed, the ranks then agree that every rank's body succeeded (one float64
    /// reduction of R flags): a rank that failed rethrows its error, the others name it.
    package func checkedOnEveryRank(_ dist: SAEDistribution?, _ what: String, _ body: () throws -> Void) throws {
        guard let dist else { try body(); return }
        if dist.worldSize < 1 || dist.rank < 0 || dist.rank >= dist.worldSize {
            throw LaminaError.invalid("rank is \(dist.rank), world_size is \(dist.worldSize); expected 0 <= rank < world_size")
        }
        try dist.agreeAllSucceeded(what, body)
    }

    /// One float64 reduction of R x P values: every rank compares every other rank's parameters, data
    /// sizes and data sums with its own; the first difference names the rank and the field.
    func agreeBeforeTraining(_ dist: SAEDistribution, items: RaggedItems, targets: UnsafeBufferPointer<Float>,
                             devItems: Int, start b: [Float]) throws {
        let p = parameters
        var xSum = 0.0
        for t in 0..<items.tokens {
            let row = items.x.row(t)
            for i in 0..<items.dims { xSum += Double(row[i]) }
        }
        var tSum = 0.0, bSum = 0.0
        for v in targets { tSum += Double(v) }
        for v in b { bSum += Double(v) }
        let fields: [(String, Double)] = [
            ("world_size", Double(dist.worldSize)), ("kind", Double(p.kind.rawValue)), ("rank (params)", Double(p.rank)),
            ("lr", p.learningRate), ("epochs", Double(p.epochs)), ("batch_size", Double(p.batchSize)),
            ("seed", Double(p.seed >> 32)), ("seed (low bits)", Double(p.seed & 0xffff_ffff)),
            ("beta1", Double(p.adam.beta1)), ("beta2", Double(p.adam.beta2)), ("eps", Double(p.adam.epsilon)),
            ("plateau_factor", p.plateauFactor), ("patience", Double(p.patience)),
            ("d", Double(items.dims)), ("n_items", Double(items.count)), ("n_tokens", Double(items.tokens)),
            ("n_targets", Double(targets.count)), ("n_dev_items", Double(devItems)),
            ("sum of x", xSum), ("sum of targets", tSum), ("sum of the starting projection", bSum)]
        try dist.agree(on: fields, expectation: "every rank must pass the same parameters and the same items and targets")
    }

    /// This rank's share of `batch`: the gradient of its items' loss sum / batch.count into `grad`,
    /// reduced with the loss sum; returns the batch's loss sum (every rank gets the same values).
    func distributedBatch(_ dist: SAEDistribution, _ engine: BatchEngine, _ batch: [Int], _ b: [Float],
                          _ grad: inout [Float], _ scratch: Workspace) throws -> Double {
        let (off, n) = dist.share(batch: batch.count)
        let local = Array(batch[min(off, batch.count)..<min(off + n, batch.count)])
        let count = grad.count
        var lossSum = 0.0
        if local.isEmpty {
            for i in 0..<count { grad[i] = 0 }
        } else {
            lossSum = b.withUnsafeBufferPointer { bp in
                grad.withUnsafeMutableBufferPointer { gp in
                    engine.run(local, projection: bp.baseAddress!, dims: dims(of: engine), gradient: gp.baseAddress!,
                               scratch: scratch, normalizer: batch.count)
                }
            }
        }
        if reduceScratch.count != count + 1 { reduceScratch = [Double](repeating: 0, count: count + 1) }
        for i in 0..<count { reduceScratch[i] = Double(grad[i]) }
        reduceScratch[count] = lossSum
        try reduceScratch.withUnsafeMutableBytes { try dist.reducer.allreduce($0.baseAddress!, count: count + 1, double: true) }
        for i in 0..<count { grad[i] = Float(reduceScratch[i]) }
        return reduceScratch[count]
    }

    /// The loss sum of `list` (no gradient): each rank its share, one float64 reduction.
    func distributedLossSum(_ dist: SAEDistribution, _ engine: BatchEngine, _ list: [Int], _ b: [Float],
                            _ scratch: Workspace) throws -> Double {
        let (off, n) = dist.share(batch: list.count)
        let local = Array(list[min(off, list.count)..<min(off + n, list.count)])
        var sum = [local.isEmpty ? 0 : b.withUnsafeBufferPointer { bp in
            engine.run(local, projection: bp.baseAddress!, dims: dims(of: engine), gradient: nil, scratch: scratch)
        }]
        try sum.withUnsafeMutableBytes { try dist.reducer.allreduce($0.baseAddress!, count: 1, double: true) }
        return sum[0]
    }

    private func dims(of engine: BatchEngine) -> Int { engine.items.dims }
}

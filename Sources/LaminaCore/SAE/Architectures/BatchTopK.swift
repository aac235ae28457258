/// BatchTopK (Bussmann et al. 2024): while training, the top k*B activations of ReLU(pre) over the
/// whole batch; the trainer keeps a running estimate of the smallest kept activation (rate
/// `threshold_rate`), which becomes every latent's threshold: inference is JumpReLU with it (SAELens
/// saves it as a "jumprelu" SAE).
struct BatchTopKRule: SAEArchitectureRule {
    var name: String { "batchtopk" }
    var saelensName: String { "jumprelu" }
    var objective: SAEObjective { .fvuAuxK }
    var penalty: SAESparsityPenalty { .none }
    var hasThreshold: Bool { true }
    var keepsThresholdEstimate: Bool { true }

    /// BatchTopK: per-row candidates (top `cap` of ReLU(pre)), then the top k*B of the batch
    /// (ties by row, then latent order). A row whose every candidate is kept may hide more: the
    /// encode reruns with a wider cap until no row is saturated (exact batch top-k).
    func encodeTraining(_ trainer: SAETrainer, rows B: Int) throws {
        if let dist = trainer.distribution {
            // The selection spans the global batch (Trainer/DistributedSelection.swift).
            try trainer.encodeBatchTopKDistributed(dist, rows: B)
            return
        }
        let model = trainer.model, cfg = trainer.config, codes = trainer.codes, xc = trainer.xc
        let nl = model.nLatents, d = model.dIn
        var cap = min(nl, 4 * cfg.k)
        while true {
            SAEEncoderKernel.run(xc: xc.p, rows: B, d: d, wEnc: model.wEnc.p, bEnc: model.bEnc.p, nl: nl,
                                 selector: TopKSelector(cap: cap), into: codes)
            let keep = cfg.k * B
            let total = codes.count
            if total <= keep { return }
            var vals = codes.value
            let t = BatchTopKRule.kthLargest(&vals, keep)
            var above = 0
            for v in codes.value where v > t { above += 1 }
            if cap < nl && BatchTopKRule.saturated(codes, rows: B, cap: cap, threshold: t) {
                cap = min(nl, cap * 4); continue
            }
            BatchTopKRule.filter(codes, rows: B, threshold: t, ties: keep - above)
            return
        }
    }

    /// Whether a row kept all `cap` of its candidates with its smallest >= t (it may hide more).
    static func saturated(_ codes: SparseCodes, rows B: Int, cap: Int, threshold t: Float) -> Bool {
        for r in 0..<B where codes.rowStart[r + 1] - codes.rowStart[r] == cap {
            var mn = Float.infinity
            for e in codes.rowStart[r]..<codes.rowStart[r + 1] { mn = min(mn, codes.value[e]) }
            if mn >= t { return true }
        }
        return false
    }

    /// Keeps the entries > t and the first `ties` entries equal to t (rows in order, entries in row
    /// order), in place.
    static func filter(_ codes: SparseCodes, rows B: Int, threshold t: Float, ties: Int) {
        var tiesLeft = ties
        var newStart = [Int](repeating: 0, count: B + 1)
        var lat: [Int32] = [], val: [Float] = [], pre: [Float] = []
        var kept = ties
        for v in codes.value where v > t { kept += 1 }
        lat.reserveCapacity(kept); val.reserveCapacity(kept); pre.reserveCapacity(kept)
        for r in 0..<B {
            for e in codes.rowStart[r]..<codes.rowStart[r + 1] {
                let v = codes.value[e]
                var take = v > t
                if !take && v == t && tiesLeft > 0 { take = true; tiesLeft -= 1 }
                if take { lat.append(codes.latent[e]); val.append(v); pre.append(codes.pre[e]) }
            }
            newStart[r + 1] = lat.count
        }
        codes.rowStart = newStart
        codes.latent = lat; codes.value = val; codes.pre = pre
        codes.grad = [Float](repeating: 0, count: lat.count)
        codes.rowOf = [Int32](repeating: 0, count: lat.count)
        for r in 0..<B { for e in newStart[r]..<newStart[r + 1] { codes.rowOf[e] = Int32(r) } }
    }

    /// The running threshold: theta <- (1 - rate) theta + rate * (smallest positive code of the step);
    /// every latent's threshold is set to it.
    func finishStep(_ trainer: SAETrainer) {
        let cfg = trainer.config, model = trainer.model
        var minPositive = Float.infinity
        if let global = trainer.batchMinPositive {
            minPositive = global     // distributed: the global batch's (DistributedSelection.swift)
        } else {
            for v in trainer.codes.value where v > 0 { minPositive = min(minPositive, v) }
        }
        if minPositive.isFinite {
            trainer.batchThreshold = (1 - cfg.thresholdRate) * trainer.batchThreshold + cfg.thresholdRate * Double(minPositive)
        }
        for j in 0..<model.nLatents { model.threshold[j] = Float(trainer.batchThreshold) }
    }

    /// The k-th largest value (1-based) of v (reordered), by quickselect with median-of-three pivots.
    static func kthLargest(_ v: inout [Float], _ k: Int) -> Float {
        var lo = 0, hi = v.count - 1
        let target = k - 1
        return v.withUnsafeMutableBufferPointer { a in
            while lo < hi {
                let mid = lo + (hi - lo) / 2
                let x = a[lo], y = a[mid], z = a[hi]
                let pivot = max(min(x, y), min(max(x, y), z))
                var i = lo, j = hi
                while i <= j {
                    while a[i] > pivot { i += 1 }
                    while a[j] < pivot { j -= 1 }
                    if i <= j { a.swapAt(i, j); i += 1; j -= 1 }
                }
                if target <= j { hi = j } else if target >= i { lo = i } else { return a[target] }
            }
            return a[target]
        }
    }
}

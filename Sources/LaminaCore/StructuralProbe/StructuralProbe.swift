#if canImport(Glibc)
import Glibc
#endif

/// Structural probes (Hewitt & Manning 2019, john-hewitt/structural-probes): a rank-r linear map B
/// (r x d) such that the squared distance ||B(h_i - h_j)||^2 between the projected token vectors of an
/// item approximates the tree distance between the tokens (TwoWordPSDProbe), or the squared norm
/// ||B h_i||^2 approximates the depth of token i (OneWordPSDProbe).
///
/// Training follows the reference's regimen.py / loss.py: B initialised uniform(-0.05, 0.05), Adam
/// (torch's rule), batches of items in a seeded shuffled order, the loss of a batch the mean over its
/// items of sum |pred - gold| / L^2 (distance; L1DistanceLoss) or sum |pred - gold| / L (depth;
/// L1DepthLoss), gold entries equal to -1 ignored. With a dev split: ReduceLROnPlateau(factor 0.1,
/// patience 0) on the dev loss, the parameters of the best dev epoch kept (improvement > 1e-4), and
/// early stopping once `patience` epochs in a row did not improve (the reference stops after 5).
///
/// The batch is computed as gemms: P = H B^T for all tokens of a group of items at once; per item the
/// pairwise squared distances from P and the sign coefficients S (s_ij = sign(d_ij - g_ij) / (L^2 n));
/// then dL/dB = 2 Q^T H with Q = (diag(M 1) - M) P, M = S + S^T (a graph Laplacian), i.e.
/// sum_ij s_ij 2 (p_i - p_j)(h_i - h_j)^T; for depth Q_i = s_i p_i. The forward pass runs over a fixed
/// number of item groups, the gradient gemm over fixed column blocks of B (neither depends on the
/// thread count, so results are bit-identical for any number of threads).
package final class StructuralProbe: @unchecked Sendable {
    package struct Parameters: Sendable, Equatable {
        package var kind: StructuralProbeKind = .distance
        package var rank: Int = 64
        package var learningRate: Double = 0.001
        package var epochs: Int = 40
        package var batchSize: Int = 20
        package var seed: UInt64 = 0
        package var adam = AdamConfig()
        /// Learning-rate factor on a dev-loss plateau (reference: 0.1). 1 disables the decay.
        package var plateauFactor: Double = 0.1
        /// Early stopping: stop once this many epochs in a row did not improve the best dev loss by
        /// more than 1e-4 (reference: 5). 0 disables early stopping.
        package var patience: Int = 5
        /// Start from the current projection (a previous fit or setProjection) instead of a new init.
        package var warmStart: Bool = false

        package init() {}

        package func check() throws {
            if rank < 1 || rank > 1 << 20 { throw LaminaError.invalid("params.rank is \(rank); expected 1 <= rank <= 1048576") }
            if !(learningRate > 0 && learningRate.isFinite) {
                throw LaminaError.invalid("params.lr is \(learningRate); expected a finite value > 0")
            }
            if epochs < 0 { throw LaminaError.invalid("params.epochs is \(epochs); expected >= 0") }
            if batchSize < 1 { throw LaminaError.invalid("params.batch_size is \(batchSize); expected >= 1") }
            if let problem = adam.problem { throw LaminaError.invalid("params.\(problem)") }
            if !(plateauFactor > 0 && plateauFactor <= 1) {
                throw LaminaError.invalid("params.plateau_factor is \(plateauFactor); expected 0 < factor <= 1")
            }
            if patience < 0 { throw LaminaError.invalid("params.patience is \(patience); expected >= 0 (0 = no early stopping)") }
        }
    }

    package let parameters: Parameters
    /// rank x d, row-major (the transpose of the reference's `proj`, d x rank).
    package private(set) var projection: [Float] = []
    package private(set) var dims: Int = 0
    package var rank: Int { parameters.rank }
    package var isFitted: Bool { dims > 0 }
    package private(set) var epochsRun = 0
    package private(set) var stepsRun = 0
    /// Mean item loss of the last completed training epoch (NaN before).
    package private(set) var trainLoss = Double.nan
    /// Best dev loss (NaN without a dev split) and its epoch (0-based, -1 without a dev split).
    package private(set) var devLoss = Double.nan
    package private(set) var bestEpoch = -1
    package private(set) var finalLearningRate = Double.nan
    /// Data-parallel training (StructuralProbeDistributed.swift): every rank passes the same items and
    /// computes its share of each batch; gradients and losses go through the reducer.
    package var distribution: SAEDistribution?
    var reduceScratch: [Double] = []

    package init(_ parameters: Parameters) throws {
        try parameters.check()
        self.parameters = parameters
    }

    /// Sets B (rank x d, row-major); a later fit with warmStart starts from it.
    package func setProjection(_ b: UnsafeBufferPointer<Float>, dims d: Int) throws {
        if d < 1 { throw LaminaError.invalid("d is \(d); expected >= 1") }
        let count = try elementsChecked(rank, d)
        if b.count != count {
            throw LaminaError.shape("the projection has \(b.count) values; expected rank * d = \(rank) * \(d)")
        }
        for i in 0..<b.count where !b[i].isFinite {
            throw LaminaError(.nonFinite, "the projection contains \(b[i]) at row \(i / d), column \(i % d); expected finite values")
        }
        projection = Array(b)
        dims = d
    }

    /// The reference's init: nn.init.uniform_(proj, -0.05, 0.05) on proj (d x rank); drawn here in
    /// proj's row-major order and stored transposed.
    static func initialProjection(rank: Int, dims: Int, seed: UInt64) -> [Float] {
        var rng = Xoshiro256(seed: seed)
        var b = [Float](repeating: 0, count: rank * dims)
        for j in 0..<dims {
            for k in 0..<rank { b[k * dims + j] = Float(-0.05 + 0.1 * rng.nextUnit()) }
        }
        return b
    }

    // MARK: Training

    /// Trains on items 0 ..< n - devItems; the last `devItems` items are the dev split (0 = none: a
    /// fixed number of epochs, no decay, no early stopping, the final B kept).
    package func fit(_ items: RaggedItems, targets: UnsafeBufferPointer<Float>, devItems: Int = 0,
                    progress: ProgressHandler? = nil) throws {
        let p = parameters
        let dist = distribution
        let d = items.dims
        var b: [Float] = []
        // Distributed, the checks run on every rank and the ranks agree on the outcome first.
        try checkedOnEveryRank(dist, "its checks of the parameters and data") {
            try checkStructuralTargets(targets, kind: p.kind, items: items.layout)
            if devItems < 0 || devItems >= items.count {
                throw LaminaError.invalid("n_dev_items is \(devItems); expected 0 <= n_dev_items < n_items = \(items.count) (at least one training item)")
            }
            if p.warmStart && isFitted {
                if dims != d {
                    throw LaminaError.shape("warm start: the current projection has d = \(dims) but x has d = \(d); expected the same d")
                }
                b = projection
            } else {
                _ = try elementsChecked(p.rank, d)
                b = StructuralProbe.initialProjection(rank: p.rank, dims: d, seed: p.seed)
            }
        }
        if let dist { try agreeBeforeTraining(dist, items: items, targets: targets, devItems: devItems, start: b) }
        let nTrain = items.count - devItems
        let engine = BatchEngine(kind: p.kind, rank: p.rank, items: items, targets: targets)
        let scratch = Workspace()
        var order = Array(0..<nTrain)
        var rng = Xoshiro256(seed: p.seed ^ 0x5851_F42D_4C95_7F2D)
        var adam = AdamState(count: b.count)
        var grad = [Float](repeating: 0, count: b.count)
        var lr = p.learningRate
        let batchesPerEpoch = (nTrain + p.batchSize - 1) / p.batchSize
        let totalSteps = p.epochs * batchesPerEpoch
        var schedulerBest = Double.infinity, badEpochs = 0
        var minDev = Double.infinity, bestB: [Float]? = nil
        var steps = 0, itemsSeen = 0
        var lastDev = Double.nan
        let start = monotonicSeconds()
        epochsRun = 0; stepsRun = 0; trainLoss = .nan; devLoss = .nan; bestEpoch = -1

        func commit(_ final: [Float]) {
            projection = final
            dims = d
            finalLearningRate = lr
        }

        for epoch in 0..<p.epochs {
            // Fisher-Yates, seeded, one fresh permutation per epoch
            rng.shuffle(&order)
            var epochSum = 0.0
            var bstart = 0
            while bstart < nTrain {
                let bend = min(nTrain, bstart + p.batchSize)
                let batch = Array(order[bstart..<bend])
                let batchLoss: Double
                if let dist {
                    do {
                        batchLoss = try distributedBatch(dist, engine, batch, b, &grad, scratch) / Double(batch.count)
                    } catch {
                        commit(b)   // the reducer failed: B of the last completed step
                        throw error
                    }
                } else {
                    batchLoss = b.withUnsafeBufferPointer { bp in
                        grad.withUnsafeMutableBufferPointer { gp in
                            engine.run(batch, projection: bp.baseAddress!, dims: d, gradient: gp.baseAddress!, scratch: scratch)
                        }
                    } / Double(batch.count)
                }
                b.withUnsafeMutableBufferPointer { bp in
                    grad.withUnsafeBufferPointer { gp in
                        adam.update(bp.baseAddress!, gradient: gp.baseAddress!, learningRate: Float(lr), config: p.adam)
                    }
                }
                epochSum += batchLoss * Double(batch.count)
                steps += 1; itemsSeen += batch.count; stepsRun = steps
                bstart = bend
                if let progress {
                    let elapsed = max(monotonicSeconds() - start, 1e-9)
                    let report = ProgressReport(task: "structural_probe_train", step: steps, totalSteps: totalSteps,
                                                items: itemsSeen, loss: batchLoss,
                                                itemsPerSecond: Double(itemsSeen) / elapsed,
                                                termNames: ["epoch", "lr", "dev_loss"],
                                                terms: [Double(epoch), lr, lastDev])
                    if !progress(report) {
                        commit(b)
                        throw LaminaError.cancelled("structural_probe_train", step: steps)
                    }
                }
            }
            trainLoss = epochSum / Double(nTrain)
            epochsRun = epoch + 1
            if devItems == 0 { continue }
            let devList = Array(nTrain..<items.count)
            let devSum: Double
            if let dist {
                do { devSum = try distributedLossSum(dist, engine, devList, b, scratch) } catch { commit(b); throw error }
            } else {
                devSum = b.withUnsafeBufferPointer { bp in
                    engine.run(devList, projection: bp.baseAddress!, dims: d, gradient: nil, scratch: scratch)
                }
            }
            let dev = devSum / Double(devItems)
            lastDev = dev
            // torch.optim.lr_scheduler.ReduceLROnPlateau(mode='min', factor, patience=0, threshold=1e-4 rel)
            if dev < schedulerBest * (1 - 1e-4) { schedulerBest = dev; badEpochs = 0 } else { badEpochs += 1 }
            if badEpochs > 0 {
                let newLr = lr * p.plateauFactor
                if lr - newLr > 1e-8 { lr = newLr }
                badEpochs = 0
            }
            // regimen.py: keep the best parameters (improvement > 1e-4), stop after `patience` bad epochs
            if dev < minDev - 0.0001 {
                minDev = dev
                bestB = b
                bestEpoch = epoch
                devLoss = dev
            } else if p.patience > 0 && epoch - bestEpoch >= p.patience {
                break
            }
        }
        commit(bestB ?? b)
    }

    // MARK: Inference

    private func fitted(_ items: RaggedItems) throws {
        if !isFitted { throw LaminaError.invalid("this structural probe is not fitted yet; call fit (or set_projection) first") }
        if items.dims != dims { throw LaminaError.shape("x has d = \(items.dims); the probe was fitted with d = \(dims)") }
    }

    /// Predicted squared distances (distance: L x L per item, concatenated) or squared norms (depth:
    /// one per token) into `out` (kind.valueCount(items) values).
    package func predict(_ items: RaggedItems, into out: UnsafeMutablePointer<Float>) throws {
        try fitted(items)
        let engine = BatchEngine(kind: parameters.kind, rank: rank, items: items, targets: nil)
        projection.withUnsafeBufferPointer { bp in
            engine.predict(projection: bp.baseAddress!, dims: dims, out: out)
        }
    }

    /// The loss over all items as one batch (mean over items of the normalised L1 loss) and, when
    /// `gradient` is given (rank x d), its gradient with respect to B.
    package func loss(_ items: RaggedItems, targets: UnsafeBufferPointer<Float>,
                     gradient: UnsafeMutablePointer<Float>? = nil) throws -> Double {
        try fitted(items)
        try checkStructuralTargets(targets, kind: parameters.kind, items: items.layout)
        let engine = BatchEngine(kind: parameters.kind, rank: rank, items: items, targets: targets)
        let all = Array(0..<items.count)
        return projection.withUnsafeBufferPointer { bp in
            engine.run(all, projection: bp.baseAddress!, dims: dims, gradient: gradient)
        } / Double(items.count)
    }
}

/// rank * d, refused beyond 2^31 - 1 elements (an 8 GB projection; BLAS takes 32-bit sizes).
func elementsChecked(_ a: Int, _ b: Int) throws -> Int {
    let (p, o) = a.multipliedReportingOverflow(by: b)
    if o || p > Int(Int32.max) {
        throw LaminaError(.outOfMemory, "rank * d = \(a) * \(b) is too large; expected rank * d <= \(Int32.max)")
    }
    return p
}

/// The gathered rows, P and Q of a batch, kept across the steps of a fit (grown when needed), so a
/// step allocates nothing large and takes no page faults.
final class Workspace: @unchecked Sendable {
    private(set) var h = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private(set) var p = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private(set) var q = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    /// The distance probe's per-item coefficient matrix M (up to maxLen^2), one per forward group.
    private(set) var m: [UnsafeMutablePointer<Float>] = (0..<BatchEngine.maxGroups).map { _ in .allocate(capacity: 1) }
    private var caps = (1, 1, 1)
    private var mCaps = [Int](repeating: 1, count: BatchEngine.maxGroups)

    func reserve(h nh: Int, p np: Int, q nq: Int) {
        if nh > caps.0 { h.deallocate(); h = .allocate(capacity: nh); caps.0 = nh }
        if np > caps.1 { p.deallocate(); p = .allocate(capacity: np); caps.1 = np }
        if nq > caps.2 { q.deallocate(); q = .allocate(capacity: nq); caps.2 = nq }
    }

    func reserve(m count: Int, group g: Int) {
        if count > mCaps[g] { m[g].deallocate(); m[g] = .allocate(capacity: count); mCaps[g] = count }
    }

    deinit { h.deallocate(); p.deallocate(); q.deallocate(); for b in m { b.deallocate() } }
}

/// The per-batch kernel: forward (gemm + pairwise), loss, coefficients, backward (gemm).
struct BatchEngine: @unchecked Sendable {
    let kind: StructuralProbeKind
    let rank: Int
    let items: RaggedItems
    let targets: UnsafeBufferPointer<Float>?

    /// Groups of items a batch is split into for the forward pass (fixed: results do not depend on
    /// the thread count; 2 keeps the gemms tall, measured faster than 4 at 1 and 2 threads).
    static let maxGroups = 2

    /// Splits `batch` (item indices) into at most maxGroups consecutive groups of about equal tokens.
    func groups(_ batch: [Int]) -> [Range<Int>] {
        let n = batch.count
        let g = min(BatchEngine.maxGroups, n)
        if g <= 1 { return [0..<n] }
        var total = 0
        for k in batch { total += items.length(k) }
        var result: [Range<Int>] = []
        var lo = 0, acc = 0
        for i in 0..<n {
            acc += items.length(batch[i])
            let target = (total * (result.count + 1) + g - 1) / g
            let remainingGroups = g - result.count - 1
            if (acc >= target && n - (i + 1) >= remainingGroups) || n - (i + 1) == remainingGroups {
                if remainingGroups == 0 { break }
                result.append(lo..<(i + 1))
                lo = i + 1
            }
        }
        result.append(lo..<n)
        return result.filter { !$0.isEmpty }
    }

    /// Sum over the batch items of the normalised L1 loss; when gradient != nil, writes the gradient
    /// of (that sum / batch.count) with respect to B there (rank x d). The batch's token rows are
    /// gathered into one buffer H; groups of items compute P = H_g B^T and their per-item terms Q in
    /// parallel; then dL/dB = 2 Q^T H is one gemm over all the batch's tokens, split into fixed column
    /// blocks of d (every output element is the same sum whatever the thread count).
    /// `normalizer` (distributed: the global batch's item count) replaces batch.count in the gradient.
    func run(_ batch: [Int], projection b: UnsafePointer<Float>, dims d: Int,
             gradient: UnsafeMutablePointer<Float>?, scratch: Workspace? = nil, normalizer: Int? = nil) -> Double {
        let parts = groups(batch)
        let r = rank
        let scale = 1.0 / Double(normalizer ?? batch.count)
        var rowStart = [Int](repeating: 0, count: batch.count + 1)
        for (i, k) in batch.enumerated() { rowStart[i + 1] = rowStart[i] + items.length(k) }
        let nTok = rowStart[batch.count]
        let ws = scratch ?? Workspace()
        ws.reserve(h: nTok * d, p: nTok * r, q: gradient != nil ? nTok * r : 0)
        let h = ws.h, p = ws.p, q = ws.q
        // M buffers (distance gradient only), one per group, sized for the group's longest item
        let needM = kind == .distance && gradient != nil
        if needM {
            for (t, range) in parts.enumerated() {
                var maxLen = 0
                for k in batch[range] { maxLen = max(maxLen, items.length(k)) }
                ws.reserve(m: maxLen * maxLen, group: t)
            }
        }
        let mBuffers = ws.m
        var losses = [Double](repeating: 0, count: parts.count)
        losses.withUnsafeMutableBufferPointer { lossOut in
            Parallel.forEachTask(parts.count) { t in
                let range = parts[t]
                let row0 = rowStart[range.lowerBound]
                lossOut[t] = forward(batch[range], h: h + row0 * d, p: p + row0 * r,
                                     q: gradient != nil ? q + row0 * r : nil, m: needM ? mBuffers[t] : nil,
                                     b: b, d: d, scale: scale, predictions: nil)
            }
        }
        if let gradient {
            let blocks = BatchEngine.columnBlocks(d)
            Parallel.forEachTask(blocks.count) { c in
                let cols = blocks[c]
                // dL/dB[:, cols] = 2 Q^T H[:, cols]  (r x |cols|, summed over all nTok tokens)
                Gemm.aTb(m: r, n: cols.count, k: nTok, alpha: 2, a: q, lda: r, b: h + cols.lowerBound, ldb: d,
                         c: gradient + cols.lowerBound, ldc: d)
            }
        }
        var total = 0.0
        for l in losses { total += l }
        return total
    }

    /// Fixed column blocks of d (multiples of 64 columns, at most 4 blocks).
    static func columnBlocks(_ d: Int) -> [Range<Int>] {
        let count = max(1, min(4, d / 64))
        var width = (d + count - 1) / count
        width = min(d, (width + 15) / 16 * 16)
        var result: [Range<Int>] = []
        var lo = 0
        while lo < d { result.append(lo..<min(d, lo + width)); lo += width }
        return result
    }

    /// Predictions for every item (fixed chunks of items in parallel).
    func predict(projection b: UnsafePointer<Float>, dims d: Int, out: UnsafeMutablePointer<Float>) {
        let n = items.count
        let chunk = 32
        Parallel.forEachTask((n + chunk - 1) / chunk) { t in
            let lo = t * chunk, hi = min(n, lo + chunk)
            var nTok = 0
            for k in lo..<hi { nTok += items.length(k) }
            let h = UnsafeMutablePointer<Float>.allocate(capacity: nTok * d)
            let p = UnsafeMutablePointer<Float>.allocate(capacity: nTok * rank)
            defer { h.deallocate(); p.deallocate() }
            _ = forward(Array(lo..<hi)[...], h: h, p: p, q: nil, m: nil, b: b, d: d, scale: 0, predictions: out)
        }
    }

    /// One group of items: gather their rows into h, P = H B^T into p, per item the predictions, the
    /// loss terms and (q != nil) the rows of Q. Returns the sum of the items' normalised losses.
    /// m: scratch for the distance probe's M (at least maxLen^2 values), needed when q != nil.
    private func forward(_ list: ArraySlice<Int>, h: UnsafeMutablePointer<Float>, p: UnsafeMutablePointer<Float>,
                         q: UnsafeMutablePointer<Float>?, m: UnsafeMutablePointer<Float>?,
                         b: UnsafePointer<Float>, d: Int, scale: Double,
                         predictions: UnsafeMutablePointer<Float>?) -> Double {
        let r = rank
        var nTok = 0
        for k in list {
            let l = items.length(k)
            (h + nTok * d).update(from: items.x.row(items.offsets[k]), count: l * d)
            nTok += l
        }
        // P = H B^T (nTok x r)
        Gemm.abT(m: nTok, n: r, k: d, a: h, lda: d, b: b, ldb: d, c: p, ldc: r)
        var loss = 0.0
        var row = 0
        for k in list {
            let l = items.length(k)
            let pk = p + row * r
            let base = kind.valueOffset(items.layout, k)
            if kind == .distance {
                loss += distanceItem(l, pk, gold: targets.map { $0.baseAddress! + base }, scale: scale,
                                     m: m, q: q.map { $0 + row * r }, out: predictions.map { $0 + base })
            } else {
                loss += depthItem(l, pk, gold: targets.map { $0.baseAddress! + base }, scale: scale,
                                  q: q.map { $0 + row * r }, out: predictions.map { $0 + base })
            }
            row += l
        }
        return loss
    }

    @inline(__always)
    private func squaredDistance(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ r: Int) -> Float {
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>()
        var k = 0
        while k + 16 <= r {
            let t0 = UnsafeRawPointer(a + k).loadUnaligned(as: SIMD8<Float>.self) - UnsafeRawPointer(b + k).loadUnaligned(as: SIMD8<Float>.self)
            let t1 = UnsafeRawPointer(a + k + 8).loadUnaligned(as: SIMD8<Float>.self) - UnsafeRawPointer(b + k + 8).loadUnaligned(as: SIMD8<Float>.self)
            a0.addProduct(t0, t0)
            a1.addProduct(t1, t1)
            k += 16
        }
        var s = (a0 + a1).sum()
        while k < r { let t = a[k] - b[k]; s += t * t; k += 1 }
        return s
    }

    /// One item of the distance probe. Loss: sum_ij |d_ij - g_ij| / L^2 (g = -1 ignored). Q = Lap(M) P
    /// with M = S + S^T, s_ij = sign(d_ij - g_ij) * scale / L^2.
    private func distanceItem(_ l: Int, _ pk: UnsafePointer<Float>, gold: UnsafePointer<Float>?, scale: Double,
                              m: UnsafeMutablePointer<Float>?, q: UnsafeMutablePointer<Float>?,
                              out: UnsafeMutablePointer<Float>?) -> Double {
        let r = rank
        let norm = 1.0 / Double(l * l)
        let coef = Float(scale * norm)
        var sum = 0.0
        for i in 0..<l {
            if let out { out[i * l + i] = 0 }
            if let gold {
                let gii = gold[i * l + i]
                if gii != -1 { sum += Double(gii) }  // |0 - g_ii|
            }
            if q != nil { m![i * l + i] = 0 }
            for j in (i + 1)..<l {
                let dij = squaredDistance(pk + i * r, pk + j * r, r)
                if let out { out[i * l + j] = dij; out[j * l + i] = dij }
                guard let gold else { continue }
                let gij = gold[i * l + j], gji = gold[j * l + i]
                var mij: Float = 0
                if gij != -1 { let t = Double(dij) - Double(gij); sum += abs(t); mij += StructuralProbeKernels.sign(t) }
                if gji != -1 { let t = Double(dij) - Double(gji); sum += abs(t); mij += StructuralProbeKernels.sign(t) }
                if q != nil { m![i * l + j] = mij * coef; m![j * l + i] = mij * coef }
            }
        }
        if let q {
            let m = m!
            // Q = diag(M 1) P - M P
            Gemm.ab(m: l, n: r, k: l, alpha: -1, a: m, lda: l, b: pk, ldb: r, c: q, ldc: r)
            for i in 0..<l {
                var rs: Float = 0
                for j in 0..<l { rs += m[i * l + j] }
                let qi = q + i * r, pi = pk + i * r
                for k in 0..<r { qi[k] += rs * pi[k] }
            }
        }
        return sum * norm
    }

    /// One item of the depth probe. Loss: sum_i |n_i - g_i| / L with n_i = ||p_i||^2; Q_i = s_i p_i.
    private func depthItem(_ l: Int, _ pk: UnsafePointer<Float>, gold: UnsafePointer<Float>?, scale: Double,
                           q: UnsafeMutablePointer<Float>?, out: UnsafeMutablePointer<Float>?) -> Double {
        let r = rank
        let norm = 1.0 / Double(l)
        var sum = 0.0
        for i in 0..<l {
            let pi = pk + i * r
            var a0 = SIMD8<Float>(), a1 = SIMD8<Float>()
            var k = 0
            while k + 16 <= r {
                let t0 = UnsafeRawPointer(pi + k).loadUnaligned(as: SIMD8<Float>.self)
                let t1 = UnsafeRawPointer(pi + k + 8).loadUnaligned(as: SIMD8<Float>.self)
                a0.addProduct(t0, t0); a1.addProduct(t1, t1)
                k += 16
            }
            var ni = (a0 + a1).sum()
            while k < r { ni += pi[k] * pi[k]; k += 1 }
            if let out { out[i] = ni }
            guard let gold else { continue }
            let gi = gold[i]
            var s: Float = 0
            if gi != -1 { let t = Double(ni) - Double(gi); sum += abs(t); s = StructuralProbeKernels.sign(t) * Float(scale * norm) }
            if let q { let qi = q + i * r; for k in 0..<r { qi[k] = s * pi[k] } }
        }
        return sum * norm
    }
}

enum StructuralProbeKernels {
    @inline(__always)
    static func sign(_ x: Double) -> Float { x > 0 ? 1 : (x < 0 ? -1 : 0) }
}

#if canImport(Glibc)
import Glibc
#endif

/// Training batches from a RowSource, deterministic in (seed, epoch, batch index), so that a
/// checkpoint's data position (epoch, batch) is all that is needed to resume.
///  - In memory: the rows are shuffled once per epoch (Fisher-Yates, seeded by (seed, epoch)); batch i
///    is rows perm[i B ..< (i + 1) B]; the last partial batch is dropped.
///  - Streaming (HDF5): the dataset is cut into chunks of C rows (C a multiple of the batch size, about
///    32 MB); each epoch visits the chunks in a seeded random order and the rows of each chunk in a
///    seeded random order; batches are consecutive runs of that stream. At most two chunks are in
///    memory, so a file larger than RAM trains in bounded memory.
package final class SAETrainingData {
    package let source: RowSource
    package let streaming: Bool
    package let batchSize: Int
    let seed: UInt64
    /// In memory: false takes the rows in order (batch i is rows [i B, (i + 1) B)).
    package var shuffle = true
    /// In memory, distributed: each rank shuffles its own rows from (seed, epoch, rank); rank 0 uses
    /// the single-process permutation.
    package var rank = 0
    private var sliceScratch = FloatBuffer(0, zero: 0)
    var rows: Int { source.rows }
    var cols: Int { source.cols }

    // In-memory permutation of the current epoch.
    private var permEpoch = -1
    private var perm: [Int32] = []
    // Streaming chunks.
    let chunkRows: Int
    private var orderEpoch = -1
    private var order: [Int] = []
    private var orderStart: [Int] = []
    private var cache: [(epoch: Int, chunk: Int, data: FloatBuffer)] = []

    package init(source: RowSource, streaming: Bool, batchSize: Int, seed: UInt64) {
        self.source = source
        self.streaming = streaming
        self.batchSize = batchSize
        self.seed = seed
        let target = max(1, (8 << 20) / max(source.cols, 1))
        self.chunkRows = max(batchSize, (target / batchSize) * batchSize)
        // A store is read through its shuffled reader with the same memory as two chunks (cannot fail:
        // the budget holds at least one 256-row block whenever chunkRows >= 128).
        if streaming, let store = source as? StoreRows {
            storeReader = try? StoreShuffleReader(source: store, seed: seed, memoryBudget: max(2 * chunkRows, 256) * store.cols * 4)
        }
    }
    private var storeReader: StoreShuffleReader? = nil

    package var batchesPerEpoch: Int { rows / batchSize }

    static func generator(_ seed: UInt64, _ a: Int, _ b: Int) -> Xoshiro256 {
        Xoshiro256(seed: seed ^ (UInt64(truncatingIfNeeded: a + 1) &* 0x9E37_79B9_7F4A_7C15)
                   ^ (UInt64(truncatingIfNeeded: b + 1) &* 0xC2B2_AE3D_27D4_EB4F))
    }

    static func shuffle(_ n: Int, _ rng: inout Xoshiro256) -> [Int32] {
        var p = (0..<n).map { Int32($0) }
        if n < 2 { return p }
        for i in stride(from: n - 1, to: 0, by: -1) {
            let j = Int(rng.next() % UInt64(i + 1))
            p.swapAt(i, j)
        }
        return p
    }

    /// Checks every value of the source for NaN/Inf before training (one streaming pass), so that bad
    /// data fails before any step and leaves the model unchanged. A streaming pass calls
    /// `keepGoing(rowsChecked)` about once a second; a false return throws LaminaError(.cancelled).
    /// Distributed (`part` = (rank, world size)), a streamed source is checked in parts: rank r checks
    /// rows [r n / R, (r + 1) n / R), so that the check reads 1/R of the file on each rank.
    package func validate(keepGoing: ((Int) -> Bool)? = nil, part: (rank: Int, world: Int)? = nil) throws {
        if let memory = source as? MemoryRows {
            if let bad = memory.firstNonFinite() {
                throw LaminaError(.nonFinite, "x contains a non-finite value at row \(bad.row), column \(bad.col); expected finite values")
            }
            return
        }
        var n = rows, r0 = 0
        let d = cols
        if let part, part.world > 1 {
            r0 = Int((Int64(rows) * Int64(part.rank)) / Int64(part.world))
            n = Int((Int64(rows) * Int64(part.rank + 1)) / Int64(part.world))
        }
        let chunk = max(1, min(chunkRows, n - r0))
        let buf = FloatBuffer(chunk * d, zero: 0)
        var lastReport = SAETrainer.now()
        while r0 < n {
            if let keepGoing, SAETrainer.now() - lastReport >= 1 {
                if !keepGoing(r0) { throw LaminaError(.cancelled, "sae_train cancelled by the progress callback while checking the training data (\(r0) of \(n) rows checked)") }
                lastReport = SAETrainer.now()
            }
            let nr = min(chunk, n - r0)
            try source.read(rows: r0..<(r0 + nr), into: buf.p)
            if let bad = MatrixView(base: buf.p, rows: nr, cols: d).firstNonFinite() {
                throw LaminaError(.nonFinite, "the training data contains \(buf[bad.row * d + bad.col]) at row \(r0 + bad.row), column \(bad.col); expected finite values")
            }
            r0 += nr
        }
    }

    /// The first min(rows, maxRows) rows (file order), for the b_dec initialisation.
    package func sample(maxRows: Int) throws -> FloatBuffer {
        let n = min(rows, maxRows)
        let buf = FloatBuffer(n * cols, zero: 0)
        try source.read(rows: 0..<n, into: buf.p)
        return buf
    }

    /// Fills batch `index` of `epoch` into out (batchSize x d).
    package func fill(epoch: Int, index: Int, into out: UnsafeMutablePointer<Float>) throws {
        let d = cols, B = batchSize
        if !streaming, let memory = source as? MemoryRows {
            if permEpoch != epoch {
                if shuffle {
                    var rng = SAETrainingData.generator(seed ^ (UInt64(rank) &* 0xD6E8_FEB8_6659_FD93), epoch, -1)
                    perm = SAETrainingData.shuffle(rows, &rng)
                } else {
                    perm = (0..<rows).map { Int32($0) }
                }
                permEpoch = epoch
            }
            let base = index * B
            perm.withUnsafeBufferPointer { p in
                Parallel.forEachTask((B + 255) / 256) { t in
                    for r in (t * 256)..<min(B, t * 256 + 256) { memory.readRow(Int(p[base + r]), into: out + r * d) }
                }
            }
            return
        }
        if let reader = storeReader {  // an activation store: its shuffled reader (IO/Store/StoreShuffle.swift)
            try reader.read(epoch: epoch, position: index * B, count: B, into: out, rowIds: nil)
            return
        }
        ensureChunkOrder(epoch)
        var pos = index * B
        var filled = 0
        while filled < B {
            let lo = chunkSlot(pos)
            let chunk = order[lo]
            let data = try loadChunk(epoch: epoch, chunk: chunk)
            let offset = pos - orderStart[lo]
            let take = min(B - filled, orderStart[lo + 1] - pos)
            (out + filled * d).update(from: data.p + offset * d, count: take * d)
            filled += take
            pos += take
        }
    }

    /// Rows [offset, offset + count) of global batch `index` of `epoch` (a rank's share of a streamed
    /// batch: the batch order depends on (seed, epoch) only, never on the number of ranks).
    package func fillSlice(epoch: Int, index: Int, offset: Int, count: Int, into out: UnsafeMutablePointer<Float>) throws {
        if count < batchSize, let h5 = source as? HDF5Rows, storeReader == nil {
            try fillRankSlice(h5, epoch: epoch, index: index, offset: offset, count: count, into: out)
            return
        }
        if sliceScratch.count != batchSize * cols { sliceScratch = FloatBuffer(batchSize * cols, zero: 0) }
        try fill(epoch: epoch, index: index, into: sliceScratch.p)
        out.update(from: sliceScratch.p + offset * cols, count: count * cols)
    }

    /// The epoch's chunk order (seeded by (seed, epoch)) and the stream position where each starts.
    private func ensureChunkOrder(_ epoch: Int) {
        if orderEpoch == epoch { return }
        let chunks = (rows + chunkRows - 1) / chunkRows
        var rng = SAETrainingData.generator(seed, epoch, -2)
        order = SAETrainingData.shuffle(chunks, &rng).map { Int($0) }
        orderStart = [0]
        for c in order { orderStart.append(orderStart.last! + min(chunkRows, rows - c * chunkRows)) }
        orderEpoch = epoch
    }

    /// The slot in `order` of the chunk holding stream position `pos`.
    private func chunkSlot(_ pos: Int) -> Int {
        var lo = 0, hi = order.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if orderStart[mid] <= pos { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }

    /// The row order inside `chunk` for `epoch` (the permutation loadChunk applies), the last few kept.
    private var permCache: [(epoch: Int, chunk: Int, perm: [Int32])] = []
    private func chunkPermutation(epoch: Int, chunk: Int) -> [Int32] {
        if let hit = permCache.first(where: { $0.epoch == epoch && $0.chunk == chunk }) { return hit.perm }
        let n = min(chunkRows, rows - chunk * chunkRows)
        var rng = SAETrainingData.generator(seed, epoch, chunk)
        let p = SAETrainingData.shuffle(n, &rng)
        permCache.append((epoch, chunk, p))
        if permCache.count > 4 { permCache.removeFirst() }
        return p
    }

    /// Rows of the file read by per-rank slices (fillRankSlice), for measurements.
    package private(set) var rankSliceRowsRead = 0
    private var runScratch = FloatBuffer(0, zero: 0)

    /// A rank's share of global batch `index` read straight from an HDF5 dataset: the file rows behind
    /// stream positions [index B + offset, index B + offset + count) of the epoch's chunked order (the
    /// same order `fill` uses), sorted and coalesced into runs of consecutive rows, read as hyperslab
    /// unions, then put in stream order. Reads count rows, not the whole batch or chunk.
    private func fillRankSlice(_ h5: HDF5Rows, epoch: Int, index: Int, offset: Int, count: Int,
                               into out: UnsafeMutablePointer<Float>) throws {
        let d = cols
        ensureChunkOrder(epoch)
        var pairs = [(row: Int, slot: Int)]()
        pairs.reserveCapacity(count)
        var pos = index * batchSize + offset, slot = 0
        while slot < count {
            let lo = chunkSlot(pos)
            let chunk = order[lo]
            let perm = chunkPermutation(epoch: epoch, chunk: chunk)
            let take = min(count - slot, orderStart[lo + 1] - pos)
            let within = pos - orderStart[lo], base = chunk * chunkRows
            for i in 0..<take { pairs.append((base + Int(perm[within + i]), slot + i)) }
            slot += take
            pos += take
        }
        pairs.sort { $0.row < $1.row }
        var runs = [(start: Int, count: Int)]()
        for p in pairs {
            if let last = runs.last, last.start + last.count == p.row {
                runs[runs.count - 1].count += 1
            } else {
                runs.append((p.row, 1))
            }
        }
        if runScratch.count != count * d { runScratch = FloatBuffer(count * d, zero: 0) }
        try HDF5File.readFloatRuns(path: h5.path, dataset: h5.dataset, runs: runs, into: runScratch.p)
        for (i, p) in pairs.enumerated() { (out + p.slot * d).update(from: runScratch.p + i * d, count: d) }
        rankSliceRowsRead += count
    }

    private func loadChunk(epoch: Int, chunk: Int) throws -> FloatBuffer {
        if let hit = cache.first(where: { $0.epoch == epoch && $0.chunk == chunk }) { return hit.data }
        let d = cols
        let start = chunk * chunkRows, n = min(chunkRows, rows - start)
        let raw = FloatBuffer(n * d, zero: 0)
        try source.read(rows: start..<(start + n), into: raw.p)
        var rng = SAETrainingData.generator(seed, epoch, chunk)
        let p = SAETrainingData.shuffle(n, &rng)
        let data = FloatBuffer(n * d, zero: 0)
        for r in 0..<n { (data.p + r * d).update(from: raw.p + Int(p[r]) * d, count: d) }
        cache.append((epoch, chunk, data))
        if cache.count > 2 { cache.removeFirst() }
        return data
    }
}

extension SAETrainer {
    /// One row of the training history (per step).
    package struct HistoryRow: Sendable {
        package var loss, fvu, auxk, mse, sparsity, l0, deadFraction, lr: Double
    }

    /// Trains from the current data position until `epochs` epochs over `data` are complete (a fresh
    /// model starts at epoch 0; a resumed checkpoint continues where it stopped, so the result is the
    /// same as an uninterrupted run). Calls `progress` after every step; a false return stops after
    /// that step with LaminaError(.cancelled).
    package func train(_ given: SAETrainingData, epochs: Int, progress: ProgressHandler?) throws {
        let d = model.dIn, B = config.batchSize
        let dist = distribution
        // Rows per step on this worker, and the data it reads them from: in memory, its own rows in
        // batches of its share; streamed, its share of each global batch.
        var localB = B, sliceOffset = 0
        var data = given
        var perEpoch = 0, total = 0
        // Distributed, every check runs on every rank and the ranks agree on the outcome before any
        // reduction, so that a rank that fails never leaves the others waiting.
        func checked(_ what: String, _ body: () throws -> Void) throws {
            if let dist { try dist.agreeAllSucceeded(what, body) } else { try body() }
        }
        try checked("its checks of the parameters and data") {
            if let dist {
                try checkDistributable(dist)
                (sliceOffset, localB) = dist.share(batch: B)
                if !given.streaming {
                    data = SAETrainingData(source: given.source, streaming: false, batchSize: localB, seed: given.seed)
                    data.rank = dist.rank
                }
            }
            data.shuffle = shuffle
            if data.cols != d {
                throw LaminaError.shape("the training data has \(data.cols) features; this SAE has d_in = \(d)")
            }
            if epochs < 1 { throw LaminaError.invalid("epochs is \(epochs); expected >= 1") }
            if model.reconstructionNeedsInput {
                throw LaminaError.invalid("this SAE was loaded with \(model.inputDependentOptions), which Lamina runs but does not train")
            }
            perEpoch = data.batchesPerEpoch
            if perEpoch < 1 {
                throw LaminaError.invalid("the training data has \(data.rows) rows, fewer than batch_size = \(localB)\(dist == nil ? "" : " (this rank's share of batch_size = \(B))"); lower batch_size")
            }
            let (t, overflow) = epochs.multipliedReportingOverflow(by: perEpoch)
            if overflow { throw LaminaError.invalid("epochs is \(epochs); epochs * batches per epoch overflows") }
            total = t
            try checkPosition(batchesPerEpoch: perEpoch, rows: data.rows)
        }
        if let dist {
            let (h, l) = configFingerprint()
            try dist.agree(on: [("world_size", Double(dist.worldSize)), ("d_in", Double(d)), ("n_latents", Double(model.nLatents)),
                             ("batch_size", Double(B)), ("parameters fingerprint (high)", h), ("parameters fingerprint (low)", l),
                             ("epochs", Double(epochs)), ("steps_done", Double(stepsDone)), ("epoch", Double(epoch)),
                             ("batch_in_epoch", Double(batchInEpoch)), ("batches per epoch", Double(perEpoch)),
                             ("streamed (file) data", data.streaming ? 1 : 0), ("file rows", data.streaming ? Double(data.rows) : 0),
                             ("shuffle", shuffle ? 1 : 0), ("reduce mode", Double(reduceMode.rawValue)), ("data initialised", dataInitialised ? 1 : 0),
                             ("input scale", Double(model.inputScale))],
                           expectation: "every rank must pass the same parameters and data shapes")
        }
        // The data check streams the whole file: it reports (task "sae_validate", the term
        // "rows_checked") about once a second so that the callback can cancel it.
        try checked("the check of its training data") {
            try data.validate(keepGoing: progress.map { progress in { rows in
                progress(ProgressReport(task: "sae_validate", step: self.stepsDone, totalSteps: total, items: self.tokensSeen,
                                        loss: .nan, itemsPerSecond: 0, termNames: ["rows_checked"], terms: [Double(rows)]))
            } }, part: dist.map { ($0.rank, $0.worldSize) })
        }
        if !dataInitialised {
            // The first 65,536 rows (at most 256 MB of them).
            let cap = min(65536, max(1, (64 << 20) / max(d, 1)))
            if let dist, !data.streaming {
                // In memory: each rank's first ceil(cap / R) rows, combined by the reducer.
                let sample = try data.sample(maxRows: (cap + dist.worldSize - 1) / dist.worldSize)
                try initialiseFromDataDistributed(dist, sample: sample.p, rows: sample.count / d)
            } else {
                // A shared file: every rank computes the same initialisation from the same rows.
                let sample = try data.sample(maxRows: cap)
                initialiseFromData(sample: sample.p, rows: sample.count / d)
            }
        }
        let batch = FloatBuffer(localB * d, zero: 0)
        let startTokens = tokensSeen
        let started = SAETrainer.now()
        while epoch < epochs {
            if let dist, data.streaming {
                // Every rank reads its own rows; the ranks agree that all reads succeeded (one float64
                // reduction of R flags) before the step's reductions, so a rank whose file fails names
                // itself and no rank waits.
                let (e, i) = (epoch, batchInEpoch)
                try dist.agreeAllSucceeded("to read its rows of global batch \(i) of epoch \(e) from the file") {
                    try data.fillSlice(epoch: e, index: i, offset: sliceOffset, count: localB, into: batch.p)
                }
            } else {
                try data.fill(epoch: epoch, index: batchInEpoch, into: batch.p)
            }
            if model.inputScale != 1 { Vec.scale(batch.p, model.inputScale, localB * d) }
            let stats = try step(batch: batch.p, rows: localB, totalSteps: total)
            batchInEpoch += 1
            if batchInEpoch == perEpoch { epoch += 1; batchInEpoch = 0 }
            history.append(HistoryRow(loss: stats.loss, fvu: stats.fvu, auxk: stats.auxk, mse: stats.mse,
                                      sparsity: stats.sparsity, l0: stats.l0, deadFraction: stats.deadFraction, lr: stats.lr))
            if let progress {
                let elapsed = max(SAETrainer.now() - started, 1e-9)
                let report = ProgressReport(task: "sae_train", step: stepsDone, totalSteps: total, items: tokensSeen,
                                            loss: stats.loss, itemsPerSecond: Double(tokensSeen - startTokens) / elapsed,
                                            termNames: ["fvu", "auxk", "mse", "sparsity", "l0", "dead_fraction", "lr"],
                                            terms: [stats.fvu, stats.auxk, stats.mse, stats.sparsity, stats.l0, stats.deadFraction, stats.lr])
                if !progress(report) { throw LaminaError.cancelled("sae_train", step: stepsDone) }
            }
        }
    }

    /// Resume rule: the data position (epoch, batch_in_epoch) -- restored from a checkpoint or left by
    /// an earlier fit -- must lie inside the data being trained on: batch_in_epoch < rows / batch_size.
    /// A position past the end of this data is an error naming the fields and values (it means the
    /// checkpoint was made on other data); it is never wrapped silently. Checked before any step runs.
    func checkPosition(batchesPerEpoch perEpoch: Int, rows: Int) throws {
        if batchInEpoch >= perEpoch {
            throw LaminaError.invalid("the data position is past the end of this data: batch_in_epoch = \(batchInEpoch) (epoch \(epoch), steps_done = \(stepsDone)) but the data has \(rows) rows = \(perEpoch) batches of batch_size = \(config.batchSize) per epoch; resume on the data the checkpoint was trained on")
        }
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}

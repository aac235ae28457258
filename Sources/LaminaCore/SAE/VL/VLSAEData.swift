#if canImport(Glibc)
import Glibc
#endif

/// Paired training rows (V[i], T[i]) for the VL-SAE trainer, batch by batch, deterministic in
/// (seed, the run's position), so that a checkpoint's position (epoch, batch) is all a resume needs.
///  - In memory: each epoch visits the rows in one seeded random order (row order when shuffle is off),
///    the same for both modalities, in ceil(n / B) batches (the last one smaller). The order of epoch e
///    of a run that started at step s0 comes from (seed, s0 + e * batches_per_epoch, e). Distributed,
///    each rank orders its own rows: rank r mixes r into the seed (rank 0 = the single-process order).
///  - Streaming (HDF5 files, one dataset per modality): the rows are cut into chunks of C rows (C a
///    multiple of B, about 8 MB of the wider modality); an epoch visits the chunks in a seeded random
///    order and the rows of each chunk in a seeded random order (both in order when shuffle is off); the
///    same positions are read from both datasets. Batch i is stream positions [i B, min((i + 1) B, n)).
///    At most two chunks of each modality are held. Distributed, every rank reads the same files and
///    keeps its share of each global batch (the order does not depend on the number of ranks).
package final class VLSAEData {
    package let vision: any RowSource
    package let text: any RowSource
    package let streaming: Bool
    package var rows: Int { vision.rows }

    package init(vision: any RowSource, text: any RowSource, streaming: Bool) {
        self.vision = vision; self.text = text; self.streaming = streaming
    }

    /// In-memory data of two caller buffers.
    package convenience init(vision: MemoryRows, text: MemoryRows) {
        self.init(vision: vision, text: text, streaming: false)
    }

    // Order state.
    private var orderKey: (Int, Int, Int) = (-1, -1, -1)
    private var perm: [Int32] = []
    private var chunkOrder: [Int] = []
    private var chunkStart: [Int] = []
    private var cache: [(key: Int, chunk: Int, v: FloatBuffer, t: FloatBuffer)] = []

    static func chunkRows(batch B: Int, cols: Int) -> Int {
        let target = max(1, (8 << 20) / max(cols, 1))
        return max(B, (target / B) * B)
    }

    /// The in-memory permutation (the trainer's original rule: Xoshiro over (seed, first step + 1, epoch + 1)).
    private func memoryOrder(n: Int, seed: UInt64, shuffle: Bool, firstStep: Int, epoch: Int, rank: Int) {
        if orderKey == (firstStep, epoch, rank), perm.count == n { return }
        var order = (0..<n).map { Int32($0) }
        if shuffle {
            let s = seed ^ (UInt64(truncatingIfNeeded: rank) &* 0xD6E8_FEB8_6659_FD93)
            var rng = Xoshiro256(seed: s ^ (UInt64(truncatingIfNeeded: firstStep + 1) &* 0xC2B2_AE3D_27D4_EB4F)
                                 ^ (UInt64(truncatingIfNeeded: epoch + 1) &* 0x9E37_79B9_7F4A_7C15))
            rng.shuffle(&order)
        }
        perm = order
        orderKey = (firstStep, epoch, rank)
        cache.removeAll()
    }

    /// Fills rows [offset, offset + count) of batch `index` (global size B) of the epoch whose order key
    /// is (firstStep, epoch) into bv (count x d_v) and bt (count x d_t).
    package func fill(batch B: Int, index: Int, offset: Int, count: Int, seed: UInt64, shuffle: Bool, firstStep: Int,
                      epoch: Int, rank: Int, vision bv: UnsafeMutablePointer<Float>, text bt: UnsafeMutablePointer<Float>) throws {
        let n = rows, dv = vision.cols, dt = text.cols
        if !streaming, let mv = vision as? MemoryRows, let mt = text as? MemoryRows {
            memoryOrder(n: n, seed: seed, shuffle: shuffle, firstStep: firstStep, epoch: epoch, rank: rank)
            let lo = index * B + offset
            perm.withUnsafeBufferPointer { ord in
                Parallel.forEachTask((count + 255) / 256) { t in
                    for r in (t * 256)..<min(count, t * 256 + 256) {
                        mv.readRow(Int(ord[lo + r]), into: bv + r * dv)
                        mt.readRow(Int(ord[lo + r]), into: bt + r * dt)
                    }
                }
            }
            return
        }
        let C = VLSAEData.chunkRows(batch: B, cols: max(dv, dt))
        if orderKey != (firstStep, epoch, -1) {
            let chunks = (n + C - 1) / C
            var order = (0..<chunks).map { Int32($0) }
            if shuffle {
                var rng = SAETrainingData.generator(seed ^ (UInt64(truncatingIfNeeded: firstStep) &* 0xA24B_AED4_963E_E407), epoch, -2)
                order = SAETrainingData.shuffle(chunks, &rng)
            }
            chunkOrder = order.map { Int($0) }
            chunkStart = [0]
            for c in chunkOrder { chunkStart.append(chunkStart.last! + min(C, n - c * C)) }
            orderKey = (firstStep, epoch, -1)
            cache.removeAll()
        }
        var pos = index * B + offset
        var filled = 0
        while filled < count {
            var lo = 0, hi = chunkOrder.count - 1
            while lo < hi {
                let mid = (lo + hi + 1) / 2
                if chunkStart[mid] <= pos { lo = mid } else { hi = mid - 1 }
            }
            let chunk = chunkOrder[lo]
            let (cv, ct) = try loadChunk(chunk, rowsPerChunk: C, seed: seed, shuffle: shuffle, firstStep: firstStep, epoch: epoch)
            let within = pos - chunkStart[lo]
            let take = min(count - filled, chunkStart[lo + 1] - pos)
            (bv + filled * dv).update(from: cv.p + within * dv, count: take * dv)
            (bt + filled * dt).update(from: ct.p + within * dt, count: take * dt)
            filled += take
            pos += take
        }
    }

    private func loadChunk(_ chunk: Int, rowsPerChunk C: Int, seed: UInt64, shuffle: Bool, firstStep: Int, epoch: Int)
        throws -> (FloatBuffer, FloatBuffer) {
        if let hit = cache.first(where: { $0.chunk == chunk }) { return (hit.v, hit.t) }
        let dv = vision.cols, dt = text.cols
        let start = chunk * C, n = min(C, rows - start)
        let rawV = try FloatBuffer(checked: n * dv, zero: 0, "a vision chunk"), rawT = try FloatBuffer(checked: n * dt, zero: 0, "a text chunk")
        try vision.read(rows: start..<(start + n), into: rawV.p)
        try text.read(rows: start..<(start + n), into: rawT.p)
        if !shuffle {
            cache.append((0, chunk, rawV, rawT))
        } else {
            var rng = SAETrainingData.generator(seed ^ (UInt64(truncatingIfNeeded: firstStep) &* 0xA24B_AED4_963E_E407), epoch, chunk)
            let p = SAETrainingData.shuffle(n, &rng)
            let v = FloatBuffer(n * dv, zero: 0), t = FloatBuffer(n * dt, zero: 0)
            for r in 0..<n {
                (v.p + r * dv).update(from: rawV.p + Int(p[r]) * dv, count: dv)
                (t.p + r * dt).update(from: rawT.p + Int(p[r]) * dt, count: dt)
            }
            cache.append((0, chunk, v, t))
        }
        if cache.count > 2 { cache.removeFirst() }
        return (cache.last!.v, cache.last!.t)
    }

    /// Checks every row of both modalities before training: NaN/Inf (named by modality, row, column),
    /// zero rows (they cannot be normalised) and, for a model with input projections, rows the
    /// projection maps to zero (model.validateProjected). In memory through the caller's buffers;
    /// streamed in chunks. A streaming pass calls `keepGoing(rowsChecked)` about once a second; false cancels it.
    package func validate(model: VLSparseAutoencoder, keepGoing: ((Int) -> Bool)?) throws {
        if !streaming, let mv = vision as? MemoryRows, let mt = text as? MemoryRows {
            try VLSAETrainer.validate(mv, .vision)
            try VLSAETrainer.validate(mt, .text)
            try model.validateProjected(mv, .vision)
            try model.validateProjected(mt, .text)
            return
        }
        for (source, m) in [(vision, VLModality.vision), (text, VLModality.text)] {
            let n = source.rows, d = source.cols
            let chunk = max(1, min(n, (16 << 20) / max(d, 1)))
            let buf = try FloatBuffer(checked: chunk * d, zero: 0, "a \(m.name) chunk")
            var r0 = 0
            var last = SAETrainer.now()
            while r0 < n {
                if let keepGoing, SAETrainer.now() - last >= 1 {
                    if !keepGoing(r0) {
                        throw LaminaError(.cancelled, "vlsae_train cancelled by the progress callback while checking the \(m.name) data (\(r0) of \(n) rows checked)")
                    }
                    last = SAETrainer.now()
                }
                let nr = min(chunk, n - r0)
                try source.read(rows: r0..<(r0 + nr), into: buf.p)
                let rowsRead = MemoryRows(base: UnsafeRawPointer(buf.p), rows: nr, cols: d, dtype: .float32)
                try VLSAETrainer.validate(rowsRead, m, rowOffset: r0)
                try model.validateProjected(rowsRead, m, rowOffset: r0)
                r0 += nr
            }
        }
    }
}

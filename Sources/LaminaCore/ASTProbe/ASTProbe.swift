#if canImport(Glibc)
import Glibc
#endif

/// AST-Probe (Hernández López et al. 2022) as the paper's code trains it (src/probe/probe.py,
/// src/probe/loss.py, src/run_probing.py):
///   t_i = P^T h_i (P: d x r, the syntactic subspace; B = P^T),  D_i = t_{i+1} - t_i,
///   d_hat_i = ||D_i||^2,  scores_c(i) = D_i^T V_c,  scores_u(i) = t_i^T V_u,
///   loss = rank(d_hat, d) + CE(scores_c, c) + CE(scores_u, u) + lambda ||P^T P - I||_F^2
/// with, per batch, rank = sum over ordered pairs (i, j) of one snippet with d_i > d_j of
/// relu(1 - (d_hat_i - d_hat_j)), divided by the number of such pairs (+1e-9); CE = mean
/// cross-entropy over the batch's positions. P, V_c, V_u start uniform in [-0.05, 0.05]; Adam
/// (torch's rule) on mini-batches of snippets in a seeded shuffled order each epoch.
/// Class vocabularies: the distinct c and u chain ids of the training data, sorted.
package final class ASTProbe: @unchecked Sendable {
    package struct Parameters: Sendable, Equatable {
        package var rank: Int = 128
        package var epochs: Int = 20
        package var batchSize: Int = 32
        package var learningRate: Float = 1e-3
        package var orthogonalPenalty: Float = 5
        package var seed: UInt64 = 0
        package var adam = AdamConfig()

        package init() {}

        package func check() throws {
            if rank < 1 || rank > 1 << 20 { throw LaminaError.invalid("params.rank is \(rank); expected 1 <= rank <= \(1 << 20)") }
            if epochs < 0 || epochs > 1 << 24 { throw LaminaError.invalid("params.epochs is \(epochs); expected 0 <= epochs <= \(1 << 24) (0 = initialise only)") }
            if batchSize < 1 || batchSize > 1 << 24 { throw LaminaError.invalid("params.batch_size is \(batchSize); expected 1 <= batch_size <= \(1 << 24)") }
            if !(learningRate > 0 && learningRate.isFinite) { throw LaminaError.invalid("params.lr is \(learningRate); expected a finite value > 0") }
            if !(orthogonalPenalty >= 0 && orthogonalPenalty.isFinite) { throw LaminaError.invalid("params.orthogonal_reg is \(orthogonalPenalty); expected a finite value >= 0") }
            if let p = adam.problem { throw LaminaError.invalid("params.\(p)") }
        }
    }

    package let parameters: Parameters
    package private(set) var dims = 0
    /// P, d x r row-major (the paper's `proj`).
    package private(set) var proj: [Float] = []
    /// V_c, r x n_c and V_u, r x n_u row-major.
    package private(set) var vectorsC: [Float] = []
    package private(set) var vectorsU: [Float] = []
    /// Chain id of each c / u class.
    package private(set) var classesC: [Int32] = []
    package private(set) var classesU: [Int32] = []
    package private(set) var isFitted = false
    package private(set) var steps = 0
    /// Mean training loss of each epoch.
    package private(set) var epochLoss: [Double] = []

    package init(_ parameters: Parameters) throws {
        try parameters.check()
        self.parameters = parameters
    }

    /// Ragged snippets: offsets (count+1), snippet s = rows offsets[s]..<offsets[s+1], each >= 2 tokens
    /// (the one ragged layout of the structural probe, RaggedLayout, with a minimum length of 2).
    package static func checkOffsets(_ offsets: [Int], rows: Int, name: String = "offsets") throws {
        _ = try RaggedLayout(offsets: offsets, tokens: rows, minimumLength: 2, name: name)
    }

    // MARK: training

    package func fit(_ x: MatrixView, offsets: [Int], d: [Int32], c: [Int32], u: [Int32],
                    progress: ProgressHandler? = nil) throws {
        try ASTProbe.checkOffsets(offsets, rows: x.rows)
        let nSnip = offsets.count - 1
        let n = x.rows
        if u.count != n { throw LaminaError.shape("u has \(u.count) entries; expected n = \(n)") }
        if d.count != n - nSnip || c.count != n - nSnip {
            throw LaminaError.shape("d has \(d.count) and c \(c.count) entries; expected n - n_snippets = \(n - nSnip) each")
        }
        if let i = c.firstIndex(where: { $0 < 0 }) { throw LaminaError.invalid("c[\(i)] is \(c[i]); expected a chain id >= 0") }
        if let i = u.firstIndex(where: { $0 < 0 }) { throw LaminaError.invalid("u[\(i)] is \(u[i]); expected a chain id >= 0") }
        let p = parameters
        let dd = x.cols, r = p.rank
        _ = try elementsChecked(dd, r)
        let encC = EncodedLabels(c), encU = EncodedLabels(u)
        let newClassesC = encC.values, newClassesU = encU.values
        // workspace bound: the largest batch (batch_size longest snippets) times the widest buffer
        let lengths = (0..<nSnip).map { offsets[$0 + 1] - offsets[$0] }.sorted(by: >)
        let maxRows = lengths.prefix(p.batchSize).reduce(0, +)
        let widest = max(dd, r, newClassesC.count, newClassesU.count)
        let limit = 1 << 30
        if maxRows.multipliedReportingOverflow(by: widest).overflow || maxRows * widest > limit
            || r.multipliedReportingOverflow(by: max(newClassesC.count, newClassesU.count, r)).overflow
            || r * max(newClassesC.count, newClassesU.count, r) > limit {
            throw LaminaError(.outOfMemory, "a batch of up to \(maxRows) tokens with rank \(r), d = \(dd), \(newClassesC.count) c classes and \(newClassesU.count) u classes needs buffers above \(limit) floats; use a smaller batch_size, a smaller rank or fewer distinct label chains")
        }
        classesC = newClassesC
        classesU = newClassesU
        let nc = classesC.count, nu = classesU.count
        let yc = encC.codes, yu = encU.codes

        var rng = Xoshiro256(seed: p.seed)
        func uniform(_ count: Int) -> [Float] { (0..<count).map { _ in Float(-0.05 + 0.1 * rng.nextUnit()) } }
        dims = dd
        proj = uniform(dd * r)
        vectorsC = uniform(r * nc)
        vectorsU = uniform(r * nu)
        steps = 0
        epochLoss = []
        isFitted = true
        if p.epochs == 0 { return }

        var adamP = AdamState(count: proj.count), adamC = AdamState(count: vectorsC.count), adamU = AdamState(count: vectorsU.count)
        var work = Workspace()
        var order = Array(0..<nSnip)
        let totalSteps = p.epochs * ((nSnip + p.batchSize - 1) / p.batchSize)
        var items = 0
        let start = monotonicSeconds()
        for _ in 0..<p.epochs {
            rng.shuffle(&order)
            var sum = 0.0, batches = 0
            var b0 = 0
            while b0 < nSnip {
                let batch = Array(order[b0..<min(b0 + p.batchSize, nSnip)])
                b0 += p.batchSize
                let terms = step(x, offsets: offsets, batch: batch, d: d, yc: yc, yu: yu, work: &work,
                                 adamP: &adamP, adamC: &adamC, adamU: &adamU)
                let loss = terms.reduce(0, +)
                sum += loss; batches += 1
                steps += 1
                for s in batch { items += offsets[s + 1] - offsets[s] }
                if let progress {
                    let secs = max(monotonicSeconds() - start, 1e-9)
                    let report = ProgressReport(task: "ast_probe_fit", step: steps, totalSteps: totalSteps, items: items,
                                                loss: loss, itemsPerSecond: Double(items) / secs,
                                                termNames: ["rank", "c", "u", "orthogonal"], terms: terms)
                    if !progress(report) { epochLoss.append(sum / Double(batches)); throw LaminaError.cancelled("ast_probe_fit", step: steps) }
                }
            }
            epochLoss.append(sum / Double(batches))
        }
    }

    struct Workspace {
        var xb = [Float](), t = [Float](), dmat = [Float](), sc = [Float](), su = [Float]()
        var gT = [Float](), gD = [Float](), gP = [Float](), gC = [Float](), gU = [Float](), gram = [Float]()
        var dhat = [Double](), gdhat = [Double]()
    }

    private func elementsChecked(_ a: Int, _ b: Int) throws -> Int {
        let (v, o) = a.multipliedReportingOverflow(by: b)
        if o || v > Int.max / 16 { throw LaminaError(.outOfMemory, "rank x d = \(a) x \(b) overflows") }
        return v
    }

    /// Loss terms [rank, c, u, orthogonal] of one batch at the current weights, and their gradient
    /// into work.gP / gC / gU. Exposed for tests through `lossAndGradient`.
    func forwardBackward(_ x: MatrixView, offsets: [Int], batch: [Int], d: [Int32], yc: [Int32], yu: [Int32],
                         work w: inout Workspace) -> [Double] {
        let dd = dims, r = parameters.rank, nc = classesC.count, nu = classesU.count
        var nb = 0
        for s in batch { nb += offsets[s + 1] - offsets[s] }
        let nd = nb - batch.count
        func size(_ a: inout [Float], _ n: Int) { if a.count < n { a = [Float](repeating: 0, count: n) } }
        size(&w.xb, nb * dd); size(&w.t, nb * r); size(&w.dmat, nd * r); size(&w.sc, nd * nc); size(&w.su, nb * nu)
        size(&w.gT, nb * r); size(&w.gD, nd * r); size(&w.gP, dd * r); size(&w.gC, r * nc); size(&w.gU, r * nu)
        size(&w.gram, r * r)
        if w.dhat.count < nd { w.dhat = [Double](repeating: 0, count: nd); w.gdhat = [Double](repeating: 0, count: nd) }
        // gather rows, gold d, labels
        var gd = [Int32](), gc = [Int32](), gu = [Int32](), lens = [Int]()
        gd.reserveCapacity(nd); gc.reserveCapacity(nd); gu.reserveCapacity(nb)
        w.xb.withUnsafeMutableBufferPointer { xb in
            var row = 0
            for s in batch {
                let a = offsets[s], b = offsets[s + 1]
                (xb.baseAddress! + row * dd).update(from: x.row(a), count: (b - a) * dd)
                row += b - a
                lens.append(b - a)
                gd.append(contentsOf: d[(a - s)..<(b - s - 1)])
                gc.append(contentsOf: yc[(a - s)..<(b - s - 1)])
                gu.append(contentsOf: yu[a..<b])
            }
        }
        var terms = [0.0, 0.0, 0.0, 0.0]
        let lambda = Double(parameters.orthogonalPenalty)
        proj.withUnsafeBufferPointer { P in
        vectorsC.withUnsafeBufferPointer { VC in
        vectorsU.withUnsafeBufferPointer { VU in
        w.xb.withUnsafeBufferPointer { XB in
        w.t.withUnsafeMutableBufferPointer { T in
        w.dmat.withUnsafeMutableBufferPointer { D in
        w.sc.withUnsafeMutableBufferPointer { SC in
        w.su.withUnsafeMutableBufferPointer { SU in
        w.gT.withUnsafeMutableBufferPointer { GT in
        w.gD.withUnsafeMutableBufferPointer { GD in
        w.gP.withUnsafeMutableBufferPointer { GP in
        w.gC.withUnsafeMutableBufferPointer { GC in
        w.gU.withUnsafeMutableBufferPointer { GU in
        w.gram.withUnsafeMutableBufferPointer { GR in
        w.dhat.withUnsafeMutableBufferPointer { DH in
        w.gdhat.withUnsafeMutableBufferPointer { GDH in
            let t = T.baseAddress!, dm = D.baseAddress!
            // T = Xb P
            Gemm.ab(m: nb, n: r, k: dd, a: XB.baseAddress!, lda: dd, b: P.baseAddress!, ldb: r, c: t, ldc: r)
            // D rows and d_hat
            var row = 0, drow = 0
            for L in lens {
                for i in 0..<(L - 1) {
                    let a = t + (row + i) * r, b = a + r, o = dm + (drow + i) * r
                    var acc = 0.0
                    for k in 0..<r { let v = b[k] - a[k]; o[k] = v; acc += Double(v) * Double(v) }
                    DH[drow + i] = acc
                }
                row += L; drow += L - 1
            }
            // rank loss
            var pairs = 0.0, rankSum = 0.0
            for i in 0..<nd { GDH[i] = 0 }
            drow = 0
            for L in lens {
                let m = L - 1
                for i in 0..<m {
                    for j in 0..<m where gd[drow + i] > gd[drow + j] {
                        pairs += 1
                        let margin = 1 - (DH[drow + i] - DH[drow + j])
                        if margin > 0 { rankSum += margin; GDH[drow + i] -= 1; GDH[drow + j] += 1 }
                    }
                }
                drow += m
            }
            let denom = pairs + 1e-9
            terms[0] = rankSum / denom
            // scores
            Gemm.ab(m: nd, n: nc, k: r, a: dm, lda: r, b: VC.baseAddress!, ldb: nc, c: SC.baseAddress!, ldc: nc)
            Gemm.ab(m: nb, n: nu, k: r, a: t, lda: r, b: VU.baseAddress!, ldb: nu, c: SU.baseAddress!, ldc: nu)
            terms[1] = ASTProbe.crossEntropy(SC.baseAddress!, rows: nd, classes: nc, labels: gc)
            terms[2] = ASTProbe.crossEntropy(SU.baseAddress!, rows: nb, classes: nu, labels: gu)
            // gradients: dSc, dSu are now in SC, SU
            Gemm.aTb(m: r, n: nc, k: nd, a: dm, lda: r, b: SC.baseAddress!, ldb: nc, c: GC.baseAddress!, ldc: nc)   // D^T dSc
            Gemm.aTb(m: r, n: nu, k: nb, a: t, lda: r, b: SU.baseAddress!, ldb: nu, c: GU.baseAddress!, ldc: nu)    // T^T dSu
            Gemm.abT(m: nd, n: r, k: nc, a: SC.baseAddress!, lda: nc, b: VC.baseAddress!, ldb: nc, c: GD.baseAddress!, ldc: r) // dSc V_c^T
            Gemm.abT(m: nb, n: r, k: nu, a: SU.baseAddress!, lda: nu, b: VU.baseAddress!, ldb: nu, c: GT.baseAddress!, ldc: r) // dSu V_u^T
            for i in 0..<nd {
                let g = Float(2 * GDH[i] / denom)
                if g != 0 { let o = GD.baseAddress! + i * r, a = dm + i * r; for k in 0..<r { o[k] += g * a[k] } }
            }
            row = 0; drow = 0
            for L in lens {
                for i in 0..<(L - 1) {
                    let g = GD.baseAddress! + (drow + i) * r
                    let lo = GT.baseAddress! + (row + i) * r, hi = lo + r
                    for k in 0..<r { hi[k] += g[k]; lo[k] -= g[k] }
                }
                row += L; drow += L - 1
            }
            // dP = Xb^T dT
            Gemm.aTb(m: dd, n: r, k: nb, a: XB.baseAddress!, lda: dd, b: GT.baseAddress!, ldb: r, c: GP.baseAddress!, ldc: r)
            // orthogonality: G = P^T P - I; loss lambda ||G||^2; dP += 4 lambda P G
            Gemm.aTb(m: r, n: r, k: dd, a: P.baseAddress!, lda: r, b: P.baseAddress!, ldb: r, c: GR.baseAddress!, ldc: r)
            var orth = 0.0
            for a in 0..<r { GR[a * r + a] -= 1 }
            for k in 0..<(r * r) { orth += Double(GR[k]) * Double(GR[k]) }
            terms[3] = lambda * orth
            if lambda != 0 {
                Gemm.ab(m: dd, n: r, k: r, alpha: Float(4 * lambda), a: P.baseAddress!, lda: r, b: GR.baseAddress!, ldb: r, beta: 1, c: GP.baseAddress!, ldc: r)
            }
        }}}}}}}}}}}}}}}}
        return terms
    }

    /// Mean softmax cross-entropy over rows (labels < 0 ignored, as torch's ignore_index); replaces
    /// the scores by d(mean CE)/d(scores).
    static func crossEntropy(_ s: UnsafeMutablePointer<Float>, rows: Int, classes: Int, labels: [Int32]) -> Double {
        var count = 0
        for y in labels.prefix(rows) where y >= 0 { count += 1 }
        var total = 0.0
        let scale = count > 0 ? 1 / Double(count) : 0
        for i in 0..<rows {
            let row = s + i * classes
            let y = Int(labels[i])
            if y < 0 { for k in 0..<classes { row[k] = 0 }; continue }
            var mx = -Double.infinity
            for k in 0..<classes { mx = max(mx, Double(row[k])) }
            var z = 0.0
            for k in 0..<classes { z += exp(Double(row[k]) - mx) }
            let lse = mx + log(z)
            total += lse - Double(row[y])
            for k in 0..<classes { row[k] = Float((exp(Double(row[k]) - lse) - (k == y ? 1 : 0)) * scale) }
        }
        return total * scale
    }

    private func step(_ x: MatrixView, offsets: [Int], batch: [Int], d: [Int32], yc: [Int32], yu: [Int32],
                      work: inout Workspace, adamP: inout AdamState, adamC: inout AdamState,
                      adamU: inout AdamState) -> [Double] {
        let terms = forwardBackward(x, offsets: offsets, batch: batch, d: d, yc: yc, yu: yu, work: &work)
        let lr = parameters.learningRate, cfg = parameters.adam
        work.gP.withUnsafeBufferPointer { g in proj.withUnsafeMutableBufferPointer { adamP.update($0.baseAddress!, gradient: g.baseAddress!, learningRate: lr, config: cfg) } }
        work.gC.withUnsafeBufferPointer { g in vectorsC.withUnsafeMutableBufferPointer { adamC.update($0.baseAddress!, gradient: g.baseAddress!, learningRate: lr, config: cfg) } }
        work.gU.withUnsafeBufferPointer { g in vectorsU.withUnsafeMutableBufferPointer { adamU.update($0.baseAddress!, gradient: g.baseAddress!, learningRate: lr, config: cfg) } }
        return terms
    }

    // MARK: prediction

    /// Predicted tuples of every snippet: d_hat (n - n_snippets), c and u as chain ids (argmax class).
    package func predict(_ x: MatrixView, offsets: [Int]) throws -> (d: [Float], c: [Int32], u: [Int32]) {
        if !isFitted { throw LaminaError.invalid("this lamina_ast_probe is not fitted yet; call lamina_ast_probe_fit first") }
        if x.cols != dims { throw LaminaError.shape("x has d = \(x.cols) columns; the probe was fitted with d = \(dims)") }
        try ASTProbe.checkOffsets(offsets, rows: x.rows)
        let n = x.rows, nSnip = offsets.count - 1, r = parameters.rank
        let nc = classesC.count, nu = classesU.count
        var t = [Float](repeating: 0, count: n * r)
        proj.withUnsafeBufferPointer { P in
            t.withUnsafeMutableBufferPointer { T in
                Gemm.ab(m: n, n: r, k: dims, a: x.base, lda: dims, b: P.baseAddress!, ldb: r, c: T.baseAddress!, ldc: r)
            }
        }
        var dOut = [Float](repeating: 0, count: n - nSnip), cOut = [Int32](repeating: 0, count: n - nSnip)
        var uOut = [Int32](repeating: 0, count: n)
        var diff = [Float](repeating: 0, count: r)
        for s in 0..<nSnip {
            for i in offsets[s]..<offsets[s + 1] {
                let ti = i * r
                // u: argmax over classes of t_i . V_u[:, k]
                uOut[i] = classesU[ASTProbe.argmaxScore(t, ti, vectorsU, r, nu)]
                if i + 1 < offsets[s + 1] {
                    var acc: Float = 0
                    for k in 0..<r { let v = t[ti + r + k] - t[ti + k]; diff[k] = v; acc += v * v }
                    dOut[i - s] = acc
                    cOut[i - s] = classesC[ASTProbe.argmaxScore(diff, 0, vectorsC, r, nc)]
                }
            }
        }
        return (dOut, cOut, uOut)
    }

    /// First index of the largest v . V[:, k] (torch.argmax's tie rule).
    static func argmaxScore(_ v: [Float], _ off: Int, _ V: [Float], _ r: Int, _ k: Int) -> Int {
        var best = 0, bestScore = -Float.infinity
        for j in 0..<k {
            var s: Float = 0
            for a in 0..<r { s += v[off + a] * V[a * k + j] }
            if s > bestScore { bestScore = s; best = j }
        }
        return best
    }

    /// Loss terms and gradients at the current weights over the given snippets as one batch (tests).
    package func lossAndGradient(_ x: MatrixView, offsets: [Int], d: [Int32], c: [Int32], u: [Int32])
        -> (terms: [Double], gradP: [Float], gradC: [Float], gradU: [Float]) {
        var mapC = [Int32: Int32](), mapU = [Int32: Int32]()
        for (k, v) in classesC.enumerated() { mapC[v] = Int32(k) }
        for (k, v) in classesU.enumerated() { mapU[v] = Int32(k) }
        var w = Workspace()
        let terms = forwardBackward(x, offsets: offsets, batch: Array(0..<(offsets.count - 1)), d: d,
                                    yc: c.map { mapC[$0] ?? -1 }, yu: u.map { mapU[$0] ?? -1 }, work: &w)
        return (terms, Array(w.gP.prefix(proj.count)), Array(w.gC.prefix(vectorsC.count)), Array(w.gU.prefix(vectorsU.count)))
    }
}

// MARK: - Restoring a fitted probe (lamina_ast_probe_set_weights; Python pickling)

extension ASTProbe {
    /// Makes this probe a fitted one with the given weights (proj d x rank, vectorsC rank x n_c,
    /// vectorsU rank x n_u, finite) and class chain ids (n_c, n_u distinct values >= 0): predict is
    /// then bit-identical to that of the probe they came from. steps reads 0, no epoch losses.
    package func restore(dims d: Int, proj p: [Float], vectorsC vc: [Float], vectorsU vu: [Float],
                        classesC cc: [Int32], classesU cu: [Int32]) throws {
        let r = parameters.rank
        if d < 1 { throw LaminaError.invalid("dim is \(d); expected >= 1") }
        if cc.isEmpty || cu.isEmpty { throw LaminaError.invalid("n_c_classes and n_u_classes must be >= 1") }
        if p.count != d * r || vc.count != r * cc.count || vu.count != r * cu.count {
            throw LaminaError.shape("weights have \(p.count), \(vc.count) and \(vu.count) values; expected dim * rank = \(d * r), rank * n_c = \(r * cc.count) and rank * n_u = \(r * cu.count)")
        }
        for (name, values) in [("proj", p), ("vectors_c", vc), ("vectors_u", vu)] {
            if let i = values.firstIndex(where: { !$0.isFinite }) { throw LaminaError(.nonFinite, "\(name)[\(i)] is \(values[i]); expected finite values") }
        }
        for (name, ids) in [("classes_c", cc), ("classes_u", cu)] {
            if let i = ids.firstIndex(where: { $0 < 0 }) { throw LaminaError.invalid("\(name)[\(i)] is \(ids[i]); expected a chain id >= 0") }
            if Set(ids).count != ids.count { throw LaminaError.invalid("\(name) has duplicate chain ids") }
        }
        dims = d
        proj = p; vectorsC = vc; vectorsU = vu
        classesC = cc; classesU = cu
        steps = 0
        epochLoss = []
        isFitted = true
    }
}

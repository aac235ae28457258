#if canImport(Glibc)
import Glibc
#endif

/// The Alignment Quality Index (Borah et al. 2025): how well a representation separates groups of
/// prompts (safe vs unsafe, ...) scored by combining cluster-validity indices computed on the groups as
/// given (hard labels, no clustering). No official implementation is published and the public scripts
/// disagree, so each variant is its own named formula:
///   (a) dbsDunn:      gamma / (1 + DBS) + (1 - gamma) DI / (1 + DI)
///   (b) silhouetteXB: gamma (S + 1) / 2 + (1 - gamma) / (1 + XB)
///   (c) chiXB:        gamma CHI_norm + (1 - gamma) XB_norm over a set of rows (groups, layers):
///                     CHI_norm = (CHI - min CHI) / (max CHI - min CHI)   (0.5 when all CHI are equal)
///                     XB_norm  = 1 - sigmoid((XB - median XB) / IQR XB)   (IQR 1 when it is 0; +inf XB -> 0;
///                                median and IQR over the finite XB values, numpy's linear percentiles)
/// DBS: Davies-Bouldin (scikit-learn); DI: classic Dunn (single linkage / max diameter, Euclidean);
/// S: mean Euclidean silhouette; XB: Xie-Beni with hard memberships, W / (n min_{a != b} ||c_a - c_b||^2);
/// CHI: Calinski-Harabasz (scikit-learn). Every term lies in [0, 1], so every AQI does.
package enum AQI {
    package enum Variant: Sendable { case dbsDunn, silhouetteXB, chiXB }

    package enum Pooling: Sendable {
        case none
        case uniform(first: Int, last: Int)
        case given([Double])
        case learned
    }

    /// Columns of a table row: DBS, DI, S, XB, CHI, CHI_norm, XB_norm, AQI (NaN where the variant does not
    /// use the index).
    package static let columns = 8

    /// Groups must be at least 2, each with at least 2 members.
    package static func checkGroups(_ labels: EncodedLabels, _ what: String) throws {
        if labels.classCount < 2 {
            throw LaminaError.invalid("\(what) has \(labels.classCount) group; AQI needs at least 2 groups (labels with 2 or more distinct values)")
        }
        for (c, count) in labels.counts.enumerated() where count < 2 {
            throw LaminaError.invalid("\(what): the group with label \(labels.values[c]) has \(count) member; AQI needs at least 2 members per group")
        }
    }

    package static func checkGamma(_ gamma: Double) throws {
        if !(gamma >= 0 && gamma <= 1) { throw LaminaError.invalid("gamma is \(gamma); expected a value in [0, 1]") }
    }

    /// The indices of one representation (PCA-projected first when pca > 0) and, for variants (a) and
    /// (b), its AQI. Variant (c) leaves CHI_norm, XB_norm and AQI NaN (filled by `normalise`).
    package static func row(_ x: MatrixView, labels: EncodedLabels, variant: Variant, gamma: Double, pca: Int,
                           what: String) throws -> [Double] {
        if pca > 0 {
            let projected = try PCA.project(x, components: pca)
            return try projected.withView { try row($0, labels: labels, variant: variant, gamma: gamma, pca: 0, what: what) }
        }
        if x.rows != labels.count {
            throw LaminaError.shape("labels has \(labels.count) entries; expected one per row of \(what) (\(x.rows))")
        }
        try checkGroups(labels, what)
        var r = [Double](repeating: .nan, count: columns)
        switch variant {
        case .dbsDunn:
            let dbs = try InternalIndices.daviesBouldin(x, labels: labels)
            let di = try DunnIndex.compute(x, labels: labels, linkage: .single, diameter: .maxPairwise)
            if di.isNaN { throw LaminaError.invalid("\(what): the Dunn index is 0/0 (every group is one repeated point and two groups share it)") }
            r[0] = dbs; r[1] = di
            r[7] = gamma / (1 + dbs) + (1 - gamma) * (di.isInfinite ? 1 : di / (1 + di))
        case .silhouetteXB:
            let s = try InternalIndices.silhouetteScore(x, labels: labels, metric: .euclidean)
            let xb = try xieBeni(x, labels, what)
            r[2] = s; r[3] = xb
            r[7] = gamma * (s + 1) / 2 + (1 - gamma) * (xb.isInfinite ? 0 : 1 / (1 + xb))
        case .chiXB:
            r[4] = try InternalIndices.calinskiHarabasz(x, labels: labels)
            r[3] = try xieBeni(x, labels, what)
        }
        return r
    }

    static func xieBeni(_ x: MatrixView, _ labels: EncodedLabels, _ what: String) throws -> Double {
        let xb = try XieBeniIndex.compute(x, labels: labels, separation: .centroid)
        if xb.isNaN { throw LaminaError.invalid("\(what): the Xie-Beni index is 0/0 (every row coincides with its group's centroid and two centroids coincide)") }
        return xb
    }

    /// Variant (c) over a set of rows: fills CHI_norm, XB_norm and AQI of every row from the CHI and XB
    /// columns of all of them.
    package static func normalise(_ rows: inout [[Double]], gamma: Double) {
        let chi = rows.map { $0[4] }, xb = rows.map { $0[3] }
        let lo = chi.min() ?? 0, hi = chi.max() ?? 0
        let finite = xb.filter { $0.isFinite }.sorted()
        let median = percentile(finite, 0.5)
        let iqr = percentile(finite, 0.75) - percentile(finite, 0.25)
        let scale = iqr > 0 ? iqr : 1
        for i in rows.indices {
            let chiNorm = hi > lo ? (chi[i] - lo) / (hi - lo) : 0.5
            let xbNorm: Double
            if xb[i].isInfinite || finite.isEmpty {
                xbNorm = 0
            } else {
                let z = (xb[i] - median) / scale
                xbNorm = 1 - 1 / (1 + exp(-z))
            }
            rows[i][5] = chiNorm
            rows[i][6] = xbNorm
            rows[i][7] = gamma * chiNorm + (1 - gamma) * xbNorm
        }
    }

    /// numpy.percentile(v, 100 q) with linear interpolation, v sorted and non-empty (0 when empty).
    static func percentile(_ v: [Double], _ q: Double) -> Double {
        if v.isEmpty { return 0 }
        let pos = q * Double(v.count - 1)
        let i = Int(pos.rounded(.down)), frac = pos - Double(i)
        if i + 1 >= v.count { return v[v.count - 1] }
        return v[i] + frac * (v[i + 1] - v[i])
    }

    /// One representation: its row (variants (a) and (b) only; (c) needs a set of rows).
    package static func score(_ x: MatrixView, labels: EncodedLabels, variant: Variant, gamma: Double,
                             pca: Int) throws -> [Double] {
        try checkGamma(gamma)
        if case .chiXB = variant {
            throw LaminaError.invalid("variant is chi_xb, which normalises CHI and XB over a set of rows; use lamina_aqi_groups or lamina_aqi_layers")
        }
        return try row(x, labels: labels, variant: variant, gamma: gamma, pca: pca, what: "x")
    }

    /// One row per distinct value of `groups` (ascending), computed on that subset of the rows, then one
    /// row for all the rows ("overall"); variant (c) normalises over these G + 1 rows. Row-major
    /// (G + 1) x columns.
    package static func groups(_ x: MatrixView, labels: EncodedLabels, groups: EncodedLabels, variant: Variant,
                              gamma: Double, pca: Int) throws -> [Double] {
        try checkGamma(gamma)
        if labels.count != x.rows { throw LaminaError.shape("labels has \(labels.count) entries; expected one per row of x (\(x.rows))") }
        if groups.count != x.rows { throw LaminaError.shape("groups has \(groups.count) entries; expected one per row of x (\(x.rows))") }
        let d = x.cols
        var table: [[Double]] = []
        for g in 0..<groups.classCount {
            let members = groups.codes.indices.filter { groups.codes[$0] == Int32(g) }
            var sub = [Float](repeating: 0, count: members.count * d)
            var subLabels = [Int32](repeating: 0, count: members.count)
            for (r, i) in members.enumerated() {
                let src = x.row(i)
                for c in 0..<d { sub[r * d + c] = src[c] }
                subLabels[r] = labels.values[Int(labels.codes[i])]
            }
            let encoded = EncodedLabels(subLabels)
            let what = "the rows of group \(groups.values[g])"
            table.append(try sub.withUnsafeBufferPointer {
                try row(MatrixView(base: $0.baseAddress!, rows: members.count, cols: d), labels: encoded,
                        variant: variant, gamma: gamma, pca: pca, what: what)
            })
        }
        table.append(try row(x, labels: labels, variant: variant, gamma: gamma, pca: pca, what: "x (all rows)"))
        if case .chiXB = variant { normalise(&table, gamma: gamma) }
        return table.flatMap { $0 }
    }

    /// Per-layer rows, then the row of the pooled representation P = sum_l w_l H_l (NaN with no pooling);
    /// variant (c) normalises over all these rows. Returns the row-major (L + 1) x columns table and the
    /// weights (NaN with no pooling).
    package static func layers(_ layers: [MatrixView], labels: EncodedLabels, variant: Variant, gamma: Double,
                              pca: Int, pooling: Pooling) throws -> (table: [Double], weights: [Double]) {
        try checkGamma(gamma)
        let l = layers.count
        if l == 0 { throw LaminaError.invalid("the list of layers is empty; expected at least one layer") }
        let n = labels.count
        for (i, h) in layers.enumerated() where h.rows != n {
            throw LaminaError.shape("layers[\(i)] has \(h.rows) rows; expected \(n) (one per label)")
        }
        try checkGroups(labels, "labels")
        if case .chiXB = variant, case .none = pooling, l < 2 {
            throw LaminaError.invalid("variant is chi_xb with pooling none and 1 layer: one row to normalise CHI and XB over; expected >= 2 rows (2 or more layers, or a pooled row)")
        }
        var weights = [Double](repeating: .nan, count: l)
        switch pooling {
        case .none: break
        case .uniform(let first, let last):
            if first < 0 || last >= l || first > last {
                throw LaminaError.invalid("the layer range is [\(first), \(last)]; expected 0 <= first_layer <= last_layer <= \(l - 1)")
            }
            for i in 0..<l { weights[i] = (first...last).contains(i) ? 1 / Double(last - first + 1) : 0 }
        case .given(let w):
            if w.count != l { throw LaminaError.shape("weights has \(w.count) entries; expected one per layer (\(l))") }
            for (i, v) in w.enumerated() where !(v >= 0) || !v.isFinite {
                throw LaminaError.invalid("weights[\(i)] is \(v); expected a finite value >= 0")
            }
            let total = w.reduce(0, +)
            if !(total > 0) { throw LaminaError.invalid("the weights sum to \(total); expected a positive sum (they are normalised to sum 1)") }
            weights = w.map { $0 / total }
        case .learned:
            weights = try LayerWeights.learn(layers, labels: labels)
        }
        if case .none = pooling {} else {
            let first = weights.firstIndex(where: { $0 > 0 }) ?? 0
            let d = layers[first].cols
            for (i, h) in layers.enumerated() where h.cols != d && weights[i] > 0 {
                throw LaminaError.shape("layers[\(i)] has \(h.cols) columns and layers[\(first)] \(d); pooling sums the layers, so the layers with a positive weight need equal widths")
            }
        }
        var table: [[Double]] = []
        for (i, h) in layers.enumerated() {
            table.append(try row(h, labels: labels, variant: variant, gamma: gamma, pca: pca, what: "layers[\(i)]"))
        }
        if case .none = pooling {
            if case .chiXB = variant { normalise(&table, gamma: gamma) }
            table.append([Double](repeating: .nan, count: columns))
        } else {
            let pooled = pool(layers, weights)
            table.append(try pooled.withView {
                try row($0, labels: labels, variant: variant, gamma: gamma, pca: pca, what: "the pooled representation")
            })
            if case .chiXB = variant { normalise(&table, gamma: gamma) }
        }
        return (table.flatMap { $0 }, weights)
    }

    /// P = sum_l w_l H_l (float64 accumulation, stored float32), over the layers with w_l > 0.
    static func pool(_ layers: [MatrixView], _ w: [Double]) -> Matrix {
        let n = layers[0].rows
        let d = layers[w.firstIndex(where: { $0 > 0 }) ?? 0].cols
        var out = Matrix(uninitializedRows: n, cols: d)
        out.storage.withUnsafeMutableBufferPointer { o in
            let op = o.baseAddress!
            Parallel.forEachTask((n + 255) / 256) { task in
                var acc = [Double](repeating: 0, count: d)
                for r in (task * 256)..<min(n, task * 256 + 256) {
                    for c in 0..<d { acc[c] = 0 }
                    for (i, h) in layers.enumerated() where w[i] > 0 {
                        let src = h.row(r), wi = w[i]
                        for c in 0..<d { acc[c] += wi * Double(src[c]) }
                    }
                    for c in 0..<d { op[r * d + c] = Float(acc[c]) }
                }
            }
        }
        return out
    }
}

/// Layer weights learned to maximise the separation of the groups in the pooled representation
/// P(w) = sum_l w_l H_l over the simplex {w >= 0, sum w = 1}: the criterion is the Calinski-Harabasz
/// ratio of P up to its constant factor,
///     J(w) = (w^T B w) / (w^T W w),  B_lm = sum_g n_g <c_g^l - c^l, c_g^m - c^m>,
///                                     W_lm = sum_i <x_i^l - c^l_{g(i)}, x_i^m - c^m_{g(i)}>
/// (c_g^l the centroid of group g in layer l, c^l the overall mean), so CHI(P(w)) = J(w) (n - k)/(k - 1).
/// Maximised by projected gradient ascent (Euclidean projection onto the simplex, Duchi et al. 2008,
/// Armijo backtracking) from two starts -- the uniform weights and the best single layer -- keeping the
/// better end point. The projection sets weights exactly to 0, so the result is sparse whenever the
/// maximiser lies on a face of the simplex (typical for a ratio of quadratic forms); it satisfies the
/// first-order (KKT) conditions of the problem to about 1e-5 of the gradient's scale.
package enum LayerWeights {
    package static func learn(_ layers: [MatrixView], labels: EncodedLabels) throws -> [Double] {
        let l = layers.count
        let d = layers[0].cols
        for (i, h) in layers.enumerated() where h.cols != d {
            throw LaminaError.shape("layers[\(i)] has \(h.cols) columns and layers[0] \(d); learned pooling sums the layers, so they need equal widths")
        }
        let (b, w) = scatter(layers, labels: labels)
        if l == 1 { return [1] }
        func quad(_ m: [Double], _ v: [Double]) -> Double {
            var s = 0.0
            for i in 0..<l { for j in 0..<l { s += v[i] * m[i * l + j] * v[j] } }
            return s
        }
        func value(_ v: [Double]) -> Double { let den = quad(w, v); return den > 0 ? quad(b, v) / den : -.infinity }
        var best = 0, bestValue = -Double.infinity
        for i in 0..<l {
            var e = [Double](repeating: 0, count: l); e[i] = 1
            let v = value(e)
            if v > bestValue { bestValue = v; best = i }
        }
        let uniform = [Double](repeating: 1 / Double(l), count: l)
        if !(quad(w, uniform) > 0) && !bestValue.isFinite {
            throw LaminaError.invalid("every layer has zero within-group scatter; the separation ratio is undefined")
        }
        var vertex = [Double](repeating: 0, count: l); vertex[best] = 1
        var result = uniform, resultValue = -Double.infinity
        for start in [uniform, vertex] {
            let (v, f) = ascend(start, b, w, l, value)
            if !resultValue.isFinite || f > resultValue + 1e-15 * abs(resultValue) { result = v; resultValue = f }
        }
        if !resultValue.isFinite { throw LaminaError.invalid("the within-group scatter of the pooled representation is 0; the separation ratio is undefined") }
        return result
    }

    static func ascend(_ start: [Double], _ b: [Double], _ w: [Double], _ l: Int,
                       _ value: ([Double]) -> Double) -> ([Double], Double) {
        var x = start, f = value(x)
        if !f.isFinite { return (x, f) }
        var step = 1.0
        for _ in 0..<2000 {
            // gradient of J: 2 (B x - J W x) / (x^T W x)
            var bx = [Double](repeating: 0, count: l), wx = [Double](repeating: 0, count: l)
            var den = 0.0
            for i in 0..<l {
                for j in 0..<l { bx[i] += b[i * l + j] * x[j]; wx[i] += w[i * l + j] * x[j] }
                den += x[i] * wx[i]
            }
            let g = (0..<l).map { 2 * (bx[$0] - f * wx[$0]) / den }
            let gmax = g.map { abs($0) }.max() ?? 0
            if gmax == 0 { break }
            var t = step / gmax
            var moved = false
            for _ in 0..<60 {
                let candidate = projectSimplex((0..<l).map { x[$0] + t * g[$0] })
                var dot = 0.0
                for i in 0..<l { dot += g[i] * (candidate[i] - x[i]) }
                let fc = value(candidate)
                if fc.isFinite && fc >= f + 1e-4 * dot && dot > 0 {
                    let change = (0..<l).map { abs(candidate[$0] - x[$0]) }.max() ?? 0
                    let gain = fc - f
                    x = candidate; f = fc; moved = true
                    step = min(1e6, t * gmax * 2)
                    if change <= 1e-13 || gain <= 1e-15 * abs(f) { return (x, f) }
                    break
                }
                t /= 2
            }
            if !moved { break }
        }
        return (x, f)
    }

    /// Euclidean projection onto the probability simplex (Duchi, Shalev-Shwartz, Singer & Chandra 2008).
    static func projectSimplex(_ v: [Double]) -> [Double] {
        let u = v.sorted(by: >)
        var cumulative = 0.0, theta = 0.0
        for (j, value) in u.enumerated() {
            cumulative += value
            let t = (cumulative - 1) / Double(j + 1)
            if value - t > 0 { theta = t }
        }
        return v.map { max(0, $0 - theta) }
    }

    /// The L x L between- and within-group scatter matrices of the layers (float64).
    package static func scatter(_ layers: [MatrixView], labels: EncodedLabels) -> (between: [Double], within: [Double]) {
        let l = layers.count, d = layers[0].cols, n = labels.count, k = labels.classCount
        let cents = layers.map { ClassCentroids($0, labels: labels) }
        // overall means = count-weighted centroid means
        var means = [[Double]](repeating: [Double](repeating: 0, count: d), count: l)
        for i in 0..<l { for g in 0..<k { let wg = Double(labels.counts[g]) / Double(n); for c in 0..<d { means[i][c] += wg * cents[i].centroids[g * d + c] } } }
        var between = [Double](repeating: 0, count: l * l)
        for i in 0..<l {
            for j in i..<l {
                var s = 0.0
                for g in 0..<k {
                    var dot = 0.0
                    for c in 0..<d { dot += (cents[i].centroids[g * d + c] - means[i][c]) * (cents[j].centroids[g * d + c] - means[j][c]) }
                    s += Double(labels.counts[g]) * dot
                }
                between[i * l + j] = s; between[j * l + i] = s
            }
        }
        // Within: chunks of rows, per-chunk L x L partial sums combined in chunk order (deterministic).
        let parts = Parallel.mapChunks(count: n, chunk: 1024) { range -> [Double] in
            var acc = [Double](repeating: 0, count: l * l)
            var residual = [Double](repeating: 0, count: l * d)
            for r in range {
                let g = Int(labels.codes[r])
                for i in 0..<l {
                    let src = layers[i].row(r)
                    cents[i].centroids.withUnsafeBufferPointer { cp in
                        for c in 0..<d { residual[i * d + c] = Double(src[c]) - cp[g * d + c] }
                    }
                }
                residual.withUnsafeBufferPointer { rp in
                    for i in 0..<l {
                        for j in i..<l {
                            var dot = 0.0
                            for c in 0..<d { dot += rp[i * d + c] * rp[j * d + c] }
                            acc[i * l + j] += dot
                        }
                    }
                }
            }
            return acc
        }
        var within = [Double](repeating: 0, count: l * l)
        for p in parts { for t in 0..<(l * l) { within[t] += p[t] } }
        for i in 0..<l { for j in 0..<i { within[i * l + j] = within[j * l + i] } }
        return (between, within)
    }
}

/// L2-penalised logistic regression with scikit-learn's objective and solution
/// (sklearn.linear_model.LogisticRegression(penalty="l2", solver="lbfgs")): multinomial (softmax) for
/// K >= 3 classes with a K x d coefficient matrix, binary (sigmoid, class 1 = the larger label value
/// positive) with a 1 x d coefficient row, and multi-label one-vs-rest sigmoids (one row per label,
/// fitted jointly: the objective is a sum of independent binary objectives, so the optimum is that of
/// OneVsRestClassifier(LogisticRegression)). Solved by L-BFGS over a fused float32-gemm / float64
/// loss-and-gradient pass (LogisticObjective).
package final class LogisticProbe: @unchecked Sendable {
    package enum ClassWeight: Sendable, Equatable {
        case none
        /// w_c = S / (K * S_c): S the total sample weight, S_c that of class c (sklearn "balanced").
        case balanced
        /// One weight per class, in ascending order of the class values.
        case given([Double])
    }

    package struct Parameters: Sendable {
        package var C = 1.0
        package var maxIterations = 100
        package var tolerance = 1e-4
        package var classWeight: ClassWeight = .none
        package var standardize = false
        package var multiLabel = false
        package var fitIntercept = true

        package init() {}

        package func check() throws {
            if !(C > 0) || !C.isFinite { throw LaminaError.invalid("C is \(C); expected a finite value > 0 (inverse regularisation strength)") }
            if maxIterations < 1 { throw LaminaError.invalid("max_iter is \(maxIterations); expected >= 1") }
            if !(tolerance >= 0) || !tolerance.isFinite { throw LaminaError.invalid("tol is \(tolerance); expected a finite value >= 0") }
            if multiLabel && classWeight != .none {
                throw LaminaError.invalid("class_weight is not supported with multi_label; expected class_weight none")
            }
        }
    }

    package let parameters: Parameters
    package private(set) var classes: [Int32] = []
    package private(set) var coef: [Double] = []        // outputs x dims (standardised space if standardize)
    package private(set) var intercept: [Double] = []   // outputs
    package private(set) var outputs = 0
    package private(set) var dims = 0
    package private(set) var link: LogisticLink = .softmax
    package private(set) var mean: [Double] = []
    package private(set) var scale: [Double] = []
    package private(set) var iterations = 0
    package private(set) var loss = 0.0
    package private(set) var converged = false
    package var isFitted: Bool { dims > 0 }
    package var isMultiLabel: Bool { link == .sigmoid && classes.isEmpty }
    /// Effective coefficients and intercepts on the raw input (standardisation folded in).
    private var rawCoef: [Double] = []
    private var rawIntercept: [Double] = []

    package init(_ parameters: Parameters) throws {
        try parameters.check()
        self.parameters = parameters
    }

    /// Fits class labels (any int32 values, at least two distinct). sampleWeight: n finite values >= 0
    /// with a positive sum, or nil. `parallel` = false runs the pass over X on the calling thread (same
    /// bits; used when the caller parallelises over folds or layers).
    package func fit(_ x: MatrixView, labels: EncodedLabels, sampleWeight: [Double]? = nil, parallel: Bool = true) throws {
        let n = x.rows
        if labels.count != n { throw LaminaError.shape("labels has \(labels.count) entries; expected n = \(n)") }
        if parameters.multiLabel {
            throw LaminaError.invalid("this probe was created with multi_label; fit it with multi-label targets")
        }
        if labels.classCount < 2 {
            throw LaminaError.invalid("labels contain only one class (\(labels.values.first.map { String($0) } ?? "none")); a logistic probe needs samples of at least 2 classes")
        }
        let k = labels.classCount
        var weights = try Self.checkedWeights(sampleWeight, n)
        switch parameters.classWeight {
        case .none: break
        case .balanced:
            var perClass = [Double](repeating: 0, count: k)
            var total = 0.0
            for i in 0..<n { let w = weights?[i] ?? 1; perClass[Int(labels.codes[i])] += w; total += w }
            var cw = [Double](repeating: 0, count: k)
            for c in 0..<k { cw[c] = perClass[c] > 0 ? total / (Double(k) * perClass[c]) : 0 }
            weights = (0..<n).map { (weights?[$0] ?? 1) * cw[Int(labels.codes[$0])] }
        case .given(let cw):
            if cw.count != k {
                throw LaminaError.shape("class_weight has \(cw.count) values; expected one per class (\(k) classes)")
            }
            for (c, w) in cw.enumerated() where !(w >= 0) || !w.isFinite {
                throw LaminaError.invalid("class_weight[\(c)] (class \(labels.values[c])) is \(w); expected a finite value >= 0")
            }
            weights = (0..<n).map { (weights?[$0] ?? 1) * cw[Int(labels.codes[$0])] }
        }
        let link: LogisticLink = k == 2 ? .sigmoid : .softmax
        let outputs = k == 2 ? 1 : k
        let targets: [Float] = k == 2 ? labels.codes.map { Float($0) } : []
        try solve(x, link: link, outputs: outputs, classOf: k == 2 ? [] : labels.codes, targets: targets,
                  weights: weights, parallel: parallel)
        classes = labels.values
    }

    /// Fits multi-label targets: y is n x L (row-major), nonzero = the label is present.
    package func fitMultiLabel(_ x: MatrixView, targets y: UnsafeBufferPointer<UInt8>, labelCount: Int,
                              sampleWeight: [Double]? = nil, parallel: Bool = true) throws {
        let n = x.rows
        if !parameters.multiLabel {
            throw LaminaError.invalid("this probe was not created with multi_label; fit it with class labels")
        }
        if labelCount < 1 { throw LaminaError.invalid("n_labels is \(labelCount); expected >= 1") }
        if y.count != n * labelCount { throw LaminaError.shape("y has \(y.count) entries; expected n * n_labels = \(n * labelCount)") }
        let weights = try Self.checkedWeights(sampleWeight, n)
        let targets = y.map { $0 != 0 ? Float(1) : Float(0) }
        try solve(x, link: .sigmoid, outputs: labelCount, classOf: [], targets: targets, weights: weights, parallel: parallel)
        classes = []
    }

    /// Takes over the fitted state of `other` (a fit on a scratch probe, so that a failed fit leaves
    /// this probe's previous fit intact).
    package func adopt(_ other: LogisticProbe) throws {
        classes = other.classes; coef = other.coef; intercept = other.intercept; outputs = other.outputs
        dims = other.dims; link = other.link; mean = other.mean; scale = other.scale
        iterations = other.iterations; loss = other.loss; converged = other.converged
        rawCoef = other.rawCoef; rawIntercept = other.rawIntercept
    }

    static func checkedWeights(_ w: [Double]?, _ n: Int) throws -> [Double]? {
        guard let w else { return nil }
        if w.count != n { throw LaminaError.shape("sample_weight has \(w.count) values; expected n = \(n)") }
        var total = 0.0
        for (i, v) in w.enumerated() {
            if !(v >= 0) || !v.isFinite { throw LaminaError.invalid("sample_weight[\(i)] is \(v); expected a finite value >= 0") }
            total += v
        }
        if !(total > 0) { throw LaminaError.invalid("sample_weight sums to 0; expected a positive total weight") }
        return w
    }

    private func solve(_ x: MatrixView, link: LogisticLink, outputs: Int, classOf: [Int32], targets: [Float],
                       weights: [Double]?, parallel: Bool) throws {
        let n = x.rows, d = x.cols
        var total = Double(n)
        if let weights { total = weights.reduce(0, +) }
        if !(total > 0) { throw LaminaError.invalid("the total sample weight (after class weights) is 0; expected > 0") }
        let rowWeight = weights.map { $0.map { $0 / total } } ?? [Double](repeating: 1 / total, count: n)
        var mu: [Double] = [], sd: [Double] = []
        var scaled: Matrix? = nil
        if parameters.standardize {
            (mu, sd) = Standardizer.fit(x)
            scaled = Standardizer.apply(x, mean: mu, scale: sd)
        }
        let run: (MatrixView) throws -> LBFGS.Result = { view in
            var objective = LogisticObjective(x: view, link: link, outputs: outputs, classOf: classOf, targets: targets,
                                              rowWeight: rowWeight, l2: 1 / (self.parameters.C * total),
                                              fitIntercept: self.parameters.fitIntercept, parallel: parallel)
            var solver = LBFGS()
            solver.maxIterations = self.parameters.maxIterations
            solver.gtol = self.parameters.tolerance
            // Phase 1: float32 logits and gradient gemms. Their rounding puts a floor under the
            // gradient; if the line search stalls on it (or f stops decreasing) before max|grad| <= tol,
            // phase 2 continues from there with float64 gemms for the remaining iterations.
            let first = try solver.minimize([Double](repeating: 0, count: objective.parameterCount)) { theta, grad in
                objective.evaluate(theta, grad)
            }
            let remaining = self.parameters.maxIterations - first.iterations
            if first.reason == .maxIterations || remaining <= 0 { return first }
            objective.precise = true
            if first.reason == .gradient {
                // A float32 gradient below tol is trusted down to tol = 1e-6; under that, confirm it in
                // float64 (one evaluation) before stopping.
                if self.parameters.tolerance >= 1e-6 { return first }
                var g = [Double](repeating: 0, count: objective.parameterCount)
                _ = first.x.withUnsafeBufferPointer { t in g.withUnsafeMutableBufferPointer { objective.evaluate(t, $0) } }
                if g.reduce(0.0, { max($0, abs($1)) }) <= self.parameters.tolerance { return first }
            }
            solver.maxIterations = remaining
            var second = try solver.minimize(first.x) { theta, grad in objective.evaluate(theta, grad) }
            second.iterations += first.iterations
            return second
        }
        let result = try scaled.map { try $0.withView(run) } ?? run(x)
        if !result.f.isFinite { throw LaminaError(.internal, "the logistic loss is not finite after fitting") }
        self.link = link
        self.outputs = outputs
        self.dims = d
        self.coef = Array(result.x[0..<(outputs * d)])
        self.intercept = Array(result.x[(outputs * d)...])
        if link == .softmax {
            // The exact optimum has sum_c W_c = 0 (and L-BFGS from zero keeps sum_c b_c = 0); remove the
            // rounding residue so that coef has rank K - 1, as the objective's minimiser does.
            for j in 0..<d {
                var s = 0.0
                for c in 0..<outputs { s += coef[c * d + j] }
                s /= Double(outputs)
                for c in 0..<outputs { coef[c * d + j] -= s }
            }
            let mb = intercept.reduce(0, +) / Double(outputs)
            for c in 0..<outputs { intercept[c] -= mb }
        }
        self.mean = mu
        self.scale = sd
        self.iterations = result.iterations
        self.loss = result.f
        self.converged = result.converged
        foldStandardisation()
    }

    /// rawCoef/rawIntercept (what predictions use) from coef, intercept, mean and scale: the
    /// standardisation folded into raw-space coefficients, z = ((x - mu) / s) w + b.
    private func foldStandardisation() {
        let d = dims
        rawCoef = coef
        rawIntercept = intercept
        if parameters.standardize {
            for c in 0..<outputs {
                var shift = 0.0
                for j in 0..<d {
                    rawCoef[c * d + j] = coef[c * d + j] / scale[j]
                    shift += mean[j] * rawCoef[c * d + j]
                }
                rawIntercept[c] -= shift
            }
        }
    }

    /// The sizes restore accepts (n_features >= 1; n_outputs >= 1 with no classes, a multi-label probe;
    /// else >= 2 classes and n_outputs 1 for two of them, one per class for more): the C boundary checks
    /// them before it copies the caller's buffers of those sizes.
    package static func checkRestoreShape(outputs k: Int, dims d: Int, classCount: Int) throws {
        if d < 1 { throw LaminaError.invalid("n_features is \(d); expected >= 1") }
        if classCount == 0 {
            if k < 1 { throw LaminaError.invalid("n_outputs is \(k); expected >= 1 labels for a multi-label probe") }
        } else {
            if classCount < 2 { throw LaminaError.invalid("n_classes is \(classCount); expected >= 2 (or 0 for multi-label)") }
            let expected = classCount == 2 ? 1 : classCount
            if k != expected {
                throw LaminaError.shape("n_outputs is \(k); expected \(expected) for \(classCount) classes")
            }
        }
    }

    /// Makes this probe a fitted one from the values a fit produced (coef n_outputs x d and intercept as
    /// `coef`/`intercept` hold them, mean/scale when standardize, the class values; empty classes = a
    /// multi-label probe): predictions are then bit-identical to those of the probe they came from.
    /// iterations, loss and converged read 0, NaN and false. Validates shapes and values first.
    package func restore(coef newCoef: [Double], intercept newIntercept: [Double], outputs k: Int, dims d: Int,
                        mean mu: [Double], scale sd: [Double], classes newClasses: [Int32]) throws {
        try Self.checkRestoreShape(outputs: k, dims: d, classCount: newClasses.count)
        if Set(newClasses).count != newClasses.count { throw LaminaError.invalid("classes has duplicate values") }
        if newCoef.count != k * d || newIntercept.count != k {
            throw LaminaError.shape("coef has \(newCoef.count) values and intercept \(newIntercept.count); expected \(k * d) and \(k)")
        }
        for (name, values) in [("coef", newCoef), ("intercept", newIntercept)] {
            if let i = values.firstIndex(where: { !$0.isFinite }) { throw LaminaError(.nonFinite, "\(name)[\(i)] is \(values[i]); expected finite values") }
        }
        if parameters.standardize {
            if mu.count != d || sd.count != d { throw LaminaError.invalid("params.standardize is set: mean and scale (n_features values each) are required") }
            if let i = mu.firstIndex(where: { !$0.isFinite }) { throw LaminaError(.nonFinite, "mean[\(i)] is \(mu[i]); expected finite values") }
            if let i = sd.firstIndex(where: { !($0 > 0) || !$0.isFinite }) { throw LaminaError.invalid("scale[\(i)] is \(sd[i]); expected a finite value > 0") }
        } else if !mu.isEmpty || !sd.isEmpty {
            throw LaminaError.invalid("mean and scale must be NULL: params.standardize is not set")
        }
        classes = newClasses; coef = newCoef; intercept = newIntercept; outputs = k; dims = d
        link = newClasses.isEmpty || newClasses.count == 2 ? .sigmoid : .softmax
        mean = mu; scale = sd
        iterations = 0; loss = .nan; converged = false
        foldStandardisation()
    }

    private func checkInput(_ x: MatrixView) throws {
        if !isFitted { throw LaminaError.invalid("this logistic probe is not fitted yet; call fit first") }
        if x.cols != dims { throw LaminaError.shape("x has \(x.cols) features; the probe was fitted with \(dims)") }
    }

    /// Decision values, n x outputs (float64): x W^T + b (binary: one column, the log-odds of class 1).
    package func decisionFunction(_ x: MatrixView) throws -> [Double] {
        try checkInput(x)
        let k = outputs, d = dims
        var out = [Double](repeating: 0, count: x.rows * k)
        out.withUnsafeMutableBufferPointer { o in
            let base = o.baseAddress!
            rawCoef.withUnsafeBufferPointer { w in
                Parallel.forEachTask((x.rows + 255) / 256) { task in
                    for i in (task * 256)..<min(x.rows, task * 256 + 256) {
                        for c in 0..<k { base[i * k + c] = Reduce.dot(x.row(i), w.baseAddress! + c * d, d) + rawIntercept[c] }
                    }
                }
            }
        }
        return out
    }

    /// Columns of predict_proba: K for multinomial, 2 for binary, L for multi-label.
    package var probaColumns: Int { link == .softmax ? outputs : (isMultiLabel ? outputs : 2) }

    /// Probabilities, n x probaColumns: softmax rows; binary [1 - p, p]; multi-label sigmoid per label.
    package func predictProba(_ x: MatrixView) throws -> [Double] {
        let z = try decisionFunction(x)
        let n = x.rows, k = outputs
        switch link {
        case .softmax:
            var p = z
            for i in 0..<n {
                var m = p[i * k]
                for c in 1..<k { m = max(m, p[i * k + c]) }
                var s = 0.0
                for c in 0..<k { let e = _exp(p[i * k + c] - m); p[i * k + c] = e; s += e }
                for c in 0..<k { p[i * k + c] /= s }
            }
            return p
        case .sigmoid:
            if isMultiLabel { return z.map(Self.sigmoid) }
            var p = [Double](repeating: 0, count: 2 * n)
            for i in 0..<n { let q = Self.sigmoid(z[i]); p[2 * i] = 1 - q; p[2 * i + 1] = q }
            return p
        }
    }

    static func sigmoid(_ z: Double) -> Double {
        z >= 0 ? 1 / (1 + _exp(-z)) : { let e = _exp(z); return e / (1 + e) }()
    }

    /// Predicted class values (n); multi-label: n x L of 0/1 (decision > 0).
    package func predict(_ x: MatrixView) throws -> [Int32] {
        let z = try decisionFunction(x)
        let n = x.rows, k = outputs
        if isMultiLabel { return z.map { $0 > 0 ? 1 : 0 } }
        if link == .sigmoid { return (0..<n).map { classes[z[$0] > 0 ? 1 : 0] } }
        return (0..<n).map { i in
            var best = 0
            for c in 1..<k where z[i * k + c] > z[i * k + best] { best = c }
            return classes[best]
        }
    }

    /// Mean accuracy against the given labels (exact subset accuracy for multi-label targets n x L).
    package func accuracy(_ x: MatrixView, labels: UnsafeBufferPointer<Int32>) throws -> Double {
        let predicted = try predict(x)
        if labels.count != predicted.count {
            throw LaminaError.shape("labels has \(labels.count) entries; expected \(predicted.count)")
        }
        if isMultiLabel {
            var hits = 0
            for i in 0..<x.rows {
                var all = true
                for c in 0..<outputs where (labels[i * outputs + c] != 0 ? 1 : 0) != predicted[i * outputs + c] { all = false }
                if all { hits += 1 }
            }
            return Double(hits) / Double(x.rows)
        }
        var hits = 0
        for i in 0..<predicted.count where predicted[i] == labels[i] { hits += 1 }
        return Double(hits) / Double(predicted.count)
    }
}

/// StandardScaler: per-feature mean and population standard deviation in float64; features with a
/// (near-)zero variance get scale 1 (sklearn's _handle_zeros_in_scale).
package enum Standardizer {
    package static func fit(_ x: MatrixView) -> (mean: [Double], scale: [Double]) {
        let n = x.rows, d = x.cols
        var mean = [Double](repeating: 0, count: d)
        mean.withUnsafeMutableBufferPointer { m in
            for i in 0..<n { Reduce.accumulate(x.row(i), into: m.baseAddress!, d) }
        }
        for j in 0..<d { mean[j] /= Double(n) }
        var variance = [Double](repeating: 0, count: d)
        for i in 0..<n {
            let r = x.row(i)
            for j in 0..<d { let t = Double(r[j]) - mean[j]; variance[j] += t * t }
        }
        var scale = [Double](repeating: 1, count: d)
        for j in 0..<d {
            let v = variance[j] / Double(n)
            let bound = 10 * Double.ulpOfOne * max(mean[j] * mean[j], 1e-300)
            scale[j] = v <= bound || v == 0 ? 1 : v.squareRoot()
        }
        return (mean, scale)
    }

    package static func apply(_ x: MatrixView, mean: [Double], scale: [Double]) -> Matrix {
        var out = Matrix(uninitializedRows: x.rows, cols: x.cols)
        let d = x.cols
        out.storage.withUnsafeMutableBufferPointer { o in
            for i in 0..<x.rows {
                let r = x.row(i)
                for j in 0..<d { o[i * d + j] = Float((Double(r[j]) - mean[j]) / scale[j]) }
            }
        }
        return out
    }
}

extension Matrix {
    /// The rows of `view` at `indices`, in that order.
    package static func gathering(_ view: MatrixView, rows indices: [Int]) -> Matrix {
        var out = Matrix(uninitializedRows: indices.count, cols: view.cols)
        let d = view.cols
        out.storage.withUnsafeMutableBufferPointer { o in
            for (r, i) in indices.enumerated() {
                (o.baseAddress! + r * d).update(from: view.row(i), count: d)
            }
        }
        return out
    }
}

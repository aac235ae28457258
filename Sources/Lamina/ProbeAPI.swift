import CLaminaABI
import LaminaCore

// Linear probes: validation, then the core (LaminaCore/Probe).

private let logisticHandles = HandleTable<LogisticProbe>("lamina_logistic_probe")

private func flag(_ value: Int32, _ name: String) throws -> Bool {
    if value != 0 && value != 1 { throw LaminaError.invalid("\(name) is \(value); expected 0 or 1") }
    return value == 1
}

/// The core parameters of a lamina_logistic_params (class weights GIVEN become `.given([])`, filled at fit).
func logisticParameters(_ p: UnsafePointer<lamina_logistic_params>?, _ name: String = "params") throws -> LogisticProbe.Parameters {
    let raw = try Check.pointer(p, name).pointee
    var params = LogisticProbe.Parameters()
    params.C = raw.C
    params.maxIterations = Int(raw.max_iter)
    params.tolerance = raw.tol
    switch raw.class_weight {
    case 0: params.classWeight = .none
    case 1: params.classWeight = .balanced
    case 2: params.classWeight = .given([])
    default:
        throw LaminaError.invalid("\(name).class_weight is \(raw.class_weight); expected 0 (none), 1 (balanced) or 2 (given)")
    }
    params.standardize = try flag(raw.standardize, "\(name).standardize")
    params.multiLabel = try flag(raw.multi_label, "\(name).multi_label")
    params.fitIntercept = try flag(raw.fit_intercept, "\(name).fit_intercept")
    do { try params.check() } catch let e as LaminaError { throw LaminaError(e.kind, "\(name).\(e.message)") }
    return params
}

@_cdecl("lamina_logistic_default_params")
public func lamina_logistic_default_params() -> lamina_logistic_params {
    let p = LogisticProbe.Parameters()
    return lamina_logistic_params(C: p.C, max_iter: Int32(p.maxIterations), tol: p.tolerance, class_weight: 0,
                                  standardize: 0, multi_label: 0, fit_intercept: 1)
}

@_cdecl("lamina_logistic_check_params")
public func lamina_logistic_check_params(_ params: UnsafePointer<lamina_logistic_params>?) -> Int32 {
    boundary { _ = try logisticParameters(params) }
}

@_cdecl("lamina_logistic_probe_create")
public func lamina_logistic_probe_create(_ params: UnsafePointer<lamina_logistic_params>?,
                                         _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    boundary {
        let result = try Check.output(out, "out")
        result.pointee = logisticHandles.insert(try LogisticProbe(try logisticParameters(params)))
    }
}

@_cdecl("lamina_logistic_probe_free")
public func lamina_logistic_probe_free(_ probe: OpaquePointer?) {
    logisticHandles.remove(probe)
}

/// Sample weights: NULL or n finite values >= 0 (checked again in the core, with the positive sum).
func sampleWeights(_ p: UnsafePointer<Double>?, _ n: Int) -> [Double]? {
    guard let p else { return nil }
    return Array(UnsafeBufferPointer(start: p, count: n))
}

/// A copy of the probe with the fit's class weights (GIVEN) resolved, or the probe itself.
private func withClassWeights(_ probe: LogisticProbe, _ weights: UnsafePointer<Double>?, _ count: Int32) throws -> LogisticProbe.Parameters {
    var params = probe.parameters
    if case .given = params.classWeight {
        if count < 1 { throw LaminaError.invalid("n_class_weights is \(count); params.class_weight is GIVEN, so pass one weight per class") }
        let p = try Check.pointer(weights, "class_weights")
        params.classWeight = .given(Array(UnsafeBufferPointer(start: p, count: Int(count))))
    } else if weights != nil || count != 0 {
        throw LaminaError.invalid("class_weights is given (n_class_weights = \(count)) but params.class_weight is not GIVEN; pass NULL and 0")
    }
    return params
}

@_cdecl("lamina_logistic_probe_fit")
public func lamina_logistic_probe_fit(_ probe: OpaquePointer?, _ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64,
                                      _ labels: UnsafePointer<Int32>?, _ sampleWeight: UnsafePointer<Double>?,
                                      _ classWeights: UnsafePointer<Double>?, _ nClassWeights: Int32) -> Int32 {
    boundary {
        let model = try logisticHandles.get(probe, "probe")
        let view = try Check.matrix(x, n, d)
        let encoded = try Check.labels(labels, view.rows)
        let params = try withClassWeights(model, classWeights, nClassWeights)
        let fresh = try LogisticProbe(params)
        try fresh.fit(view, labels: encoded, sampleWeight: sampleWeights(sampleWeight, view.rows))
        try model.adopt(fresh)
    }
}

@_cdecl("lamina_logistic_probe_fit_multilabel")
public func lamina_logistic_probe_fit_multilabel(_ probe: OpaquePointer?, _ x: UnsafePointer<Float>?, _ n: Int64,
                                                 _ d: Int64, _ y: UnsafePointer<UInt8>?, _ nLabels: Int64,
                                                 _ sampleWeight: UnsafePointer<Double>?) -> Int32 {
    boundary {
        let model = try logisticHandles.get(probe, "probe")
        let view = try Check.matrix(x, n, d)
        let labels = try Check.count(nLabels, "n_labels")
        let count = try Check.elements(view.rows, labels, "y")
        let targets = UnsafeBufferPointer(start: try Check.pointer(y, "y"), count: count)
        let fresh = try LogisticProbe(model.parameters)
        try fresh.fitMultiLabel(view, targets: targets, labelCount: labels, sampleWeight: sampleWeights(sampleWeight, view.rows))
        try model.adopt(fresh)
    }
}

private func fittedProbe(_ probe: OpaquePointer?) throws -> LogisticProbe {
    let model = try logisticHandles.get(probe, "probe")
    if !model.isFitted { throw LaminaError.invalid("this lamina_logistic_probe is not fitted yet; call lamina_logistic_probe_fit first") }
    return model
}

@_cdecl("lamina_logistic_probe_info")
public func lamina_logistic_probe_info(_ probe: OpaquePointer?, _ nFeatures: UnsafeMutablePointer<Int64>?,
                                       _ nOutputs: UnsafeMutablePointer<Int32>?, _ nClasses: UnsafeMutablePointer<Int32>?,
                                       _ probaColumns: UnsafeMutablePointer<Int32>?, _ nIter: UnsafeMutablePointer<Int32>?,
                                       _ loss: UnsafeMutablePointer<Double>?, _ converged: UnsafeMutablePointer<Int32>?) -> Int32 {
    boundary {
        let model = try fittedProbe(probe)
        nFeatures?.pointee = Int64(model.dims)
        nOutputs?.pointee = Int32(model.outputs)
        nClasses?.pointee = Int32(model.classes.count)
        probaColumns?.pointee = Int32(model.probaColumns)
        nIter?.pointee = Int32(model.iterations)
        loss?.pointee = model.loss
        converged?.pointee = model.converged ? 1 : 0
    }
}

@_cdecl("lamina_logistic_probe_classes")
public func lamina_logistic_probe_classes(_ probe: OpaquePointer?, _ out: UnsafeMutablePointer<Int32>?, _ outLen: Int64) -> Int32 {
    boundary {
        let model = try fittedProbe(probe)
        try Check.length(outLen, expected: model.classes.count, "out_len (n_classes)")
        if model.classes.isEmpty { return }
        let dst = try Check.output(out, "out")
        for (i, v) in model.classes.enumerated() { dst[i] = v }
    }
}

@_cdecl("lamina_logistic_probe_coef")
public func lamina_logistic_probe_coef(_ probe: OpaquePointer?, _ coef: UnsafeMutablePointer<Double>?, _ coefLen: Int64,
                                       _ intercept: UnsafeMutablePointer<Double>?, _ interceptLen: Int64) -> Int32 {
    boundary {
        let model = try fittedProbe(probe)
        if coef != nil || coefLen != 0 {
            try Check.length(coefLen, expected: model.coef.count, "coef_len (n_outputs * n_features)")
            let dst = try Check.output(coef, "coef")
            for (i, v) in model.coef.enumerated() { dst[i] = v }
        }
        if intercept != nil || interceptLen != 0 {
            try Check.length(interceptLen, expected: model.intercept.count, "intercept_len (n_outputs)")
            let dst = try Check.output(intercept, "intercept")
            for (i, v) in model.intercept.enumerated() { dst[i] = v }
        }
    }
}

@_cdecl("lamina_logistic_probe_scaler")
public func lamina_logistic_probe_scaler(_ probe: OpaquePointer?, _ mean: UnsafeMutablePointer<Double>?,
                                         _ scale: UnsafeMutablePointer<Double>?, _ len: Int64) -> Int32 {
    boundary {
        let model = try fittedProbe(probe)
        if !model.parameters.standardize { throw LaminaError.invalid("this probe was fitted without standardize; it has no scaler") }
        try Check.length(len, expected: model.dims, "len (n_features)")
        let m = try Check.output(mean, "mean"), s = try Check.output(scale, "scale")
        for j in 0..<model.dims { m[j] = model.mean[j]; s[j] = model.scale[j] }
    }
}

private func predictionInput(_ probe: OpaquePointer?, _ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64) throws -> (LogisticProbe, MatrixView) {
    let model = try fittedProbe(probe)
    let view = try Check.matrix(x, n, d)
    if view.cols != model.dims { throw LaminaError.shape("d is \(view.cols); the probe was fitted with \(model.dims) features") }
    return (model, view)
}

@_cdecl("lamina_logistic_probe_decision_function")
public func lamina_logistic_probe_decision_function(_ probe: OpaquePointer?, _ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64,
                                                    _ out: UnsafeMutablePointer<Double>?, _ outLen: Int64) -> Int32 {
    boundary {
        let (model, view) = try predictionInput(probe, x, n, d)
        try Check.length(outLen, expected: view.rows * model.outputs, "out_len (n * n_outputs)")
        let dst = try Check.output(out, "out")
        for (i, v) in try model.decisionFunction(view).enumerated() { dst[i] = v }
    }
}

@_cdecl("lamina_logistic_probe_predict_proba")
public func lamina_logistic_probe_predict_proba(_ probe: OpaquePointer?, _ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64,
                                                _ out: UnsafeMutablePointer<Double>?, _ outLen: Int64) -> Int32 {
    boundary {
        let (model, view) = try predictionInput(probe, x, n, d)
        try Check.length(outLen, expected: view.rows * model.probaColumns, "out_len (n * proba_columns)")
        let dst = try Check.output(out, "out")
        for (i, v) in try model.predictProba(view).enumerated() { dst[i] = v }
    }
}

@_cdecl("lamina_logistic_probe_predict")
public func lamina_logistic_probe_predict(_ probe: OpaquePointer?, _ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64,
                                          _ out: UnsafeMutablePointer<Int32>?, _ outLen: Int64) -> Int32 {
    boundary {
        let (model, view) = try predictionInput(probe, x, n, d)
        let width = model.isMultiLabel ? model.outputs : 1
        try Check.length(outLen, expected: view.rows * width, model.isMultiLabel ? "out_len (n * n_labels)" : "out_len (n)")
        let dst = try Check.output(out, "out")
        for (i, v) in try model.predict(view).enumerated() { dst[i] = v }
    }
}

@_cdecl("lamina_logistic_probe_score")
public func lamina_logistic_probe_score(_ probe: OpaquePointer?, _ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64,
                                        _ labels: UnsafePointer<Int32>?, _ labelsLen: Int64,
                                        _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let (model, view) = try predictionInput(probe, x, n, d)
        let width = model.isMultiLabel ? model.outputs : 1
        try Check.length(labelsLen, expected: view.rows * width, model.isMultiLabel ? "labels_len (n * n_labels)" : "labels_len (n)")
        let y = UnsafeBufferPointer(start: try Check.pointer(labels, "labels"), count: view.rows * width)
        let dst = try Check.output(out, "out")
        dst.pointee = try model.accuracy(view, labels: y)
    }
}

@_cdecl("lamina_ridge_fit")
public func lamina_ridge_fit(_ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64, _ y: UnsafePointer<Double>?, _ nTargets: Int64,
                             _ alpha: Double, _ fitIntercept: Int32, _ sampleWeight: UnsafePointer<Double>?,
                             _ coefOut: UnsafeMutablePointer<Double>?, _ interceptOut: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let view = try Check.matrix(x, n, d)
        let t = try Check.count(nTargets, "n_targets")
        let count = try Check.elements(view.rows, t, "y")
        _ = try Check.elements(t, view.cols, "coef_out")
        let targets = UnsafeBufferPointer(start: try Check.pointer(y, "y"), count: count)
        let intercept = try flag(fitIntercept, "fit_intercept")
        let coefDst = try Check.output(coefOut, "coef_out"), interceptDst = try Check.output(interceptOut, "intercept_out")
        let fit = try RidgeRegression.fit(view, y: targets, targets: t, alpha: alpha, fitIntercept: intercept,
                                          sampleWeight: sampleWeights(sampleWeight, view.rows))
        for (i, v) in fit.coef.enumerated() { coefDst[i] = v }
        for (i, v) in fit.intercept.enumerated() { interceptDst[i] = v }
    }
}

@_cdecl("lamina_r2_score")
public func lamina_r2_score(_ yTrue: UnsafePointer<Double>?, _ yPred: UnsafePointer<Double>?, _ n: Int64, _ nTargets: Int64,
                            _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let rows = try Check.count(n, "n", minimum: 2)
        let t = try Check.count(nTargets, "n_targets")
        let count = try Check.elements(rows, t, "y_true")
        let a = UnsafeBufferPointer(start: try Check.pointer(yTrue, "y_true"), count: count)
        let b = UnsafeBufferPointer(start: try Check.pointer(yPred, "y_pred"), count: count)
        for (name, buf) in [("y_true", a), ("y_pred", b)] {
            if let i = buf.firstIndex(where: { !$0.isFinite }) {
                throw LaminaError(.nonFinite, "\(name) contains \(buf[i]) at sample \(i / t), target \(i % t); expected finite values")
            }
        }
        try Check.output(out, "out").pointee = RidgeRegression.r2(a, b, targets: t)
    }
}

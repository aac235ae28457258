import CLaminaABI
import LaminaCore

// Linear probes: validation, then the core (LaminaCore/Probe).

private let logisticHandles = HandleTable<LogisticProbe>("lamina_logistic_probe")

private func flag(_ value: Int32, _ name: String) throws -> Bool {
    if value != 0 && value != 1 { throw LaminaError.invalid("\(name) is \(value); expected 0 or 1") }
    return value == 1
}

/// The core parameters of a lamina_logistic_probe_params (class weights GIVEN become `.given([])`, filled at fit).
func logisticParameters(_ p: UnsafePointer<lamina_logistic_probe_params>?, _ name: String = "params") throws -> LogisticProbe.Parameters {
    let raw = try Check.pointer(p, name).pointee
    var params = LogisticProbe.Parameters()
    params.C = raw.C
    params.maxIterations = Int(raw.max_iter)
    params.tolerance = raw.tol
    switch raw.class_weight {
    case LAMINA_CLASS_WEIGHT_NONE: params.classWeight = .none
    case LAMINA_CLASS_WEIGHT_BALANCED: params.classWeight = .balanced
    case LAMINA_CLASS_WEIGHT_GIVEN: params.classWeight = .given([])
    default:
        throw LaminaError.invalid("\(name).class_weight is \(raw.class_weight); expected \(LAMINA_CLASS_WEIGHT_NONE) (none), \(LAMINA_CLASS_WEIGHT_BALANCED) (balanced) or \(LAMINA_CLASS_WEIGHT_GIVEN) (given)")
    }
    params.standardize = try flag(raw.standardize, "\(name).standardize")
    params.multiLabel = try flag(raw.multi_label, "\(name).multi_label")
    params.fitIntercept = try flag(raw.fit_intercept, "\(name).fit_intercept")
    do { try params.check() } catch let e as LaminaError { throw LaminaError(e.kind, "\(name).\(e.message)") }
    return params
}

@_cdecl("lamina_logistic_probe_default_params")
public func lamina_logistic_probe_default_params() -> lamina_logistic_probe_params {
    let p = LogisticProbe.Parameters()
    return lamina_logistic_probe_params(C: p.C, max_iter: Int32(p.maxIterations), tol: p.tolerance,
                                        class_weight: LAMINA_CLASS_WEIGHT_NONE, standardize: 0, multi_label: 0,
                                        fit_intercept: 1)
}

@_cdecl("lamina_logistic_probe_check_params")
public func lamina_logistic_probe_check_params(_ params: UnsafePointer<lamina_logistic_probe_params>?) -> Int32 {
    boundary { _ = try logisticParameters(params) }
}

@_cdecl("lamina_logistic_probe_create")
public func lamina_logistic_probe_create(_ params: UnsafePointer<lamina_logistic_probe_params>?,
                                         _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    logisticHandles.create(out) { try LogisticProbe(try logisticParameters(params)) }
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

@_cdecl("lamina_logistic_probe_get_info")
public func lamina_logistic_probe_get_info(_ probe: OpaquePointer?, _ nFeatures: UnsafeMutablePointer<Int64>?,
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

@_cdecl("lamina_logistic_probe_get_classes")
public func lamina_logistic_probe_get_classes(_ probe: OpaquePointer?, _ out: UnsafeMutablePointer<Int32>?, _ outLen: Int64) -> Int32 {
    boundary {
        let model = try fittedProbe(probe)
        try Check.length(outLen, expected: model.classes.count, "out_len (n_classes)")
        if model.classes.isEmpty { return }
        let dst = try Check.output(out, "out")
        dst.store(model.classes)
    }
}

@_cdecl("lamina_logistic_probe_get_coef")
public func lamina_logistic_probe_get_coef(_ probe: OpaquePointer?, _ coef: UnsafeMutablePointer<Double>?, _ coefLen: Int64,
                                           _ intercept: UnsafeMutablePointer<Double>?, _ interceptLen: Int64) -> Int32 {
    boundary {
        let model = try fittedProbe(probe)
        if coef != nil || coefLen != 0 {
            try Check.copyOut(model.coef, to: coef, length: coefLen, "coef_len (n_outputs * n_features)", "coef")
        }
        if intercept != nil || interceptLen != 0 {
            try Check.copyOut(model.intercept, to: intercept, length: interceptLen, "intercept_len (n_outputs)", "intercept")
        }
    }
}

@_cdecl("lamina_logistic_probe_get_scaler")
public func lamina_logistic_probe_get_scaler(_ probe: OpaquePointer?, _ mean: UnsafeMutablePointer<Double>?,
                                             _ scale: UnsafeMutablePointer<Double>?, _ len: Int64) -> Int32 {
    boundary {
        let model = try fittedProbe(probe)
        if !model.parameters.standardize { throw LaminaError.invalid("this probe was fitted without standardize; it has no scaler") }
        try Check.length(len, expected: model.dims, "len (n_features)")
        let m = try Check.output(mean, "mean"), s = try Check.output(scale, "scale")
        for j in 0..<model.dims { m[j] = model.mean[j]; s[j] = model.scale[j] }
    }
}

@_cdecl("lamina_logistic_probe_set_coef")
public func lamina_logistic_probe_set_coef(_ probe: OpaquePointer?, _ coef: UnsafePointer<Double>?,
                                          _ intercept: UnsafePointer<Double>?, _ nOutputs: Int32, _ nFeatures: Int64,
                                          _ mean: UnsafePointer<Double>?, _ scale: UnsafePointer<Double>?,
                                          _ classes: UnsafePointer<Int32>?, _ nClasses: Int32) -> Int32 {
    boundary {
        let model = try logisticHandles.get(probe, "probe")
        let k = try Check.count(Int64(nOutputs), "n_outputs"), d = try Check.count(nFeatures, "n_features")
        let count = try Check.elements(k, d, "coef")
        if nClasses < 0 { throw LaminaError.invalid("n_classes is \(nClasses); expected 0 (multi-label) or >= 2") }
        if nClasses == 0 && classes != nil { throw LaminaError.invalid("classes is not NULL but n_classes is 0") }
        // n_classes and n_outputs agree before coef and classes are copied with them
        try LogisticProbe.checkRestoreShape(outputs: k, dims: d, classCount: Int(nClasses))
        let w = Array(UnsafeBufferPointer(start: try Check.pointer(coef, "coef"), count: count))
        let b = Array(UnsafeBufferPointer(start: try Check.pointer(intercept, "intercept"), count: k))
        var mu: [Double] = [], sd: [Double] = []
        if model.parameters.standardize {
            mu = Array(UnsafeBufferPointer(start: try Check.pointer(mean, "mean"), count: d))
            sd = Array(UnsafeBufferPointer(start: try Check.pointer(scale, "scale"), count: d))
        } else if mean != nil || scale != nil {
            throw LaminaError.invalid("mean and scale must be NULL: params.standardize is not set")
        }
        let cls = nClasses == 0 ? [] : Array(UnsafeBufferPointer(start: try Check.pointer(classes, "classes"), count: Int(nClasses)))
        try model.restore(coef: w, intercept: b, outputs: k, dims: d, mean: mu, scale: sd, classes: cls)
    }
}

private func predictionInput(_ probe: OpaquePointer?, _ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64) throws -> (LogisticProbe, MatrixView) {
    let model = try fittedProbe(probe)
    let view = try Check.matrix(x, n, d, expectedCols: (model.dims, { "d is \($0); the probe was fitted with \(model.dims) features" }))
    return (model, view)
}

@_cdecl("lamina_logistic_probe_decision_function")
public func lamina_logistic_probe_decision_function(_ probe: OpaquePointer?, _ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64,
                                                    _ out: UnsafeMutablePointer<Double>?, _ outLen: Int64) -> Int32 {
    boundary {
        let (model, view) = try predictionInput(probe, x, n, d)
        try Check.length(outLen, expected: view.rows * model.outputs, "out_len (n * n_outputs)")
        let dst = try Check.output(out, "out")
        dst.store(try model.decisionFunction(view))
    }
}

@_cdecl("lamina_logistic_probe_predict_proba")
public func lamina_logistic_probe_predict_proba(_ probe: OpaquePointer?, _ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64,
                                                _ out: UnsafeMutablePointer<Double>?, _ outLen: Int64) -> Int32 {
    boundary {
        let (model, view) = try predictionInput(probe, x, n, d)
        try Check.length(outLen, expected: view.rows * model.probaColumns, "out_len (n * proba_columns)")
        let dst = try Check.output(out, "out")
        dst.store(try model.predictProba(view))
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
        dst.store(try model.predict(view))
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
        try Check.output(out, "out").pointee = RegressionMetrics.r2(a, b, targets: t)
    }
}

// MARK: - Cross-validation, sweeps, control tasks, MDL, few-shot

private func splits(_ value: Int32) throws -> Int {
    if value < 2 { throw LaminaError.invalid("n_splits is \(value); expected >= 2") }
    return Int(value)
}

/// Probe parameters for the stateless functions: class weights GIVEN cannot be passed there.
private func statelessProbeParameters(_ p: UnsafePointer<lamina_logistic_probe_params>?) throws -> LogisticProbe.Parameters {
    let params = try logisticParameters(p)
    if case .given = params.classWeight {
        throw LaminaError.invalid("params.class_weight is GIVEN; this function takes no per-class weights (use NONE or BALANCED)")
    }
    if params.multiLabel { throw LaminaError.invalid("params.multi_label is 1; this function needs class labels (set it to 0)") }
    return params
}

@_cdecl("lamina_stratified_kfold")
public func lamina_stratified_kfold(_ labels: UnsafePointer<Int32>?, _ n: Int64, _ nSplits: Int32, _ seed: UInt64,
                                    _ foldOut: UnsafeMutablePointer<Int32>?) -> Int32 {
    boundary {
        let count = try Check.count(n, "n")
        let y = UnsafeBufferPointer(start: try Check.pointer(labels, "labels"), count: count)
        let k = try splits(nSplits)
        let out = try Check.output(foldOut, "fold_out")
        for (i, f) in try ProbeTasks.stratifiedFolds(y, folds: k, seed: seed).enumerated() { out[i] = f }
    }
}

private func writeSweep(_ r: ProbeTasks.SweepResult, _ folds: UnsafeMutablePointer<Double>?, _ mean: UnsafeMutablePointer<Double>?,
                        _ std: UnsafeMutablePointer<Double>?) {
    if let folds { for (i, v) in r.foldAccuracy.enumerated() { folds[i] = v } }
    if let mean { for (i, v) in r.mean.enumerated() { mean[i] = v } }
    if let std { for (i, v) in r.std.enumerated() { std[i] = v } }
}

@_cdecl("lamina_layer_sweep")
public func lamina_layer_sweep(_ layers: UnsafePointer<UnsafePointer<Float>?>?, _ dims: UnsafePointer<Int64>?, _ nLayers: Int32,
                               _ n: Int64, _ labels: UnsafePointer<Int32>?, _ params: UnsafePointer<lamina_logistic_probe_params>?,
                               _ nSplits: Int32, _ seed: UInt64, _ foldAccuracy: UnsafeMutablePointer<Double>?,
                               _ mean: UnsafeMutablePointer<Double>?, _ std: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let count = try Check.count(Int64(nLayers), "n_layers")
        let list = try Check.pointer(layers, "layers"), sizes = try Check.pointer(dims, "dims")
        let rows = try Check.count(n, "n")
        var views: [MatrixView] = []
        for l in 0..<count {
            views.append(try Check.matrix(list[l], Int64(rows), sizes[l], "layers[\(l)]", rowsName: "n", colsName: "dims[\(l)]"))
        }
        let y = UnsafeBufferPointer(start: try Check.pointer(labels, "labels"), count: rows)
        let probe = try statelessProbeParameters(params)
        let k = try splits(nSplits)
        _ = try Check.output(mean, "mean"); _ = try Check.output(std, "std")
        writeSweep(try ProbeTasks.layerSweep(views, labels: y, parameters: probe, folds: k, seed: seed), foldAccuracy, mean, std)
    }
}

@_cdecl("lamina_layer_sweep_h5")
public func lamina_layer_sweep_h5(_ path: UnsafePointer<CChar>?, _ datasets: UnsafePointer<UnsafePointer<CChar>?>?, _ nLayers: Int32,
                                  _ labels: UnsafePointer<Int32>?, _ n: Int64, _ params: UnsafePointer<lamina_logistic_probe_params>?,
                                  _ nSplits: Int32, _ seed: UInt64, _ foldAccuracy: UnsafeMutablePointer<Double>?,
                                  _ mean: UnsafeMutablePointer<Double>?, _ std: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let file = try Check.cString(path, "path")
        let count = try Check.count(Int64(nLayers), "n_layers")
        let names = try datasetNames(datasets, count, "datasets")
        let rows = try Check.count(n, "n")
        let y = UnsafeBufferPointer(start: try Check.pointer(labels, "labels"), count: rows)
        let probe = try statelessProbeParameters(params)
        let k = try splits(nSplits)
        _ = try Check.output(mean, "mean"); _ = try Check.output(std, "std")
        let matrices = try readLayerMatrices(file, names, rows: rows, rowsMeaning: "one per label")
        // Views into the matrices, kept alive by `matrices` for the duration of the sweep.
        let result = try withViews(matrices) { views in
            try ProbeTasks.layerSweep(views, labels: y, parameters: probe, folds: k, seed: seed)
        }
        writeSweep(result, foldAccuracy, mean, std)
    }
}

@_cdecl("lamina_control_task_labels")
public func lamina_control_task_labels(_ types: UnsafePointer<Int32>?, _ labels: UnsafePointer<Int32>?, _ n: Int64, _ seed: UInt64,
                                       _ out: UnsafeMutablePointer<Int32>?) -> Int32 {
    boundary {
        let count = try Check.count(n, "n")
        let t = UnsafeBufferPointer(start: try Check.pointer(types, "types"), count: count)
        let y = UnsafeBufferPointer(start: try Check.pointer(labels, "labels"), count: count)
        let dst = try Check.output(out, "out")
        dst.store(try ProbeTasks.controlLabels(types: t, labels: y, seed: seed))
    }
}

@_cdecl("lamina_mdl_online_codelength")
public func lamina_mdl_online_codelength(_ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                                         _ params: UnsafePointer<lamina_logistic_probe_params>?, _ fractions: UnsafePointer<Double>?,
                                         _ nFractions: Int32, _ order: UnsafePointer<Int64>?, _ seed: UInt64,
                                         _ onlineBits: UnsafeMutablePointer<Double>?, _ uniformBits: UnsafeMutablePointer<Double>?,
                                         _ blockBits: UnsafeMutablePointer<Double>?, _ nBlocksOut: UnsafeMutablePointer<Int32>?) -> Int32 {
    boundary {
        let view = try Check.matrix(x, n, d)
        let y = UnsafeBufferPointer(start: try Check.pointer(labels, "labels"), count: view.rows)
        let probe = try statelessProbeParameters(params)
        var fr = ProbeTasks.standardFractions
        if nFractions < 0 { throw LaminaError.invalid("n_fractions is \(nFractions); expected >= 0 (0 = the standard fractions)") }
        if nFractions > 0 {
            fr = Array(UnsafeBufferPointer(start: try Check.pointer(fractions, "fractions"), count: Int(nFractions)))
        } else if fractions != nil {
            throw LaminaError.invalid("fractions is not NULL but n_fractions is 0; pass NULL for the standard fractions")
        }
        let perm: [Int]
        if let order {
            perm = (0..<view.rows).map { i -> Int in
                let v = order[i]
                return v >= 0 && v < Int64(view.rows) ? Int(v) : -1
            }
        } else {
            perm = ProbeTasks.permutation(view.rows, seed: seed)
        }
        let online = try Check.output(onlineBits, "online_bits"), uniform = try Check.output(uniformBits, "uniform_bits")
        let result = try ProbeTasks.onlineCodelength(view, labels: y, order: perm, fractions: fr, parameters: probe)
        online.pointee = result.onlineBits
        uniform.pointee = result.uniformBits
        if let blockBits { for (i, v) in result.blockBits.enumerated() { blockBits[i] = v } }
        nBlocksOut?.pointee = Int32(result.blockBits.count)
    }
}

@_cdecl("lamina_few_shot_accuracy")
public func lamina_few_shot_accuracy(_ xTrain: UnsafePointer<Float>?, _ nTrain: Int64, _ d: Int64, _ yTrain: UnsafePointer<Int32>?,
                                     _ xTest: UnsafePointer<Float>?, _ nTest: Int64, _ yTest: UnsafePointer<Int32>?,
                                     _ params: UnsafePointer<lamina_logistic_probe_params>?, _ k: Int32, _ nDraws: Int32, _ seed: UInt64,
                                     _ accuracyOut: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let train = try Check.matrix(xTrain, nTrain, d, "x_train", rowsName: "n_train")
        let test = try Check.matrix(xTest, nTest, d, "x_test", rowsName: "n_test")
        let a = UnsafeBufferPointer(start: try Check.pointer(yTrain, "y_train"), count: train.rows)
        let b = UnsafeBufferPointer(start: try Check.pointer(yTest, "y_test"), count: test.rows)
        let probe = try statelessProbeParameters(params)
        let out = try Check.output(accuracyOut, "accuracy_out")
        let acc = try ProbeTasks.fewShot(train: train, trainLabels: a, test: test, testLabels: b, shots: Int(k),
                                         draws: Int(nDraws), seed: seed, parameters: probe)
        for (i, v) in acc.enumerated() { out[i] = v }
    }
}

// MARK: - Multi-label metrics

private func scoreMatrices(_ p: UnsafePointer<Float>?, _ a: UnsafePointer<Float>?, _ n: Int64, _ classes: Int64) throws
    -> (UnsafeBufferPointer<Float>, UnsafeBufferPointer<Float>, Int, Int) {
    let view = try Check.matrix(p, n, classes, "predictions", colsName: "n_classes")
    let actual = try Check.matrix(a, n, classes, "actuals", colsName: "n_classes")
    let count = view.rows * view.cols
    return (UnsafeBufferPointer(start: view.base, count: count), UnsafeBufferPointer(start: actual.base, count: count), view.rows, view.cols)
}

@_cdecl("lamina_gap_at_k")
public func lamina_gap_at_k(_ predictions: UnsafePointer<Float>?, _ actuals: UnsafePointer<Float>?, _ n: Int64, _ nClasses: Int64,
                            _ topK: Int32, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let (p, a, rows, cols) = try scoreMatrices(predictions, actuals, n, nClasses)
        let dst = try Check.output(out, "out")
        dst.pointee = try MultiLabelMetrics.gap(predictions: p, actuals: a, n: rows, classes: cols, topK: Int(topK))
    }
}

@_cdecl("lamina_hit_at_1")
public func lamina_hit_at_1(_ predictions: UnsafePointer<Float>?, _ actuals: UnsafePointer<Float>?, _ n: Int64, _ nClasses: Int64,
                            _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let (p, a, rows, cols) = try scoreMatrices(predictions, actuals, n, nClasses)
        try Check.output(out, "out").pointee = MultiLabelMetrics.hitAtOne(predictions: p, actuals: a, n: rows, classes: cols)
    }
}

// MARK: - Directions and INLP

@_cdecl("lamina_mean_difference_direction")
public func lamina_mean_difference_direction(_ a: UnsafePointer<Float>?, _ nA: Int64, _ b: UnsafePointer<Float>?, _ nB: Int64,
                                             _ d: Int64, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let va = try Check.matrix(a, nA, d, "a", rowsName: "n_a"), vb = try Check.matrix(b, nB, d, "b", rowsName: "n_b")
        let dst = try Check.output(out, "out")
        dst.store(try Directions.meanDifference(va, vb))
    }
}

@_cdecl("lamina_pca_direction")
public func lamina_pca_direction(_ a: UnsafePointer<Float>?, _ nA: Int64, _ b: UnsafePointer<Float>?, _ nB: Int64, _ d: Int64,
                                 _ paired: Int32, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let va = try Check.matrix(a, nA, d, "a", rowsName: "n_a"), vb = try Check.matrix(b, nB, d, "b", rowsName: "n_b")
        let isPaired = try flag(paired, "paired")
        let dst = try Check.output(out, "out")
        dst.store(try Directions.principalDirection(va, vb, paired: isPaired))
    }
}

@_cdecl("lamina_apply_direction")
public func lamina_apply_direction(_ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64, _ direction: UnsafePointer<Double>?,
                                   _ alpha: Double, _ preserveNorm: Int32, _ out: UnsafeMutablePointer<Float>?) -> Int32 {
    boundary {
        let view = try Check.matrix(x, n, d)
        let v = Array(UnsafeBufferPointer(start: try Check.pointer(direction, "direction"), count: view.cols))
        if let i = v.firstIndex(where: { !$0.isFinite }) {
            throw LaminaError(.nonFinite, "direction contains \(v[i]) at index \(i); expected finite values")
        }
        let keep = try flag(preserveNorm, "preserve_norm")
        let dst = try Check.output(out, "out")
        try Directions.apply(view, direction: v, alpha: alpha, preserveNorm: keep, into: dst)
    }
}

@_cdecl("lamina_inlp")
public func lamina_inlp(_ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64, _ labels: UnsafePointer<Int32>?,
                        _ xDev: UnsafePointer<Float>?, _ nDev: Int64, _ yDev: UnsafePointer<Int32>?,
                        _ params: UnsafePointer<lamina_logistic_probe_params>?, _ nIterations: Int32, _ minAccuracy: Double,
                        _ projectionOut: UnsafeMutablePointer<Double>?, _ accuracyOut: UnsafeMutablePointer<Double>?,
                        _ rankOut: UnsafeMutablePointer<Int32>?, _ nDone: UnsafeMutablePointer<Int32>?) -> Int32 {
    boundary {
        let view = try Check.matrix(x, n, d)
        let y = UnsafeBufferPointer(start: try Check.pointer(labels, "labels"), count: view.rows)
        var dev: MatrixView? = nil
        var devY: UnsafeBufferPointer<Int32>? = nil
        if xDev != nil || yDev != nil {
            dev = try Check.matrix(xDev, nDev, d, "x_dev", rowsName: "n_dev")
            devY = UnsafeBufferPointer(start: try Check.pointer(yDev, "y_dev"), count: dev!.rows)
        }
        let probe = try statelessProbeParameters(params)
        if nIterations < 1 { throw LaminaError.invalid("n_iterations is \(nIterations); expected >= 1") }
        if minAccuracy.isNaN { throw LaminaError.invalid("min_accuracy is NaN; expected a number (negative = never stop early)") }
        _ = try Check.elements(view.cols, view.cols, "projection_out")
        let proj = try Check.output(projectionOut, "projection_out")
        let acc = try Check.output(accuracyOut, "accuracy_out"), rank = try Check.output(rankOut, "rank_out")
        let result = try Directions.inlp(view, labels: y, dev: dev, devLabels: devY, iterations: Int(nIterations),
                                         minAccuracy: minAccuracy, parameters: probe)
        for (i, v) in result.projection.enumerated() { proj[i] = v }
        for (i, v) in result.accuracy.enumerated() { acc[i] = v }
        for (i, v) in result.rank.enumerated() { rank[i] = Int32(v) }
        nDone?.pointee = Int32(result.accuracy.count)
    }
}

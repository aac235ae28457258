import LaminaCore
import CLaminaABI

// The C boundary of the structural probes (include/lamina.h, "Structural probes"): validation, then
// the core (LaminaCore/StructuralProbe).

private let probeHandles = HandleTable<StructuralProbe>("lamina_structural_probe")

private func parameters(_ p: UnsafePointer<lamina_structural_probe_params>?) throws -> StructuralProbe.Parameters {
    let raw = try Check.pointer(p, "params").pointee
    var params = StructuralProbe.Parameters()
    params.kind = try CEnums.structuralKind.decode(raw.kind, "params.kind")
    params.rank = Int(raw.rank)
    params.learningRate = raw.lr
    params.epochs = Int(raw.epochs)
    params.batchSize = Int(raw.batch_size)
    params.seed = raw.seed
    for (value, name) in [(raw.beta1, "beta1"), (raw.beta2, "beta2"), (raw.eps, "eps")] where !value.isFinite {
        throw LaminaError.invalid("params.\(name) is \(value); expected a finite value")
    }
    params.adam = AdamConfig(beta1: Float(raw.beta1), beta2: Float(raw.beta2), epsilon: Float(raw.eps))
    params.plateauFactor = raw.plateau_factor
    params.patience = Int(raw.patience)
    if raw.warm_start != 0 && raw.warm_start != 1 {
        throw LaminaError.invalid("params.warm_start is \(raw.warm_start); expected 0 or 1")
    }
    params.warmStart = raw.warm_start == 1
    try params.check()
    return params
}

/// x (n_tokens x d) and offsets (n_items + 1) as checked ragged items. `fitted` (the width of a fitted
/// projection that x must match, and what fixed it) is checked before x is read.
private func ragged(_ x: UnsafePointer<Float>?, _ nTokens: Int64, _ d: Int64, _ offsets: UnsafePointer<Int64>?,
                    _ nItems: Int64, fitted: (dims: Int, by: String)? = nil) throws -> RaggedItems {
    // BLAS takes 32-bit sizes: refuse what cannot be passed on (before touching x)
    for (value, name) in [(nTokens, "n_tokens"), (d, "d")] where value > Int64(Int32.max) {
        throw LaminaError.invalid("\(name) is \(value); expected <= \(Int32.max) (the sizes BLAS accepts)")
    }
    let view = try Check.matrix(x, nTokens, d, "x", rowsName: "n_tokens", colsName: "d",
                                expectedCols: fitted.map { f in (f.dims, { "x has d = \($0); \(f.by) d = \(f.dims)" }) })
    let items = try Check.count(nItems, "n_items")
    let off = try Check.pointer(offsets, "offsets")
    return try RaggedItems(x: view, offsets: UnsafeBufferPointer(start: off, count: items + 1))
}

/// offsets alone (metric functions): the token count is offsets[n_items].
private func layout(_ offsets: UnsafePointer<Int64>?, _ nItems: Int64) throws -> RaggedLayout {
    let items = try Check.count(nItems, "n_items")
    let off = try Check.pointer(offsets, "offsets")
    return try RaggedLayout(offsets: UnsafeBufferPointer(start: off, count: items + 1), tokens: nil)
}

/// A float buffer of `count` values whose expected size is `expected` (message names both).
private func values(_ p: UnsafePointer<Float>?, _ count: Int64, expected: Int, _ name: String,
                    _ countName: String, _ what: String) throws -> UnsafeBufferPointer<Float> {
    if count != Int64(expected) {
        throw LaminaError.shape("\(countName) is \(count); expected \(expected), \(what)")
    }
    return UnsafeBufferPointer(start: try Check.pointer(p, name), count: expected)
}

private func valueDescription(_ kind: StructuralProbeKind) -> String {
    kind == .distance ? "the sum of length^2 over the items (an L x L matrix per item)" : "n_tokens (one value per token)"
}

@_cdecl("lamina_structural_probe_default_params")
public func lamina_structural_probe_default_params() -> lamina_structural_probe_params {
    let p = StructuralProbe.Parameters()
    return lamina_structural_probe_params(
        kind: CEnums.structuralKind.code(p.kind), rank: Int32(p.rank), lr: p.learningRate, epochs: Int32(p.epochs),
        batch_size: Int32(p.batchSize), seed: p.seed, beta1: Double(p.adam.beta1), beta2: Double(p.adam.beta2),
        eps: Double(p.adam.epsilon), plateau_factor: p.plateauFactor, patience: Int32(p.patience),
        warm_start: p.warmStart ? 1 : 0)
}

@_cdecl("lamina_structural_probe_check_params")
public func lamina_structural_probe_check_params(_ params: UnsafePointer<lamina_structural_probe_params>?) -> Int32 {
    boundary { _ = try parameters(params) }
}

@_cdecl("lamina_structural_probe_create")
public func lamina_structural_probe_create(_ params: UnsafePointer<lamina_structural_probe_params>?,
                                           _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    probeHandles.create(out) { try StructuralProbe(try parameters(params)) }
}

@_cdecl("lamina_structural_probe_free")
public func lamina_structural_probe_free(_ probe: OpaquePointer?) {
    probeHandles.remove(probe)
}

@_cdecl("lamina_structural_probe_fit")
public func lamina_structural_probe_fit(_ probe: OpaquePointer?, _ x: UnsafePointer<Float>?, _ nTokens: Int64,
                                        _ d: Int64, _ offsets: UnsafePointer<Int64>?, _ nItems: Int64,
                                        _ targets: UnsafePointer<Float>?, _ nTargets: Int64, _ nDevItems: Int64,
                                        _ progress: lamina_progress_fn?, _ user: UnsafeMutableRawPointer?) -> Int32 {
    boundary {
        let model = try probeHandles.get(probe, "probe")
        // Under a reducer the ranks agree on these checks too, so that a rank with bad arguments is named
        // and no rank is left waiting.
        var checked: (RaggedItems, UnsafeBufferPointer<Float>)? = nil
        try model.checkedOnEveryRank(model.distribution, "its checks of the arguments") {
            // warm start continues the current projection: its width is checked before x is read
            let warm = model.parameters.warmStart && model.isFitted
            let items = try ragged(x, nTokens, d, offsets, nItems,
                                   fitted: warm ? (model.dims, "warm start: the current projection has") : nil)
            let kind = model.parameters.kind
            let gold = try values(targets, nTargets, expected: kind.valueCount(items.layout), "targets", "n_targets",
                                  valueDescription(kind))
            if nDevItems < 0 || nDevItems >= nItems {
                throw LaminaError.invalid("n_dev_items is \(nDevItems); expected 0 <= n_dev_items < n_items = \(nItems) (at least one training item)")
            }
            checked = (items, gold)
        }
        guard let (items, gold) = checked else { throw LaminaError(.internal, "lamina_structural_probe_fit: arguments unchecked") }
        try model.fit(items, targets: gold, devItems: Int(nDevItems), progress: progressHandler(progress, user))
    }
}

private func fitted(_ probe: OpaquePointer?) throws -> StructuralProbe {
    let model = try probeHandles.get(probe, "probe")
    if !model.isFitted {
        throw LaminaError.invalid("this lamina_structural_probe is not fitted yet; call lamina_structural_probe_fit (or _set_projection) first")
    }
    return model
}

@_cdecl("lamina_structural_probe_predict")
public func lamina_structural_probe_predict(_ probe: OpaquePointer?, _ x: UnsafePointer<Float>?, _ nTokens: Int64,
                                            _ d: Int64, _ offsets: UnsafePointer<Int64>?, _ nItems: Int64,
                                            _ out: UnsafeMutablePointer<Float>?, _ outLen: Int64) -> Int32 {
    boundary {
        let model = try fitted(probe)
        let items = try ragged(x, nTokens, d, offsets, nItems, fitted: (model.dims, "the probe was fitted with"))
        let kind = model.parameters.kind
        let expected = kind.valueCount(items.layout)
        if outLen != Int64(expected) {
            throw LaminaError.shape("out_len is \(outLen); expected \(expected), \(valueDescription(kind))")
        }
        let dst = try Check.output(out, "out")
        try model.predict(items, into: dst)
    }
}

@_cdecl("lamina_structural_probe_loss")
public func lamina_structural_probe_loss(_ probe: OpaquePointer?, _ x: UnsafePointer<Float>?, _ nTokens: Int64,
                                         _ d: Int64, _ offsets: UnsafePointer<Int64>?, _ nItems: Int64,
                                         _ targets: UnsafePointer<Float>?, _ nTargets: Int64,
                                         _ loss: UnsafeMutablePointer<Double>?, _ gradOut: UnsafeMutablePointer<Float>?,
                                         _ gradLen: Int64) -> Int32 {
    boundary {
        let model = try fitted(probe)
        let items = try ragged(x, nTokens, d, offsets, nItems, fitted: (model.dims, "the probe was fitted with"))
        let kind = model.parameters.kind
        let gold = try values(targets, nTargets, expected: kind.valueCount(items.layout), "targets", "n_targets",
                              valueDescription(kind))
        let lossOut = try Check.output(loss, "loss")
        if gradOut != nil { try Check.length(gradLen, expected: model.rank * model.dims, "grad_len (rank * d)") }
        lossOut.pointee = try model.loss(items, targets: gold, gradient: gradOut)
    }
}

@_cdecl("lamina_structural_probe_get_info")
public func lamina_structural_probe_get_info(_ probe: OpaquePointer?, _ nFeatures: UnsafeMutablePointer<Int64>?,
                                             _ rank: UnsafeMutablePointer<Int32>?, _ nEpochs: UnsafeMutablePointer<Int32>?,
                                             _ nSteps: UnsafeMutablePointer<Int64>?, _ trainLoss: UnsafeMutablePointer<Double>?,
                                             _ devLoss: UnsafeMutablePointer<Double>?, _ bestEpoch: UnsafeMutablePointer<Int32>?,
                                             _ finalLr: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let model = try fitted(probe)
        nFeatures?.pointee = Int64(model.dims)
        rank?.pointee = Int32(model.rank)
        nEpochs?.pointee = Int32(model.epochsRun)
        nSteps?.pointee = Int64(model.stepsRun)
        trainLoss?.pointee = model.trainLoss
        devLoss?.pointee = model.devLoss
        bestEpoch?.pointee = Int32(model.bestEpoch)
        finalLr?.pointee = model.finalLearningRate
    }
}

@_cdecl("lamina_structural_probe_get_projection")
public func lamina_structural_probe_get_projection(_ probe: OpaquePointer?, _ out: UnsafeMutablePointer<Float>?,
                                                   _ outLen: Int64) -> Int32 {
    boundary {
        let model = try fitted(probe)
        try Check.copyOut(model.projection, to: out, length: outLen, "out_len (rank * n_features)")
    }
}

@_cdecl("lamina_structural_probe_set_projection")
public func lamina_structural_probe_set_projection(_ probe: OpaquePointer?, _ b: UnsafePointer<Float>?,
                                                   _ rank: Int64, _ d: Int64) -> Int32 {
    boundary {
        let model = try probeHandles.get(probe, "probe")
        if rank != Int64(model.rank) {
            throw LaminaError.shape("rank is \(rank); expected params.rank = \(model.rank)")
        }
        let view = try Check.matrix(b, rank, d, "b", rowsName: "rank", colsName: "d")
        try model.setProjection(UnsafeBufferPointer(start: view.base, count: view.rows * view.cols), dims: view.cols)
    }
}

@_cdecl("lamina_structural_uuas")
public func lamina_structural_uuas(_ predicted: UnsafePointer<Float>?, _ gold: UnsafePointer<Float>?, _ nValues: Int64,
                                   _ offsets: UnsafePointer<Int64>?, _ nItems: Int64, _ ignore: UnsafePointer<UInt8>?,
                                   _ uuas: UnsafeMutablePointer<Double>?, _ nCorrect: UnsafeMutablePointer<Int64>?,
                                   _ nTotal: UnsafeMutablePointer<Int64>?) -> Int32 {
    boundary {
        let lay = try layout(offsets, nItems)
        let what = valueDescription(.distance)
        let pred = try values(predicted, nValues, expected: lay.pairCount, "predicted", "n_values", what)
        let goldValues = try values(gold, nValues, expected: lay.pairCount, "gold", "n_values", what)
        let out = try Check.output(uuas, "uuas")
        let result = try StructuralMetrics.uuas(predicted: pred, gold: goldValues, layout: lay, ignore: ignore)
        out.pointee = result.uuas
        nCorrect?.pointee = Int64(result.correct)
        nTotal?.pointee = Int64(result.total)
    }
}

@_cdecl("lamina_structural_spearman")
public func lamina_structural_spearman(_ kind: Int32, _ predicted: UnsafePointer<Float>?, _ gold: UnsafePointer<Float>?,
                                       _ nValues: Int64, _ offsets: UnsafePointer<Int64>?, _ nItems: Int64,
                                       _ minLength: Int32, _ maxLength: Int32, _ out: UnsafeMutablePointer<Double>?,
                                       _ itemMeans: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let k = try CEnums.structuralKind.decode(kind, "kind")
        let lay = try layout(offsets, nItems)
        let what = valueDescription(k)
        let pred = try values(predicted, nValues, expected: k.valueCount(lay), "predicted", "n_values", what)
        let goldValues = try values(gold, nValues, expected: k.valueCount(lay), "gold", "n_values", what)
        let dst = try Check.output(out, "out")
        dst.pointee = try StructuralMetrics.spearman(kind: k, predicted: pred, gold: goldValues, layout: lay,
                                                     minLength: Int(minLength), maxLength: Int(maxLength),
                                                     itemMeans: itemMeans)
    }
}

@_cdecl("lamina_structural_root_accuracy")
public func lamina_structural_root_accuracy(_ predicted: UnsafePointer<Float>?, _ gold: UnsafePointer<Float>?,
                                            _ nTokens: Int64, _ offsets: UnsafePointer<Int64>?, _ nItems: Int64,
                                            _ ignore: UnsafePointer<UInt8>?, _ accuracy: UnsafeMutablePointer<Double>?,
                                            _ nCorrect: UnsafeMutablePointer<Int64>?, _ nTotal: UnsafeMutablePointer<Int64>?) -> Int32 {
    boundary {
        let lay = try layout(offsets, nItems)
        let what = "n_tokens = offsets[n_items]"
        let pred = try values(predicted, nTokens, expected: lay.tokens, "predicted", "n_tokens", what)
        let goldValues = try values(gold, nTokens, expected: lay.tokens, "gold", "n_tokens", what)
        let out = try Check.output(accuracy, "accuracy")
        let result = try StructuralMetrics.rootAccuracy(predicted: pred, gold: goldValues, layout: lay, ignore: ignore)
        out.pointee = result.accuracy
        nCorrect?.pointee = Int64(result.correct)
        nTotal?.pointee = Int64(result.total)
    }
}

@_cdecl("lamina_structural_tree_targets")
public func lamina_structural_tree_targets(_ parents: UnsafePointer<Int32>?, _ nTokens: Int64,
                                           _ offsets: UnsafePointer<Int64>?, _ nItems: Int64,
                                           _ distances: UnsafeMutablePointer<Float>?, _ nDistances: Int64,
                                           _ depths: UnsafeMutablePointer<Float>?, _ nDepths: Int64) -> Int32 {
    boundary {
        let tokens = try Check.count(nTokens, "n_tokens")
        let items = try Check.count(nItems, "n_items")
        let off = try Check.pointer(offsets, "offsets")
        let lay = try RaggedLayout(offsets: UnsafeBufferPointer(start: off, count: items + 1), tokens: tokens)
        let par = UnsafeBufferPointer(start: try Check.pointer(parents, "parents"), count: tokens)
        if distances == nil && depths == nil {
            throw LaminaError.invalid("distances and depths are both NULL; expected at least one output")
        }
        if distances != nil && nDistances != Int64(lay.pairCount) {
            throw LaminaError.shape("n_distances is \(nDistances); expected \(lay.pairCount), \(valueDescription(.distance))")
        }
        if depths != nil && nDepths != Int64(tokens) {
            throw LaminaError.shape("n_depths is \(nDepths); expected n_tokens = \(tokens)")
        }
        try TreeTargets.compute(parents: par, layout: lay, distances: distances, depths: depths)
    }
}

@_cdecl("lamina_structural_probe_set_reducer")
public func lamina_structural_probe_set_reducer(_ probe: OpaquePointer?, _ fn: lamina_reduce_fn?, _ user: UnsafeMutableRawPointer?,
                                                _ rank: Int32, _ worldSize: Int32) -> Int32 {
    boundary {
        let model = try probeHandles.get(probe, "probe")
        guard let fn else {
            if rank != 0 || worldSize != 1 {
                throw LaminaError.invalid("fn is NULL with rank = \(rank), world_size = \(worldSize); expected rank 0 and world_size 1 to clear the reducer")
            }
            model.distribution = nil
            return
        }
        if worldSize < 1 { throw LaminaError.invalid("world_size is \(worldSize); expected >= 1") }
        if rank < 0 || rank >= worldSize { throw LaminaError.invalid("rank is \(rank); expected 0 <= rank < world_size = \(worldSize)") }
        model.distribution = SAEDistribution(reducer: CReducer(fn: fn, user: user), rank: Int(rank), worldSize: Int(worldSize))
    }
}

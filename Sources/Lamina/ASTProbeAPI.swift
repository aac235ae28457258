import CLaminaABI
import LaminaCore

// AST-Probe: the C boundary. Trees, tuples and chain tables are copied into Swift arrays after
// validation (they are small); the probe's activations are used in place as a MatrixView.

private let astProbeHandles = HandleTable<ASTProbe>("lamina_ast_probe")

/// Ragged offsets (n + 1 entries, starting at 0, each part >= minimum) read from C, validated as
/// the core's RaggedLayout.
private func raggedOffsets(_ p: UnsafePointer<Int64>?, _ parts: Int, _ name: String, minimum: Int64,
                           what: String) throws -> [Int] {
    let base = try Check.pointer(p, name)
    if parts == 0 {
        if base[0] != 0 { throw LaminaError.invalid("\(name)[0] is \(base[0]); expected 0") }
        return [0]
    }
    let layout = try RaggedLayout(offsets: UnsafeBufferPointer(start: base, count: parts + 1), tokens: nil,
                                  minimumLength: Int(minimum), unit: String(what.dropLast()), name: name)
    if layout.tokens > Check.maxElements {
        throw LaminaError.invalid("\(name)[\(parts)] is \(layout.tokens); expected <= \(Check.maxElements)")
    }
    return layout.offsets
}

private struct RaggedTrees {
    var trees: [ASTTree]
    var tokenOffsets: [Int]
}

private func readTrees(_ p: UnsafePointer<lamina_ast_trees>?) throws -> RaggedTrees {
    let t = try Check.pointer(p, "trees").pointee
    let n = try Check.count(t.n_trees, "trees->n_trees")
    if n > Int(Int32.max) { throw LaminaError.invalid("trees->n_trees is \(n); expected <= \(Int32.max)") }
    let nodeOff = try raggedOffsets(t.node_offsets, n, "trees->node_offsets", minimum: 1, what: "nodes")
    let tokOff = try raggedOffsets(t.token_offsets, n, "trees->token_offsets", minimum: 1, what: "tokens")
    let parent = try Check.pointer(t.parent, "trees->parent")
    let label = try Check.pointer(t.label, "trees->label")
    let tokenNode = try Check.pointer(t.token_node, "trees->token_node")
    var trees = [ASTTree]()
    trees.reserveCapacity(n)
    for i in 0..<n {
        let a = nodeOff[i], b = nodeOff[i + 1], ta = tokOff[i], tb = tokOff[i + 1]
        if b - a > Int(Int32.max) / 2 || tb - ta > Int(Int32.max) / 2 {
            throw LaminaError.invalid("tree \(i) has \(b - a) nodes and \(tb - ta) tokens; expected <= \(Int32.max / 2) each")
        }
        trees.append(try ASTTree(parent: Array(UnsafeBufferPointer(start: parent + a, count: b - a)),
                                 label: Array(UnsafeBufferPointer(start: label + a, count: b - a)),
                                 tokenNode: Array(UnsafeBufferPointer(start: tokenNode + ta, count: tb - ta)),
                                 name: "tree \(i)"))
    }
    return RaggedTrees(trees: trees, tokenOffsets: tokOff)
}

/// The chain table held by a lamina_ast_chains (its first n_chains chains). `withinCapacity` (an output
/// table, whose offsets and atoms hold max_chains + 1 and max_atoms entries): n_chains and the atom count
/// are checked against those capacities before the entries beyond them would be read.
private func readChains(_ c: lamina_ast_chains, name: String, allowEmpty: Bool,
                        withinCapacity: Bool = false) throws -> ASTChainTable {
    if c.n_chains < 0 || c.n_chains > Int64(Check.maxElements) {
        throw LaminaError.invalid("\(name)->n_chains is \(c.n_chains); expected >= 0")
    }
    if withinCapacity && c.n_chains > c.max_chains {
        throw LaminaError.invalid("\(name)->n_chains is \(c.n_chains); expected <= \(name)->max_chains = \(c.max_chains) (offsets holds max_chains + 1 entries)")
    }
    let n = Int(c.n_chains)
    if n == 0 {
        if !allowEmpty { throw LaminaError.invalid("\(name)->n_chains is 0; expected a chain table (from lamina_ast_tuples)") }
        return ASTChainTable()
    }
    let off = try raggedOffsets(UnsafePointer(c.offsets), n, "\(name)->offsets", minimum: 0, what: "atoms")
    if withinCapacity && Int64(off[n]) > c.max_atoms {
        throw LaminaError.invalid("\(name)->offsets[\(n)] is \(off[n]); expected <= \(name)->max_atoms = \(c.max_atoms) (the atoms the table holds)")
    }
    let atoms = off[n] > 0 ? try Check.pointer(UnsafePointer(c.atoms), "\(name)->atoms") : nil
    var chains = [[Int32]]()
    chains.reserveCapacity(n)
    for k in 0..<n {
        chains.append(off[k + 1] > off[k] ? Array(UnsafeBufferPointer(start: atoms! + off[k], count: off[k + 1] - off[k])) : [])
    }
    do {
        return try ASTChainTable(chains: chains)
    } catch let e as LaminaError {
        throw LaminaError(e.kind, "\(name): \(e.message)")
    }
}

/// Writes the whole table back (existing chains unchanged, new ones appended) after a capacity check.
private func writeChains(_ table: ASTChainTable, _ p: UnsafeMutablePointer<lamina_ast_chains>) throws {
    let c = p.pointee
    let atoms = table.atomCount
    if Int64(table.count) > c.max_chains || Int64(atoms) > c.max_atoms {
        throw LaminaError.shape("chains needs room for \(table.count) chains and \(atoms) atoms; it has max_chains = \(c.max_chains), max_atoms = \(c.max_atoms)")
    }
    let off = try Check.output(c.offsets, "chains->offsets")
    let at = atoms > 0 ? try Check.output(c.atoms, "chains->atoms") : nil
    var pos = 0
    off[0] = 0
    for (k, chain) in table.chains.enumerated() {
        for a in chain { at![pos] = a; pos += 1 }
        off[k + 1] = Int64(pos)
    }
    p.pointee.n_chains = Int64(table.count)
}

private func initialChains(_ p: UnsafeMutablePointer<lamina_ast_chains>?) throws -> (UnsafeMutablePointer<lamina_ast_chains>, ASTChainTable) {
    let chains = try Check.output(p, "chains")
    let c = chains.pointee
    if c.max_chains < 1 || c.max_atoms < 0 {
        throw LaminaError.invalid("chains->max_chains is \(c.max_chains) and max_atoms \(c.max_atoms); expected max_chains >= 1 and max_atoms >= 0")
    }
    return (chains, try readChains(c, name: "chains", allowEmpty: true, withinCapacity: true))
}

@_cdecl("lamina_ast_trees_check")
public func lamina_ast_trees_check(_ trees: UnsafePointer<lamina_ast_trees>?) -> Int32 {
    boundary { _ = try readTrees(trees) }
}

@_cdecl("lamina_ast_binarize")
public func lamina_ast_binarize(_ trees: UnsafePointer<lamina_ast_trees>?, _ parentOut: UnsafeMutablePointer<Int32>?,
                                _ chainOut: UnsafeMutablePointer<Int32>?, _ tokenNodeOut: UnsafeMutablePointer<Int32>?,
                                _ chains: UnsafeMutablePointer<lamina_ast_chains>?) -> Int32 {
    boundary {
        let input = try readTrees(trees)
        let (chainsPtr, start) = try initialChains(chains)
        let parentDst = try Check.output(parentOut, "parent_out")
        let chainDst = try Check.output(chainOut, "chain_out")
        let tokenDst = try Check.output(tokenNodeOut, "token_node_out")
        var table = start
        let binary = input.trees.map { ASTProbeTrees.binarize($0, chains: &table) }
        try writeChains(table, chainsPtr)
        var node = 0, tok = 0
        for b in binary {
            for v in 0..<b.parent.count { parentDst[node + v] = b.parent[v]; chainDst[node + v] = b.chain[v] }
            for i in 0..<b.tokenNode.count { tokenDst[tok + i] = b.tokenNode[i] }
            node += b.parent.count; tok += b.tokenNode.count
        }
    }
}

@_cdecl("lamina_ast_tuples")
public func lamina_ast_tuples(_ trees: UnsafePointer<lamina_ast_trees>?, _ dOut: UnsafeMutablePointer<Int32>?,
                              _ cOut: UnsafeMutablePointer<Int32>?, _ uOut: UnsafeMutablePointer<Int32>?,
                              _ chains: UnsafeMutablePointer<lamina_ast_chains>?) -> Int32 {
    boundary {
        let input = try readTrees(trees)
        let (chainsPtr, start) = try initialChains(chains)
        let total = input.tokenOffsets.last!, n = input.trees.count
        let dDst = total > n ? try Check.output(dOut, "d_out") : dOut
        let cDst = total > n ? try Check.output(cOut, "c_out") : cOut
        let uDst = try Check.output(uOut, "u_out")
        var table = start
        let tuples = input.trees.map { ASTProbeTrees.tuples(ASTProbeTrees.binarize($0, chains: &table)) }
        try writeChains(table, chainsPtr)
        var pos = 0, upos = 0
        for t in tuples {
            for i in 0..<t.d.count { dDst![pos + i] = t.d[i]; cDst![pos + i] = t.c[i] }
            for i in 0..<t.u.count { uDst[upos + i] = t.u[i] }
            pos += t.d.count; upos += t.u.count
        }
    }
}

/// Tuples of one snippet from C buffers (length n_tokens), validated against the table.
private func readTuples(_ nTokens: Int, _ d: UnsafePointer<Float>?, _ c: UnsafePointer<Int32>?, _ u: UnsafePointer<Int32>?,
                        _ table: ASTChainTable, names: (String, String, String), item: String) throws -> ([Float], [Int32], [Int32]) {
    let m = nTokens - 1
    let dv = m > 0 ? Array(UnsafeBufferPointer(start: try Check.pointer(d, names.0), count: m)) : []
    let cv = m > 0 ? Array(UnsafeBufferPointer(start: try Check.pointer(c, names.1), count: m)) : []
    let uv = Array(UnsafeBufferPointer(start: try Check.pointer(u, names.2), count: nTokens))
    try ASTProbeTrees.checkTuples(d: dv, c: cv, u: uv, chains: table, name: item)
    return (dv, cv, uv)
}

@_cdecl("lamina_ast_decode")
public func lamina_ast_decode(_ nTokens: Int64, _ d: UnsafePointer<Float>?, _ c: UnsafePointer<Int32>?,
                              _ u: UnsafePointer<Int32>?, _ chains: UnsafePointer<lamina_ast_chains>?,
                              _ maxNodes: Int64, _ parentOut: UnsafeMutablePointer<Int32>?,
                              _ labelOut: UnsafeMutablePointer<Int32>?, _ tokenNodeOut: UnsafeMutablePointer<Int32>?,
                              _ nNodesOut: UnsafeMutablePointer<Int64>?) -> Int32 {
    boundary {
        let n = try Check.count(nTokens, "n_tokens")
        if n > Int(Int32.max) / 4 { throw LaminaError.invalid("n_tokens is \(n); expected <= \(Int32.max / 4)") }
        let table = try readChains(try Check.pointer(chains, "chains").pointee, name: "chains", allowEmpty: false)
        let (dv, cv, uv) = try readTuples(n, d, c, u, table, names: ("d", "c", "u"), item: "the tuples")
        let countDst = try Check.output(nNodesOut, "n_nodes_out")
        let tree = ASTProbeTrees.decode(d: dv, c: cv, u: uv, chains: table)
        countDst.pointee = Int64(tree.nodeCount)
        if Int64(tree.nodeCount) > maxNodes {
            throw LaminaError.shape("the decoded tree has \(tree.nodeCount) nodes; max_nodes is \(maxNodes) (*n_nodes_out holds the size needed)")
        }
        let pDst = try Check.output(parentOut, "parent_out"), lDst = try Check.output(labelOut, "label_out")
        let tDst = try Check.output(tokenNodeOut, "token_node_out")
        for v in 0..<tree.nodeCount {
            pDst[v] = tree.parent[v]
            let label = tree.label[v]  // the core's marker labels become the header's
            lDst[v] = label == ASTProbeTrees.leafLabel ? LAMINA_AST_LEAF
                : label == ASTProbeTrees.badRootLabel ? LAMINA_AST_BAD_ROOT : label
        }
        for i in 0..<n { tDst[i] = tree.tokenNode[i] }
    }
}

@_cdecl("lamina_ast_f1")
public func lamina_ast_f1(_ tokenOffsets: UnsafePointer<Int64>?, _ nSnippets: Int64,
                          _ goldD: UnsafePointer<Float>?, _ goldC: UnsafePointer<Int32>?, _ goldU: UnsafePointer<Int32>?,
                          _ predD: UnsafePointer<Float>?, _ predC: UnsafePointer<Int32>?, _ predU: UnsafePointer<Int32>?,
                          _ chains: UnsafePointer<lamina_ast_chains>?, _ precisionOut: UnsafeMutablePointer<Double>?,
                          _ recallOut: UnsafeMutablePointer<Double>?, _ f1Out: UnsafeMutablePointer<Double>?,
                          _ meanOut: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let s = try Check.count(nSnippets, "n_snippets")
        if s > Int(Int32.max) { throw LaminaError.invalid("n_snippets is \(s); expected <= \(Int32.max)") }
        let off = try raggedOffsets(tokenOffsets, s, "token_offsets", minimum: 2, what: "tokens")
        let table = try readChains(try Check.pointer(chains, "chains").pointee, name: "chains", allowEmpty: false)
        let mean = try Check.output(meanOut, "mean_out")
        var scores = [(Double, Double, Double)]()
        scores.reserveCapacity(s)
        for i in 0..<s {
            let a = off[i], L = off[i + 1] - a
            let (gd, gc, gu) = try readTuples(L, goldD.map { $0 + (a - i) }, goldC.map { $0 + (a - i) }, goldU.map { $0 + a },
                                              table, names: ("gold_d", "gold_c", "gold_u"), item: "gold snippet \(i)")
            let (pd, pc, pu) = try readTuples(L, predD.map { $0 + (a - i) }, predC.map { $0 + (a - i) }, predU.map { $0 + a },
                                              table, names: ("pred_d", "pred_c", "pred_u"), item: "predicted snippet \(i)")
            let gold = ASTProbeTrees.constituents(ASTProbeTrees.decode(d: gd, c: gc, u: gu, chains: table))
            let pred = ASTProbeTrees.constituents(ASTProbeTrees.decode(d: pd, c: pc, u: pu, chains: table))
            scores.append(ASTProbeTrees.precisionRecallF1(gold: gold, pred: pred))
        }
        var sp = 0.0, sr = 0.0, sf = 0.0
        for (i, (p, r, f)) in scores.enumerated() {
            precisionOut?[i] = p; recallOut?[i] = r; f1Out?[i] = f
            sp += p; sr += r; sf += f
        }
        mean[0] = sp / Double(s); mean[1] = sr / Double(s); mean[2] = sf / Double(s)
    }
}

// MARK: the probe

private func probeParameters(_ p: UnsafePointer<lamina_ast_probe_params>?) throws -> ASTProbe.Parameters {
    let raw = try Check.pointer(p, "params").pointee
    var q = ASTProbe.Parameters()
    q.rank = Int(raw.rank)
    q.epochs = Int(raw.epochs)
    q.batchSize = Int(raw.batch_size)
    // The probe computes in float32: each double must survive the conversion (finite, and a
    // positive value must not round to 0).
    for (value, name) in [(raw.lr, "lr"), (raw.orthogonal_reg, "orthogonal_reg"), (raw.beta1, "beta1"),
                          (raw.beta2, "beta2"), (raw.eps, "eps")] {
        let single = Float(value)
        if !value.isFinite || !single.isFinite || (value != 0 && single == 0) {
            throw LaminaError.invalid("params.\(name) is \(value); expected a finite value representable as float32")
        }
    }
    if !(raw.lr > 0) { throw LaminaError.invalid("params.lr is \(raw.lr); expected a finite value > 0") }
    q.learningRate = Float(raw.lr)
    q.orthogonalPenalty = Float(raw.orthogonal_reg)
    q.adam = AdamConfig(beta1: Float(raw.beta1), beta2: Float(raw.beta2), epsilon: Float(raw.eps))
    q.seed = raw.seed
    try q.check()
    return q
}

@_cdecl("lamina_ast_probe_default_params")
public func lamina_ast_probe_default_params() -> lamina_ast_probe_params {
    let p = ASTProbe.Parameters()
    return lamina_ast_probe_params(rank: Int32(p.rank), epochs: Int32(p.epochs), batch_size: Int32(p.batchSize),
                                   lr: Double(p.learningRate), orthogonal_reg: Double(p.orthogonalPenalty),
                                   beta1: Double(p.adam.beta1), beta2: Double(p.adam.beta2),
                                   eps: Double(p.adam.epsilon), seed: p.seed)
}

@_cdecl("lamina_ast_probe_check_params")
public func lamina_ast_probe_check_params(_ params: UnsafePointer<lamina_ast_probe_params>?) -> Int32 {
    boundary { _ = try probeParameters(params) }
}

@_cdecl("lamina_ast_probe_create")
public func lamina_ast_probe_create(_ params: UnsafePointer<lamina_ast_probe_params>?,
                                    _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    astProbeHandles.create(out) { try ASTProbe(try probeParameters(params)) }
}

@_cdecl("lamina_ast_probe_free")
public func lamina_ast_probe_free(_ probe: OpaquePointer?) {
    astProbeHandles.remove(probe)
}

/// The activations (n x dim) of n_snippets snippets and their offsets (each snippet >= 2 tokens,
/// offsets[n_snippets] == n), as fit and predict take them. `fittedDims` (predict: the fitted width) is
/// checked before x is read.
private func snippetActivations(_ x: UnsafePointer<Float>?, _ n: Int64, _ dim: Int64,
                                _ offsets: UnsafePointer<Int64>?, _ nSnippets: Int64,
                                fittedDims: Int? = nil) throws -> (MatrixView, Int, [Int]) {
    let view = try Check.matrix(x, n, dim, "x", rowsName: "n", colsName: "dim",
                                expectedCols: fittedDims.map { dims in (dims, { "x has d = \($0) columns; the probe was fitted with d = \(dims)" }) })
    let s = try Check.count(nSnippets, "n_snippets")
    if s > view.rows / 2 {
        throw LaminaError.invalid("n_snippets is \(s); expected <= n / 2 = \(view.rows / 2) (each snippet has >= 2 tokens)")
    }
    let off = try raggedOffsets(offsets, s, "offsets", minimum: 2, what: "tokens")
    if off[s] != view.rows { throw LaminaError.shape("offsets[n_snippets] is \(off[s]); expected n = \(view.rows)") }
    return (view, s, off)
}

@_cdecl("lamina_ast_probe_fit")
public func lamina_ast_probe_fit(_ probe: OpaquePointer?, _ x: UnsafePointer<Float>?, _ n: Int64, _ dim: Int64,
                                 _ offsets: UnsafePointer<Int64>?, _ nSnippets: Int64, _ d: UnsafePointer<Int32>?,
                                 _ c: UnsafePointer<Int32>?, _ u: UnsafePointer<Int32>?,
                                 _ progress: lamina_progress_fn?, _ user: UnsafeMutableRawPointer?) -> Int32 {
    boundary {
        let model = try astProbeHandles.get(probe, "probe")
        let (view, s, off) = try snippetActivations(x, n, dim, offsets, nSnippets)
        let m = view.rows - s
        let dv = Array(UnsafeBufferPointer(start: try Check.pointer(d, "d"), count: m))
        let cv = Array(UnsafeBufferPointer(start: try Check.pointer(c, "c"), count: m))
        let uv = Array(UnsafeBufferPointer(start: try Check.pointer(u, "u"), count: view.rows))
        try model.fit(view, offsets: off, d: dv, c: cv, u: uv, progress: progressHandler(progress, user))
    }
}

@_cdecl("lamina_ast_probe_predict")
public func lamina_ast_probe_predict(_ probe: OpaquePointer?, _ x: UnsafePointer<Float>?, _ n: Int64, _ dim: Int64,
                                     _ offsets: UnsafePointer<Int64>?, _ nSnippets: Int64,
                                     _ dOut: UnsafeMutablePointer<Float>?, _ cOut: UnsafeMutablePointer<Int32>?,
                                     _ uOut: UnsafeMutablePointer<Int32>?) -> Int32 {
    boundary {
        let model = try fittedProbe(probe)
        let (view, _, off) = try snippetActivations(x, n, dim, offsets, nSnippets, fittedDims: model.dims)
        let dDst = try Check.output(dOut, "d_out"), cDst = try Check.output(cOut, "c_out")
        let uDst = try Check.output(uOut, "u_out")
        let (pd, pc, pu) = try model.predict(view, offsets: off)
        for i in 0..<pd.count { dDst[i] = pd[i]; cDst[i] = pc[i] }
        uDst.store(pu)
    }
}

private func fittedProbe(_ probe: OpaquePointer?) throws -> ASTProbe {
    let model = try astProbeHandles.get(probe, "probe")
    if !model.isFitted { throw LaminaError.invalid("this lamina_ast_probe is not fitted yet; call lamina_ast_probe_fit first") }
    return model
}

@_cdecl("lamina_ast_probe_get_info")
public func lamina_ast_probe_get_info(_ probe: OpaquePointer?, _ dim: UnsafeMutablePointer<Int64>?,
                                      _ nC: UnsafeMutablePointer<Int32>?, _ nU: UnsafeMutablePointer<Int32>?,
                                      _ nSteps: UnsafeMutablePointer<Int64>?, _ lastEpochLoss: UnsafeMutablePointer<Double>?) -> Int32 {
    boundary {
        let model = try fittedProbe(probe)
        dim?.pointee = Int64(model.dims)
        nC?.pointee = Int32(model.classesC.count)
        nU?.pointee = Int32(model.classesU.count)
        nSteps?.pointee = Int64(model.steps)
        lastEpochLoss?.pointee = model.epochLoss.last ?? .nan
    }
}

@_cdecl("lamina_ast_probe_get_weights")
public func lamina_ast_probe_get_weights(_ probe: OpaquePointer?, _ proj: UnsafeMutablePointer<Float>?,
                                         _ vectorsC: UnsafeMutablePointer<Float>?, _ vectorsU: UnsafeMutablePointer<Float>?,
                                         _ classesC: UnsafeMutablePointer<Int32>?, _ classesU: UnsafeMutablePointer<Int32>?) -> Int32 {
    boundary {
        let model = try fittedProbe(probe)
        if let proj { proj.store(model.proj) }
        if let vectorsC { vectorsC.store(model.vectorsC) }
        if let vectorsU { vectorsU.store(model.vectorsU) }
        if let classesC { classesC.store(model.classesC) }
        if let classesU { classesU.store(model.classesU) }
    }
}

@_cdecl("lamina_ast_probe_set_weights")
public func lamina_ast_probe_set_weights(_ probe: OpaquePointer?, _ dim: Int64, _ proj: UnsafePointer<Float>?,
                                         _ vectorsC: UnsafePointer<Float>?, _ classesC: UnsafePointer<Int32>?,
                                         _ nC: Int32, _ vectorsU: UnsafePointer<Float>?,
                                         _ classesU: UnsafePointer<Int32>?, _ nU: Int32) -> Int32 {
    boundary {
        let model = try astProbeHandles.get(probe, "probe")
        let r = model.parameters.rank
        let d = try Check.count(dim, "dim"), nc = try Check.count(Int64(nC), "n_c_classes"), nu = try Check.count(Int64(nU), "n_u_classes")
        let p = try Check.matrix(proj, Int64(d), Int64(r), "proj", rowsName: "dim", colsName: "rank")
        let vc = try Check.matrix(vectorsC, Int64(r), Int64(nc), "vectors_c", rowsName: "rank", colsName: "n_c_classes")
        let vu = try Check.matrix(vectorsU, Int64(r), Int64(nu), "vectors_u", rowsName: "rank", colsName: "n_u_classes")
        let cc = Array(UnsafeBufferPointer(start: try Check.pointer(classesC, "classes_c"), count: nc))
        let cu = Array(UnsafeBufferPointer(start: try Check.pointer(classesU, "classes_u"), count: nu))
        func copy(_ v: MatrixView) -> [Float] { Array(UnsafeBufferPointer(start: v.base, count: v.rows * v.cols)) }
        try model.restore(dims: d, proj: copy(p), vectorsC: copy(vc), vectorsU: copy(vu), classesC: cc, classesU: cu)
    }
}

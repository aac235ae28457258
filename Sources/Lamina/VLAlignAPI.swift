import LaminaCore
import CLaminaABI

// The VL-SAE's input projections (lamina_vlsae_create_projected, lamina_vlsae_project,
// lamina_vlsae_get_d_common) and the InfoNCE alignment stage (lamina_vlalign_*); header section 17.

final class VLAlignHandle {
    let align: VLAlignment
    init(_ align: VLAlignment) { self.align = align }
}

let vlalignHandles = HandleTable<VLAlignHandle>("lamina_vlalign")

/// A finite float32 matrix of `count` values given with its length (a projection).
private func projectionArgument(_ p: UnsafePointer<Float>?, _ len: Int64, rows: Int, cols: Int, _ name: String,
                                _ shape: String) throws -> FloatBuffer {
    try Check.length(len, expected: try Check.elements(rows, cols, name), "\(name)_len (d_common x \(shape) = \(rows) x \(cols))")
    let view = try Check.matrix(p, Int64(rows), Int64(cols), name, rowsName: "d_common", colsName: shape)
    let b = try FloatBuffer(checked: rows * cols, zero: 0, name)
    b.p.update(from: view.base, count: rows * cols)
    return b
}

@_cdecl("lamina_vlsae_create_projected")
public func lamina_vlsae_create_projected(_ params: UnsafePointer<lamina_vlsae_params>?, _ dCommon: Int64,
                                          _ pVision: UnsafePointer<Float>?, _ pVisionLen: Int64,
                                          _ pText: UnsafePointer<Float>?, _ pTextLen: Int64,
                                          _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    vlsaeHandles.create(out) {
        if dCommon < 1 || dCommon > (1 << 24) { throw LaminaError.invalid("d_common is \(dCommon); expected 1 <= d_common <= \(1 << 24)") }
        let raw = try Check.pointer(params, "params").pointee
        var p = raw
        let widths = (raw.d_vision, raw.d_text)
        p.d_text = p.d_vision   // the width check of vlsaeConfig is the unprojected rule; widths are checked here
        var c = try vlsaeConfig(&p)
        if widths.1 < 1 || widths.1 > (1 << 24) { throw LaminaError.invalid("params.d_text is \(widths.1); expected 1 <= d_text <= \(1 << 24)") }
        c.dText = Int(widths.1)
        c.dCommon = Int(dCommon)
        do { try c.check() } catch let e as LaminaError { throw LaminaError(e.kind, "params." + e.message) }
        let pv = try projectionArgument(pVision, pVisionLen, rows: c.dCommon, cols: c.dVision, "p_vision", "d_vision")
        let pt = try projectionArgument(pText, pTextLen, rows: c.dCommon, cols: c.dText, "p_text", "d_text")
        return try VLSAEHandle(try VLSparseAutoencoder(c, projections: (pv, pt)))
    }
}

@_cdecl("lamina_vlsae_get_d_common")
public func lamina_vlsae_get_d_common(_ h: OpaquePointer?, _ out: UnsafeMutablePointer<Int64>?) -> Int32 {
    boundary {
        let v = try vlsaeHandles.get(h, "vlsae")
        try Check.output(out, "out").pointee = Int64(v.model.config.dCommon)
    }
}

@_cdecl("lamina_vlsae_project")
public func lamina_vlsae_project(_ h: OpaquePointer?, _ modality: Int32, _ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64,
                                 _ out: UnsafeMutablePointer<Float>?, _ outLen: Int64) -> Int32 {
    boundary {
        let v = try vlsaeHandles.get(h, "vlsae")
        let m = try CEnums.vlsaeModality.decode(modality, "modality")
        let want = v.model.config.dim(m)
        let view = try Check.matrix(x, n, d, "x", expectedCols: (want, { "x has d = \($0) features; this VL-SAE has d_\(m.name) = \(want)" }))
        try Check.length(outLen, expected: try Check.elements(view.rows, v.model.d, "out"), "out_len (n * d_common)")
        let o = try Check.output(out, "out")
        try v.model.project(MemoryRows(base: UnsafeRawPointer(view.base), rows: view.rows, cols: view.cols, dtype: .float32), m, into: o)
    }
}

// MARK: - The alignment stage

@_cdecl("lamina_vlalign_create")
public func lamina_vlalign_create(_ dVision: Int64, _ dText: Int64, _ dCommon: Int64, _ temperature: Double, _ reconWeight: Double,
                                  _ lr: Double, _ batchSize: Int32, _ seed: UInt64,
                                  _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    vlalignHandles.create(out) {
        for (v, name) in [(dVision, "d_vision"), (dText, "d_text"), (dCommon, "d_common")] where v < 1 || v > (1 << 24) {
            throw LaminaError.invalid("\(name) is \(v); expected 1 <= \(name) <= \(1 << 24)")
        }
        var c = VLAlignConfig(dVision: Int(dVision), dText: Int(dText), dCommon: Int(dCommon))
        c.temperature = temperature; c.reconWeight = reconWeight; c.learningRate = lr
        c.batchSize = Int(batchSize); c.seed = seed
        return VLAlignHandle(try VLAlignment(c))
    }
}

@_cdecl("lamina_vlalign_free")
public func lamina_vlalign_free(_ h: OpaquePointer?) { vlalignHandles.remove(h) }

private func alignRows(_ p: UnsafeRawPointer?, _ type: SAEDType, _ n: Int, _ d: Int64, _ name: String, _ dName: String) throws -> MemoryRows {
    let cols = try Check.count(d, dName)
    _ = try Check.elements(n, cols, name)
    guard let p else { throw LaminaError.invalid("\(name) is NULL; expected a pointer to n x \(dName) values") }
    return MemoryRows(base: p, rows: n, cols: cols, dtype: type)
}

@_cdecl("lamina_vlalign_train")
public func lamina_vlalign_train(_ h: OpaquePointer?, _ vision: UnsafeRawPointer?, _ text: UnsafeRawPointer?, _ dtype: Int32,
                                 _ n: Int64, _ dVision: Int64, _ dText: Int64, _ epochs: Int32,
                                 _ progress: lamina_progress_fn?, _ user: UnsafeMutableRawPointer?) -> Int32 {
    boundary {
        let a = try vlalignHandles.get(h, "vlalign")
        let type = try saeInputDType(dtype)
        let count = try Check.count(n, "n", minimum: 2)
        let vr = try alignRows(vision, type, count, dVision, "vision", "d_vision")
        let tr = try alignRows(text, type, count, dText, "text", "d_text")
        if epochs < 1 { throw LaminaError.invalid("epochs is \(epochs); expected >= 1") }
        try a.align.train(vision: vr, text: tr, epochs: Int(epochs), progress: progressHandler(progress, user))
    }
}

@_cdecl("lamina_vlalign_loss_grad")
public func lamina_vlalign_loss_grad(_ h: OpaquePointer?, _ vision: UnsafePointer<Float>?, _ text: UnsafePointer<Float>?, _ n: Int64,
                                     _ dVision: Int64, _ dText: Int64, _ terms: UnsafeMutablePointer<Double>?,
                                     _ gradVision: UnsafeMutablePointer<Float>?, _ gradVisionLen: Int64,
                                     _ gradText: UnsafeMutablePointer<Float>?, _ gradTextLen: Int64) -> Int32 {
    boundary {
        let a = try vlalignHandles.get(h, "vlalign")
        let c = a.align.config
        let vv = try Check.matrix(vision, n, dVision, "vision", colsName: "d_vision",
                                  expectedCols: (c.dVision, { "vision has d = \($0) features; this alignment has d_vision = \(c.dVision)" }))
        let tv = try Check.matrix(text, n, dText, "text", colsName: "d_text",
                                  expectedCols: (c.dText, { "text has d = \($0) features; this alignment has d_text = \(c.dText)" }))
        let out = try Check.output(terms, "terms")
        if (gradVision == nil) != (gradText == nil) { throw LaminaError.invalid("grad_vision and grad_text must both be given or both be NULL") }
        if gradVision != nil {
            try Check.length(gradVisionLen, expected: c.dCommon * c.dVision, "grad_vision_len (d_common * d_vision)")
            try Check.length(gradTextLen, expected: c.dCommon * c.dText, "grad_text_len (d_common * d_text)")
        }
        let s = try a.align.lossAndGradient(vision: vv.base, text: tv.base, rows: vv.rows, gradVision: gradVision, gradText: gradText)
        out[0] = s.loss; out[1] = s.infoNCE; out[2] = s.reconVision; out[3] = s.reconText
    }
}

@_cdecl("lamina_vlalign_get_state")
public func lamina_vlalign_get_state(_ h: OpaquePointer?, _ steps: UnsafeMutablePointer<Int64>?, _ pairs: UnsafeMutablePointer<Int64>?) -> Int32 {
    boundary {
        let a = try vlalignHandles.get(h, "vlalign")
        steps?.pointee = Int64(a.align.history.count)
        pairs?.pointee = Int64(a.align.pairsSeen)
    }
}

@_cdecl("lamina_vlalign_get_history")
public func lamina_vlalign_get_history(_ h: OpaquePointer?, _ out: UnsafeMutablePointer<Double>?, _ outLen: Int64) -> Int32 {
    boundary {
        let a = try vlalignHandles.get(h, "vlalign")
        let hist = a.align.history
        try Check.length(outLen, expected: hist.count * 5, "out_len (steps * 5)")
        if hist.isEmpty { return }
        let dst = try Check.output(out, "out")
        for (i, r) in hist.enumerated() {
            let row = [r.loss, r.infoNCE, r.reconVision, r.reconText, r.lr]
            for c in 0..<5 { dst[i * 5 + c] = row[c] }
        }
    }
}

@_cdecl("lamina_vlalign_transform")
public func lamina_vlalign_transform(_ h: OpaquePointer?, _ modality: Int32, _ x: UnsafePointer<Float>?, _ n: Int64, _ d: Int64,
                                     _ out: UnsafeMutablePointer<Float>?, _ outLen: Int64) -> Int32 {
    boundary {
        let a = try vlalignHandles.get(h, "vlalign")
        let m = try CEnums.vlsaeModality.decode(modality, "modality")
        let want = a.align.config.dim(m)
        let view = try Check.matrix(x, n, d, "x", expectedCols: (want, { "x has d = \($0) features; this alignment has d_\(m.name) = \(want)" }))
        try Check.length(outLen, expected: try Check.elements(view.rows, a.align.config.dCommon, "out"), "out_len (n * d_common)")
        a.align.transform(view.base, rows: view.rows, m, into: try Check.output(out, "out"))
    }
}

private func alignTensor(_ a: VLAlignHandle, _ name: UnsafePointer<CChar>?) throws -> (String, FloatBuffer) {
    let s = try Check.cString(name, "name")
    switch s {
    case "P_vision": return (s, a.align.pV)
    case "P_text": return (s, a.align.pT)
    default: throw LaminaError.invalid("name is '\(s)'; expected 'P_vision' or 'P_text'")
    }
}

@_cdecl("lamina_vlalign_get_tensor")
public func lamina_vlalign_get_tensor(_ h: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<Float>?,
                                      _ outLen: Int64) -> Int32 {
    boundary {
        let a = try vlalignHandles.get(h, "vlalign")
        let (s, b) = try alignTensor(a, name)
        try Check.copyTensor(s, b, to: out, outLen)
    }
}

@_cdecl("lamina_vlalign_set_tensor")
public func lamina_vlalign_set_tensor(_ h: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ values: UnsafePointer<Float>?,
                                      _ len: Int64) -> Int32 {
    boundary {
        let a = try vlalignHandles.get(h, "vlalign")
        let (s, b) = try alignTensor(a, name)
        try Check.copyTensor(s, from: values, len, into: b)
    }
}

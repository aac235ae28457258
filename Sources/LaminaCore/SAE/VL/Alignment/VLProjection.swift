#if canImport(Glibc)
import Glibc
#endif

/// The VL-SAE's input-projection rule (d_vision and d_text may differ):
///
///   a model either has no projections (d_common = 0; then d_vision == d_text = d is the encoder width),
///   or both P_vision (d_common x d_vision) and P_text (d_common x d_text), row-major, finite, fixed;
///   the encoder (W: n_latents x d_common) runs on u_m = P_m x / ||P_m x|| (a row with P_m x = 0 is an
///   error naming it); each decoder reconstructs its modality's raw input x (W_dec,m: n_latents x d_m),
///   so codes of either modality still decode into either modality's own space.
///
/// The projections are not trained by the VL-SAE: they are given (the user's, or the two learned by
/// VLAlignment on the same pairs before the SAE) and kept fixed, so the concept space sits on one frozen
/// common space and the SAE's loss is the paper's (reconstruction of the raw inputs) unchanged.
/// Normalising after projecting makes the encoder invariant to the scale of x, exactly as without
/// projections (normalise(P (x / ||x||)) = normalise(P x)).
extension VLSparseAutoencoder {
    /// The projection of modality m (nil without projections).
    package func projection(_ m: VLModality) -> FloatBuffer? { m == .vision ? projV : projT }

    /// Checks given projections against the config: both required exactly when d_common > 0, each of
    /// d_common x d_m finite values.
    static func checkProjections(_ c: VLSAEConfig, _ p: (vision: FloatBuffer, text: FloatBuffer)?) throws
        -> (vision: FloatBuffer?, text: FloatBuffer?) {
        guard c.projected else {
            if p != nil { throw LaminaError.invalid("projections are given but d_common is 0; expected d_common >= 1 with projections") }
            return (nil, nil)
        }
        guard let p else {
            throw LaminaError.invalid("d_common is \(c.dCommon) but no projections are given; expected P_vision (\(c.dCommon) x \(c.dVision)) and P_text (\(c.dCommon) x \(c.dText))")
        }
        for (b, name, dm) in [(p.vision, "P_vision", c.dVision), (p.text, "P_text", c.dText)] {
            if b.count != c.dCommon * dm {
                throw LaminaError.shape("\(name) has \(b.count) values; expected d_common x d_\(name == "P_vision" ? "vision" : "text") = \(c.dCommon) x \(dm) = \(c.dCommon * dm)")
            }
            for i in 0..<b.count where !b[i].isFinite {
                throw LaminaError(.nonFinite, "\(name) holds a non-finite value at row \(i / dm), column \(i % dm)")
            }
        }
        return (p.vision, p.text)
    }

    /// The encoder input of `rows` raw rows x (rows x d_m) of modality m into out (rows x d): P_m x per
    /// row (one sgemm) with projections, else a copy. out may equal x only without projections.
    package func projectInput(_ x: UnsafePointer<Float>, rows: Int, _ m: VLModality, into out: UnsafeMutablePointer<Float>) {
        let dm = config.dim(m)
        guard let p = projection(m) else {
            if UnsafePointer(out) != x { out.update(from: x, count: rows * dm) }
            return
        }
        if rows == 0 { return }
        Gemm.abT(m: rows, n: config.dCommon, k: dm, a: x, lda: dm, b: p.p, ldb: dm, c: out, ldc: config.dCommon)
    }

    /// P_m x of every row of x (rows x d_m) into out (rows x d_common); without projections a copy.
    package func project(_ x: RowSource, _ m: VLModality, into out: UnsafeMutablePointer<Float>) throws {
        let dm = config.dim(m), d = self.d
        if x.cols != dm { throw LaminaError.shape("x has d = \(x.cols) features; this VL-SAE has d_\(m.name) = \(dm)") }
        let chunk = max(1, min(x.rows, 4096))
        let raw = try FloatBuffer(checked: chunk * dm, zero: 0, "an input chunk (\(chunk) x \(dm))")
        var r0 = 0
        while r0 < x.rows {
            let rows = min(chunk, x.rows - r0)
            try x.read(rows: r0..<(r0 + rows), into: raw.p)
            projectInput(raw.p, rows: rows, m, into: out + r0 * d)
            r0 += rows
        }
    }

    /// With projections: every row of x must have P_m x != 0 (finite), checked before training or a
    /// shift so that nothing is changed on error; the error names the modality and row (rowOffset + its
    /// index in x: a streamed chunk names the file's row).
    package func validateProjected(_ x: MemoryRows, _ m: VLModality, rowOffset: Int = 0) throws {
        guard config.projected else { return }
        let dm = config.dim(m), d = config.dCommon
        let chunk = max(1, min(x.rows, 4096))
        let raw = try FloatBuffer(checked: chunk * dm, zero: 0, "an input chunk (\(chunk) x \(dm))")
        let pr = try FloatBuffer(checked: chunk * d, zero: 0, "a projected chunk (\(chunk) x \(d))")
        var bad: Int?
        var r0 = 0
        while r0 < x.rows && bad == nil {
            let rows = min(chunk, x.rows - r0)
            try x.read(rows: r0..<(r0 + rows), into: raw.p)
            projectInput(raw.p, rows: rows, m, into: pr.p)
            for i in 0..<rows {
                let s = Vec.sumSquares(pr.p + i * d, d)
                if !(s > 0 && s.isFinite) { bad = r0 + i; break }
            }
            r0 += rows
        }
        if let r = bad {
            throw LaminaError.invalid("\(m.name) row \(rowOffset + r) has norm 0 after the \(m.name) projection (P_\(m.name) x = 0); VL-SAE normalises every projected row to unit length, so it cannot be used (drop the pair)")
        }
    }
}

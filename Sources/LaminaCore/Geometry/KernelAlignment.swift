/// Kernel alignment of a model's layers with its inputs and with its targets (the task-structure measure
/// of the Tanh/ReLU representational-geometry comparison): for each layer H_l,
///     A_X(l) = CKA(H_l, X),   A_Y(l) = CKA(H_l, one-hot(y)),
/// linear or debiased CKA as in `CKA.matrix`. The layers, the inputs and the one-hot target matrix go
/// through one `CKA.matrix(layers, [X, Y])` call, so every layer, X and the one-hot matrix are centred
/// once and each Gram / cross-product is computed once.
package enum KernelAlignment {
    /// Row-major n_layers x 2: [CKA(H_l, X), CKA(H_l, one-hot(y))] per layer.
    package static func compute(layers: [MatrixView], inputs: MatrixView, labels: EncodedLabels,
                               debiased: Bool) throws -> [Double] {
        if layers.isEmpty { throw LaminaError.invalid("the list of layers is empty; expected at least one layer") }
        let n = inputs.rows
        if labels.count != n {
            throw LaminaError.shape("labels has \(labels.count) entries; expected one per row of x (\(n))")
        }
        let k = labels.classCount
        if k < 2 {
            throw LaminaError.invalid("labels has \(k) distinct value; CKA with one-hot(labels) needs at least 2 classes (a single class is a constant target)")
        }
        // One-hot targets (float32 0/1 are exact), n x k.
        let (cells, overflow) = n.multipliedReportingOverflow(by: k)
        if overflow || cells > Int.max / 16 {
            throw LaminaError(.outOfMemory, "the one-hot targets would have \(n) x \(k) entries; too large")
        }
        var onehot = [Float](repeating: 0, count: cells)
        for (r, code) in labels.codes.enumerated() { onehot[r * k + Int(code)] = 1 }
        let l = layers.count
        return try onehot.withUnsafeBufferPointer { buffer in
            let target = MatrixView(base: buffer.baseAddress!, rows: n, cols: k)
            return try CKA.matrix(layers, [inputs, target], debiased: debiased, names: { index in
                index < l ? "layers[\(index)]" : (index == l ? "x (the inputs)" : "one-hot(labels)")
            })
        }
    }
}

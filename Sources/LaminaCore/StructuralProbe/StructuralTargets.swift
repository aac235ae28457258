package enum StructuralProbeKind: Int32, Sendable, CaseIterable {
    /// ||B(h_i - h_j)||^2 against gold tree distances (L x L per item).
    case distance = 0
    /// ||B h_i||^2 against gold tree depths (one per token).
    case depth = 1

    /// Number of gold/predicted values of the items for this kind.
    package func valueCount(_ items: RaggedLayout) -> Int { self == .distance ? items.pairCount : items.tokens }
    /// Offset of item k's values.
    @inline(__always) package func valueOffset(_ items: RaggedLayout, _ k: Int) -> Int {
        self == .distance ? items.pairOffsets[k] : items.offsets[k]
    }
}

/// Checks gold targets: the right count, finite, >= 0 or exactly -1 (the reference's "ignore this
/// entry" value, used for padding there).
package func checkStructuralTargets(_ targets: UnsafeBufferPointer<Float>, kind: StructuralProbeKind,
                                   items: RaggedLayout, name: String = "targets") throws {
    let expected = kind.valueCount(items)
    if targets.count != expected {
        let what = kind == .distance ? "the sum of length^2 over the items (an L x L gold distance matrix per item)"
                                     : "n_tokens (one gold depth per token)"
        throw LaminaError.shape("\(name) has \(targets.count) values; expected \(expected), \(what)")
    }
    for i in 0..<targets.count {
        let v = targets[i]
        if !v.isFinite || (v < 0 && v != -1) {
            // locate the item for the message
            var k = 0
            while kind.valueOffset(items, k + 1) <= i { k += 1 }
            let local = i - kind.valueOffset(items, k)
            let pos: String
            if kind == .distance {
                let l = items.length(k)
                pos = "item \(k), entry (\(local / l), \(local % l))"
            } else {
                pos = "item \(k), token \(local)"
            }
            if !v.isFinite {
                throw LaminaError(.nonFinite, "\(name) contains \(v) at index \(i) (\(pos)); expected finite values")
            }
            throw LaminaError.invalid("\(name) contains \(v) at index \(i) (\(pos)); expected a value >= 0, or -1 to ignore the entry")
        }
    }
}

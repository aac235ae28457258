/// Variable-length items (sentences, code snippets) as one concatenated buffer: the token activations
/// of every item, one after the other (n_tokens x d), and offsets (n_items + 1 values, offsets[0] = 0,
/// strictly increasing, offsets[n_items] = n_tokens): item k holds tokens offsets[k] ..< offsets[k+1].
public struct RaggedLayout: Sendable {
    /// n_items + 1 token offsets.
    public let offsets: [Int]
    /// n_items + 1 offsets into a per-item L x L buffer (the cumulative sums of length^2).
    public let pairOffsets: [Int]

    public var count: Int { offsets.count - 1 }
    public var tokens: Int { offsets[offsets.count - 1] }
    public var pairCount: Int { pairOffsets[pairOffsets.count - 1] }
    @inline(__always) public func length(_ item: Int) -> Int { offsets[item + 1] - offsets[item] }

    /// Validates the offsets (throws a message naming `name` and the first offending entry):
    /// n_items + 1 entries, offsets[0] == 0, strictly increasing (no empty item), and, when `tokens`
    /// is given, offsets[n_items] == tokens.
    public init(offsets raw: UnsafeBufferPointer<Int64>, tokens: Int?, name: String = "offsets") throws {
        if raw.count < 2 {
            throw LaminaError.invalid("\(name) has \(raw.count) entries; expected n_items + 1 >= 2 (offsets[0] = 0, ..., offsets[n_items] = n_tokens)")
        }
        if raw[0] != 0 { throw LaminaError.invalid("\(name)[0] is \(raw[0]); expected 0") }
        let limit = Int64(tokens ?? (Int.max / 16))
        var result = [Int](repeating: 0, count: raw.count)
        for k in 1..<raw.count {
            let v = raw[k]
            if v <= raw[k - 1] {
                throw LaminaError.invalid("\(name) is not strictly increasing: \(name)[\(k)] = \(v) <= \(name)[\(k - 1)] = \(raw[k - 1]); every item needs at least one token")
            }
            if v > limit {
                if let tokens {
                    throw LaminaError.invalid("\(name)[\(k)] is \(v), beyond n_tokens = \(tokens); expected offsets[n_items] = n_tokens")
                }
                throw LaminaError.invalid("\(name)[\(k)] is \(v); expected <= \(limit)")
            }
            result[k] = Int(v)
        }
        if let tokens, result[raw.count - 1] != tokens {
            throw LaminaError.invalid("\(name)[\(raw.count - 1)] (the last offset) is \(result[raw.count - 1]); expected n_tokens = \(tokens)")
        }
        var pairs = [Int](repeating: 0, count: result.count)
        for k in 0..<(result.count - 1) {
            let l = result[k + 1] - result[k]
            let (sq, o1) = l.multipliedReportingOverflow(by: l)
            let (total, o2) = pairs[k].addingReportingOverflow(sq)
            if o1 || o2 || total > Int.max / 16 {
                throw LaminaError(.outOfMemory, "the items' length^2 sum overflows at item \(k) (length \(l)); expected a sum of squared lengths <= \(Int.max / 16)")
            }
            pairs[k + 1] = total
        }
        self.offsets = result
        self.pairOffsets = pairs
    }
}

/// Variable-length items (sentences, code snippets) as one concatenated buffer: the token activations
/// of every item, one after the other (n_tokens x d), and offsets (n_items + 1 values, offsets[0] = 0,
/// strictly increasing, offsets[n_items] = n_tokens): item k holds tokens offsets[k] ..< offsets[k+1].
public struct RaggedItems: @unchecked Sendable {
    public let x: MatrixView
    public let layout: RaggedLayout

    public var offsets: [Int] { layout.offsets }
    public var pairOffsets: [Int] { layout.pairOffsets }
    public var count: Int { layout.count }
    public var tokens: Int { layout.tokens }
    public var dims: Int { x.cols }
    public var pairCount: Int { layout.pairCount }
    @inline(__always) public func length(_ item: Int) -> Int { layout.length(item) }

    public init(x: MatrixView, offsets raw: UnsafeBufferPointer<Int64>, name: String = "offsets") throws {
        self.x = x
        self.layout = try RaggedLayout(offsets: raw, tokens: x.rows, name: name)
    }
}

public enum StructuralProbeKind: Int32, Sendable, CaseIterable {
    /// ||B(h_i - h_j)||^2 against gold tree distances (L x L per item).
    case distance = 0
    /// ||B h_i||^2 against gold tree depths (one per token).
    case depth = 1

    /// Number of gold/predicted values of the items for this kind.
    public func valueCount(_ items: RaggedLayout) -> Int { self == .distance ? items.pairCount : items.tokens }
    /// Offset of item k's values.
    @inline(__always) public func valueOffset(_ items: RaggedLayout, _ k: Int) -> Int {
        self == .distance ? items.pairOffsets[k] : items.offsets[k]
    }
}

/// Checks gold targets: the right count, finite, >= 0 or exactly -1 (the reference's "ignore this
/// entry" value, used for padding there).
public func checkStructuralTargets(_ targets: UnsafeBufferPointer<Float>, kind: StructuralProbeKind,
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

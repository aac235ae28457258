/// Variable-length items (sentences, code snippets) as one concatenated buffer: the token activations
/// of every item, one after the other (n_tokens x d), and offsets (n_items + 1 values, offsets[0] = 0,
/// strictly increasing, offsets[n_items] = n_tokens): item k holds tokens offsets[k] ..< offsets[k+1].
package struct RaggedLayout: Sendable {
    /// n_items + 1 token offsets.
    package let offsets: [Int]
    /// n_items + 1 offsets into a per-item L x L buffer (the cumulative sums of length^2).
    package let pairOffsets: [Int]

    package var count: Int { offsets.count - 1 }
    package var tokens: Int { offsets[offsets.count - 1] }
    package var pairCount: Int { pairOffsets[pairOffsets.count - 1] }
    @inline(__always) package func length(_ item: Int) -> Int { offsets[item + 1] - offsets[item] }

    /// Validates the offsets (throws a message naming `name` and the first offending entry):
    /// n_items + 1 entries, offsets[0] == 0, every item at least `minimumLength` long (1: strictly
    /// increasing; 0: non-decreasing), and, when `tokens` is given, offsets[n_items] == tokens.
    /// `unit` names what the offsets count in messages ("token", "node", "atom").
    package init<C: RandomAccessCollection>(offsets raw: C, tokens: Int?, minimumLength: Int = 1, unit: String = "token",
                                           name: String = "offsets") throws where C.Element: BinaryInteger, C.Index == Int {
        let n = raw.count, at = { (k: Int) -> Int64 in Int64(truncatingIfNeeded: raw[raw.startIndex + k]) }
        if n < 2 {
            throw LaminaError.invalid("\(name) has \(n) entries; expected n_items + 1 >= 2 (offsets[0] = 0, ..., offsets[n_items] = n_tokens)")
        }
        if at(0) != 0 { throw LaminaError.invalid("\(name)[0] is \(at(0)); expected 0") }
        let limit = Int64(tokens ?? (Int.max / 16))
        // Grown as the entries are read and checked (not allocated at n up front): a huge declared count
        // (n_items = 2^40) is refused at its first bad entry instead of trapping on an 8 TiB allocation.
        var result = [0]
        result.reserveCapacity(min(n, 1 << 16))
        for k in 1..<n {
            let v = at(k), previous = at(k - 1)
            if v < previous || v - previous < Int64(minimumLength) {   // (v >= previous >= 0 here: no overflow)
                if minimumLength == 1 {
                    throw LaminaError.invalid("\(name) is not strictly increasing: \(name)[\(k)] = \(v) <= \(name)[\(k - 1)] = \(previous); every item needs at least one \(unit)")
                }
                throw LaminaError.invalid("\(name)[\(k)] is \(v) after \(name)[\(k - 1)] = \(previous); expected increasing offsets with >= \(minimumLength) \(unit)s per item")
            }
            if v > limit {
                if let tokens {
                    throw LaminaError.invalid("\(name)[\(k)] is \(v), beyond n_tokens = \(tokens); expected offsets[n_items] = n_tokens")
                }
                throw LaminaError.invalid("\(name)[\(k)] is \(v); expected <= \(limit)")
            }
            result.append(Int(v))
        }
        if let tokens, result[n - 1] != tokens {
            throw LaminaError.invalid("\(name)[\(n - 1)] (the last offset) is \(result[n - 1]); expected n_tokens = \(tokens)")
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
package struct RaggedItems: @unchecked Sendable {
    package let x: MatrixView
    package let layout: RaggedLayout

    package var offsets: [Int] { layout.offsets }
    package var pairOffsets: [Int] { layout.pairOffsets }
    package var count: Int { layout.count }
    package var tokens: Int { layout.tokens }
    package var dims: Int { x.cols }
    package var pairCount: Int { layout.pairCount }
    @inline(__always) package func length(_ item: Int) -> Int { layout.length(item) }

    package init(x: MatrixView, offsets raw: UnsafeBufferPointer<Int64>, name: String = "offsets") throws {
        self.x = x
        self.layout = try RaggedLayout(offsets: raw, tokens: x.rows, name: name)
    }
}

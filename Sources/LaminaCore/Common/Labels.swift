/// Labels as callers give them (any int32 values) remapped to dense codes 0..<classCount, in
/// ascending order of the original values (scikit-learn's `np.unique` order).
package struct EncodedLabels: Sendable {
    package let codes: [Int32]
    package let values: [Int32]
    package let counts: [Int]
    package var classCount: Int { values.count }
    package var count: Int { codes.count }

    package init(_ labels: UnsafeBufferPointer<Int32>) {
        let n = labels.count
        guard n > 0 else { codes = []; values = []; counts = []; return }
        var lo = labels[0], hi = labels[0]
        for v in labels { lo = min(lo, v); hi = max(hi, v) }
        let span = Int(hi) - Int(lo) + 1
        if span <= max(1 << 16, 4 * n) {
            // Dense value range: a counting table, O(n + span).
            var table = [Int32](repeating: -1, count: span)
            var present = [Int](repeating: 0, count: span)
            for v in labels { present[Int(v) - Int(lo)] += 1 }
            var vals: [Int32] = [], cnts: [Int] = []
            for offset in 0..<span where present[offset] > 0 {
                table[offset] = Int32(vals.count)
                vals.append(Int32(Int(lo) + offset))
                cnts.append(present[offset])
            }
            codes = labels.map { table[Int($0) - Int(lo)] }
            values = vals
            counts = cnts
        } else {
            // Sparse value range: sort, then binary-search each label.
            var sorted = Array(labels)
            sorted.sort()
            var vals: [Int32] = [], cnts: [Int] = []
            for v in sorted {
                if let last = vals.last, last == v { cnts[cnts.count - 1] += 1 } else { vals.append(v); cnts.append(1) }
            }
            codes = labels.map { v in
                var a = 0, b = vals.count
                while a < b { let m = (a + b) / 2; if vals[m] < v { a = m + 1 } else { b = m } }
                return Int32(a)
            }
            values = vals
            counts = cnts
        }
    }

    package init(_ labels: [Int32]) {
        self = labels.withUnsafeBufferPointer { EncodedLabels($0) }
    }
}

/// Sample indices grouped by class: `order[segmentStart[c] ..< segmentStart[c+1]]` are the samples of
/// class c, in their original order (a stable counting sort). Pairwise kernels work on data permuted
/// into this order so that every class is one contiguous run of rows and columns.
package struct ClassSegments: Sendable {
    package let order: [Int]
    package let segmentStart: [Int]
    package let classOfRow: [Int32]   // class of each row in sorted order

    package init(_ labels: EncodedLabels) {
        var start = [Int](repeating: 0, count: labels.classCount + 1)
        for c in 0..<labels.classCount { start[c + 1] = start[c] + labels.counts[c] }
        var cursor = start
        var order = [Int](repeating: 0, count: labels.count)
        for (i, c) in labels.codes.enumerated() {
            order[cursor[Int(c)]] = i
            cursor[Int(c)] += 1
        }
        var rowClass = [Int32](repeating: 0, count: labels.count)
        for c in 0..<labels.classCount { for r in start[c]..<start[c + 1] { rowClass[r] = Int32(c) } }
        self.order = order
        self.segmentStart = start
        self.classOfRow = rowClass
    }

    package var classCount: Int { segmentStart.count - 1 }
    package func size(_ c: Int) -> Int { segmentStart[c + 1] - segmentStart[c] }
}

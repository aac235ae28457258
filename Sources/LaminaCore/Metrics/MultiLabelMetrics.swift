/// Multi-label metrics with YouTube-8M's definitions (eval_util.py).
package enum MultiLabelMetrics {
    /// Global Average Precision at k: the top-k scored classes of every sample are pooled into one list
    /// sorted by score (descending; ties in sample-then-rank order, where YouTube-8M shuffles them
    /// randomly), and AP = sum over the list's positives of precision-at-their-rank / P, P the total
    /// number of positive labels over all samples (including those outside every top k).
    package static func gap(predictions: UnsafeBufferPointer<Float>, actuals: UnsafeBufferPointer<Float>, n: Int, classes: Int, topK: Int) throws -> Double {
        if topK < 1 { throw LaminaError.invalid("top_k is \(topK); expected >= 1") }
        let k = min(topK, classes)
        var scores: [(Float, Bool)] = []
        scores.reserveCapacity(n * k)
        var positives = 0
        var idx = [Int](repeating: 0, count: classes)
        for i in 0..<n {
            for c in 0..<classes where actuals[i * classes + c] > 0 { positives += 1 }
            for c in 0..<classes { idx[c] = c }
            idx.sort { a, b in
                let pa = predictions[i * classes + a], pb = predictions[i * classes + b]
                return pa != pb ? pa > pb : a < b
            }
            for r in 0..<k { let c = idx[r]; scores.append((predictions[i * classes + c], actuals[i * classes + c] > 0)) }
        }
        if positives == 0 { return 0 }
        let order = scores.indices.sorted { a, b in scores[a].0 != scores[b].0 ? scores[a].0 > scores[b].0 : a < b }
        var hits = 0
        var ap = 0.0
        for (rank, j) in order.enumerated() where scores[j].1 {
            hits += 1
            ap += Double(hits) / Double(rank + 1)
        }
        return ap / Double(positives)
    }

    /// Hit@1: the fraction of samples whose top-scored class (first on ties) is a positive label.
    package static func hitAtOne(predictions: UnsafeBufferPointer<Float>, actuals: UnsafeBufferPointer<Float>, n: Int, classes: Int) -> Double {
        var hits = 0
        for i in 0..<n {
            var best = 0
            for c in 1..<max(classes, 1) where predictions[i * classes + c] > predictions[i * classes + best] { best = c }
            if actuals[i * classes + best] > 0 { hits += 1 }
        }
        return Double(hits) / Double(n)
    }
}

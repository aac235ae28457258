/// Gold targets of structural probes from trees over the tokens (the reference's task.py:
/// ParseDistanceTask -- the path length between two tokens in the tree; ParseDepthTask -- the number
/// of edges from the root). Each item's tree is given by parent indices local to the item: parent[i]
/// in 0 ..< L, or -1 for the root (the reference reads 1-based CoNLL heads with 0 for the root).
package enum TreeTargets {
    /// Validates every item's tree (exactly one root, parents in range, no cycle) and writes the L x L
    /// distances of each item (concatenated, layout.pairCount values) and the depths (one per token);
    /// either output may be nil. Parents are checked for range and roots before anything is written; a
    /// cycle is found while writing (the outputs are then partly written).
    package static func compute(parents: UnsafeBufferPointer<Int32>, layout: RaggedLayout,
                               distances: UnsafeMutablePointer<Float>?, depths: UnsafeMutablePointer<Float>?) throws {
        if parents.count != layout.tokens {
            throw LaminaError.shape("parents has \(parents.count) values; expected n_tokens = \(layout.tokens)")
        }
        // validate all items first, so a failure writes nothing
        var maxLen = 0
        for k in 0..<layout.count {
            let lo = layout.offsets[k], l = layout.length(k)
            maxLen = max(maxLen, l)
            var root = -1
            for i in 0..<l {
                let p = Int(parents[lo + i])
                if p == -1 {
                    if root >= 0 {
                        throw LaminaError.invalid("the tree of item \(k) has two roots (tokens \(root) and \(i) have parent -1); expected exactly one root")
                    }
                    root = i
                } else if p < 0 || p >= l {
                    throw LaminaError.invalid("parents of item \(k), token \(i) is \(p); expected -1 (root) or a token index in 0..<\(l)")
                } else if p == i {
                    throw LaminaError.invalid("parents of item \(k), token \(i) is the token itself; expected a tree (no cycle)")
                }
            }
            if root < 0 { throw LaminaError.invalid("the tree of item \(k) has no root (no token with parent -1); expected exactly one root") }
        }
        var depth = [Int](repeating: -1, count: maxLen)
        var onPath = [Bool](repeating: false, count: maxLen)
        var children = [[Int]](repeating: [], count: maxLen)
        var queue = [Int](repeating: 0, count: maxLen)
        var dist = [Int](repeating: -1, count: maxLen)
        var path: [Int] = []
        path.reserveCapacity(maxLen)
        for k in 0..<layout.count {
            let lo = layout.offsets[k], l = layout.length(k)
            for i in 0..<l { depth[i] = -1; onPath[i] = false; children[i].removeAll(keepingCapacity: true) }
            for i in 0..<l {
                if depth[i] >= 0 { continue }
                // walk up until a token of known depth (or the root), detecting cycles
                path.removeAll(keepingCapacity: true)
                var v = i
                while depth[v] < 0 {
                    let p = Int(parents[lo + v])
                    if p == -1 { depth[v] = 0; break }
                    if onPath[v] {
                        throw LaminaError.invalid("the parents of item \(k) contain a cycle through token \(v); expected a tree")
                    }
                    onPath[v] = true
                    path.append(v)
                    v = p
                }
                var d = depth[v]
                for u in path.reversed() { d += 1; depth[u] = d; onPath[u] = false }
            }
            if let depths { for i in 0..<l { depths[lo + i] = Float(depth[i]) } }
            guard let distances else { continue }
            for i in 0..<l { let p = Int(parents[lo + i]); if p >= 0 { children[p].append(i) } }
            let base = layout.pairOffsets[k]
            for s in 0..<l {
                for i in 0..<l { dist[i] = -1 }
                dist[s] = 0
                var head = 0, tail = 0
                queue[tail] = s; tail += 1
                while head < tail {
                    let u = queue[head]; head += 1
                    let p = Int(parents[lo + u])
                    if p >= 0 && dist[p] < 0 { dist[p] = dist[u] + 1; queue[tail] = p; tail += 1 }
                    for c in children[u] where dist[c] < 0 { dist[c] = dist[u] + 1; queue[tail] = c; tail += 1 }
                }
                for j in 0..<l { distances[base + s * l + j] = Float(dist[j]) }
            }
        }
    }
}

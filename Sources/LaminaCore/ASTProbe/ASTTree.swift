/// Trees for AST-Probe (Hernández López et al. 2022, "AST-Probe: Recovering abstract syntax trees
/// from hidden representations of pre-trained language models"), following the semantics of the
/// paper's code (src/data/binary_tree.py of the AST-Probe repository): binarisation, the (d, c, u)
/// tuples, decoding and the constituent precision/recall/F1.
///
/// A tree is given as parent indices (-1 for the one root), a label (atom id >= 0) per node, and the
/// node of each token (the leaves, token order = sequence order). Labels of binarised nodes are
/// *chains* of atoms: merging a unary chain A -> B gives the chain [A, B] (the paper's "A<sep>B");
/// the empty chain is the paper's "<empty>" (a right-nesting node, or no unary label on a leaf).
/// Every algorithm here is iterative: a degenerate (very deep) tree cannot overflow the stack.
package struct ASTTree: Sendable, Equatable {
    package let parent: [Int32]
    package let label: [Int32]
    package let tokenNode: [Int32]

    package var nodeCount: Int { parent.count }
    package var tokenCount: Int { tokenNode.count }

    /// Validates: one root, parents in range, no cycle, labels >= 0, token nodes distinct leaves,
    /// every leaf a token, and every node's tokens contiguous (leaves in order). `name` prefixes the
    /// messages (e.g. "tree 3").
    package init(parent: [Int32], label: [Int32], tokenNode: [Int32], name: String = "tree") throws {
        let n = parent.count
        if n < 1 { throw LaminaError.invalid("\(name) has no nodes; expected >= 1") }
        if label.count != n { throw LaminaError.shape("\(name): \(label.count) labels for \(n) nodes; expected one per node") }
        if tokenNode.isEmpty { throw LaminaError.invalid("\(name) has no tokens; expected >= 1") }
        var root = -1
        for v in 0..<n {
            let p = Int(parent[v])
            if p == -1 {
                if root >= 0 {
                    throw LaminaError.invalid("\(name) has two roots (nodes \(root) and \(v) have parent -1); expected exactly one")
                }
                root = v
            } else if p < 0 || p >= n {
                throw LaminaError.invalid("\(name): parent[\(v)] is \(p); expected -1 (root) or a node index in 0..<\(n)")
            } else if p == v {
                throw LaminaError.invalid("\(name): parent[\(v)] is \(v) itself; a node cannot be its own parent (cycle)")
            }
            if label[v] < 0 { throw LaminaError.invalid("\(name): label[\(v)] is \(label[v]); expected an atom id >= 0") }
        }
        if root < 0 { throw LaminaError.invalid("\(name) has no root (no node with parent -1); it has a cycle") }
        // children (CSR) and reachability from the root
        let ch = ASTTree.children(parent)
        var order = [Int](); order.reserveCapacity(n)
        order.append(root)
        var head = 0
        while head < order.count {
            let v = order[head]; head += 1
            for k in ch.offsets[v]..<ch.offsets[v + 1] { order.append(ch.items[k]) }
        }
        if order.count != n {
            var reached = [Bool](repeating: false, count: n)
            for v in order { reached[v] = true }
            let bad = reached.firstIndex(of: false)!
            throw LaminaError.invalid("\(name): node \(bad) does not lead to the root (its parents form a cycle); expected a tree")
        }
        var tokenOf = [Int](repeating: -1, count: n)
        for (i, t) in tokenNode.enumerated() {
            let v = Int(t)
            if v < 0 || v >= n { throw LaminaError.invalid("\(name): token_node[\(i)] is \(v); expected a node index in 0..<\(n)") }
            if tokenOf[v] >= 0 { throw LaminaError.invalid("\(name): tokens \(tokenOf[v]) and \(i) are both node \(v); expected one leaf per token") }
            if ch.offsets[v + 1] > ch.offsets[v] {
                throw LaminaError.invalid("\(name): token \(i) is node \(v), which has children; expected a leaf")
            }
            tokenOf[v] = i
        }
        for v in 0..<n where ch.offsets[v + 1] == ch.offsets[v] && tokenOf[v] < 0 {
            throw LaminaError.invalid("\(name): node \(v) is a leaf without a token; expected every leaf to be a token (drop nodes that cover no token)")
        }
        // contiguity: lo/hi/count per node, children before parents (reverse BFS order)
        var lo = [Int](repeating: Int.max, count: n), hi = [Int](repeating: -1, count: n), cnt = [Int](repeating: 0, count: n)
        for v in order.reversed() {
            if tokenOf[v] >= 0 { lo[v] = tokenOf[v]; hi[v] = tokenOf[v]; cnt[v] = 1 }
            if hi[v] - lo[v] + 1 != cnt[v] {
                throw LaminaError.invalid("\(name): node \(v) covers \(cnt[v]) tokens spread over \(lo[v])..\(hi[v]); expected a contiguous range (leaves out of order)")
            }
            let p = Int(parent[v])
            if p >= 0 { lo[p] = min(lo[p], lo[v]); hi[p] = max(hi[p], hi[v]); cnt[p] += cnt[v] }
        }
        self.parent = parent
        self.label = label
        self.tokenNode = tokenNode
    }

    /// Unchecked (internal use: trees this file builds).
    init(unchecked parent: [Int32], label: [Int32], tokenNode: [Int32]) {
        self.parent = parent
        self.label = label
        self.tokenNode = tokenNode
    }

    struct CSR { var offsets: [Int]; var items: [Int] }

    /// Children lists in node order (CSR).
    static func children(_ parent: [Int32]) -> CSR {
        let n = parent.count
        var offsets = [Int](repeating: 0, count: n + 1)
        for v in 0..<n where parent[v] >= 0 { offsets[Int(parent[v]) + 1] += 1 }
        for v in 0..<n { offsets[v + 1] += offsets[v] }
        var fill = offsets
        var items = [Int](repeating: 0, count: offsets[n])
        for v in 0..<n where parent[v] >= 0 {
            let p = Int(parent[v]); items[fill[p]] = v; fill[p] += 1
        }
        return CSR(offsets: offsets, items: items)
    }

    /// First token under each node (valid trees only).
    func firstToken() -> [Int] {
        let n = nodeCount
        var first = [Int](repeating: Int.max, count: n)
        for (i, t) in tokenNode.enumerated() { first[Int(t)] = i }
        // propagate upwards: repeat over nodes by decreasing depth
        let depth = depths()
        let byDepth = (0..<n).sorted { depth[$0] > depth[$1] }
        for v in byDepth where parent[v] >= 0 { let p = Int(parent[v]); first[p] = min(first[p], first[v]) }
        return first
    }

    /// Depth (edges from the root) of every node (valid trees only).
    func depths() -> [Int] {
        let ch = ASTTree.children(parent)
        var depth = [Int](repeating: 0, count: nodeCount)
        guard let root = parent.firstIndex(of: -1) else { return depth }
        var stack = [root]
        while let v = stack.popLast() {
            for k in ch.offsets[v]..<ch.offsets[v + 1] { let c = ch.items[k]; depth[c] = depth[v] + 1; stack.append(c) }
        }
        return depth
    }
}

/// Interned label chains. Chain 0 is always the empty chain (the paper's "<empty>").
package struct ASTChainTable: Sendable, Equatable {
    package private(set) var chains: [[Int32]]
    private var index: [[Int32]: Int32]

    package init() {
        chains = [[]]
        index = [[]: 0]
    }

    /// A table holding exactly `chains` (its first chain must be empty; duplicates are rejected).
    package init(chains: [[Int32]]) throws {
        self.init()
        if chains.isEmpty { return }
        if !chains[0].isEmpty { throw LaminaError.invalid("chain 0 has \(chains[0].count) atoms; expected the empty chain") }
        for (k, c) in chains.enumerated().dropFirst() {
            if c.isEmpty { throw LaminaError.invalid("chain \(k) is empty; only chain 0 may be the empty chain") }
            if let a = c.first(where: { $0 < 0 }) { throw LaminaError.invalid("chain \(k) has atom \(a); expected atom ids >= 0") }
            if let j = index[c] { throw LaminaError.invalid("chains \(j) and \(k) are equal; expected distinct chains") }
            index[c] = Int32(k)
            self.chains.append(c)
        }
    }

    package var count: Int { chains.count }

    package mutating func intern(_ chain: [Int32]) -> Int32 {
        if let id = index[chain] { return id }
        let id = Int32(chains.count)
        chains.append(chain)
        index[chain] = id
        return id
    }

    package var atomCount: Int { chains.reduce(0) { $0 + $1.count } }
}

/// A binarised tree: exactly 2L - 1 nodes in pre-order (children ordered by first token), each with
/// a chain id: the merged labels of an inner node, or the unary chain of a leaf (chain 0 = none).
package struct ASTBinaryTree: Sendable, Equatable {
    package var parent: [Int32]
    package var chain: [Int32]
    package var tokenNode: [Int32]
}

/// The (d, c, u) tuples of a binarised tree: d[i] = height of the lowest common ancestor of tokens
/// i and i+1 (leaves have height 0), c[i] its chain, u[i] the unary chain of token i.
package struct ASTTuples: Sendable, Equatable {
    package var d: [Int32]
    package var c: [Int32]
    package var u: [Int32]
}

package enum ASTProbeTrees {
    /// Binarisation as the paper's ast2binary: a node with one inner child absorbs the child's label
    /// into its chain (unary chains merged); a node whose only child is a token becomes that token's
    /// leaf and carries its chain as the unary label; a node with more than two children keeps the
    /// first child and right-nests the rest under "<empty>" nodes; children ordered by first token.
    package static func binarize(_ tree: ASTTree, chains: inout ASTChainTable) -> ASTBinaryTree {
        let ch = ASTTree.children(tree.parent)
        let first = tree.firstToken()
        var tokenOf = [Int](repeating: -1, count: tree.nodeCount)
        for (i, t) in tree.tokenNode.enumerated() { tokenOf[Int(t)] = i }
        func kids(_ v: Int) -> [Int] {
            var k = Array(ch.items[ch.offsets[v]..<ch.offsets[v + 1]])
            k.sort { first[$0] < first[$1] }
            return k
        }
        // build with arbitrary numbering
        var bParent = [Int](), bChain = [[Int32]](), bToken = [Int](), bUnary = [Bool]()
        func newNode(_ p: Int, _ chain: [Int32]) -> Int {
            bParent.append(p); bChain.append(chain); bToken.append(-1); bUnary.append(false)
            return bParent.count - 1
        }
        let root = tree.parent.firstIndex(of: -1)!
        var stack = [(root, newNode(-1, [tree.label[root]]))]
        while let (v, p) = stack.popLast() {
            let k = kids(v)
            if k.isEmpty {
                bToken[p] = tokenOf[v]
            } else if k.count == 1 {
                let m = k[0]
                if tokenOf[m] < 0 {
                    bChain[p].append(tree.label[m])
                    stack.append((m, p))
                } else {
                    bToken[p] = tokenOf[m]
                    bUnary[p] = true
                }
            } else if k.count == 2 {
                for m in k { stack.append((m, newNode(p, [tree.label[m]]))) }
            } else {
                stack.append((k[0], newNode(p, [tree.label[k[0]]])))
                var empty = newNode(p, [])
                var emptyKids = 0
                let rest = k.count - 1
                for j in 0..<rest {
                    if emptyKids == 1 && rest - j > 1 {
                        empty = newNode(empty, [])
                        emptyKids = 0
                    }
                    stack.append((k[j + 1], newNode(empty, [tree.label[k[j + 1]]])))
                    emptyKids += 1
                }
            }
        }
        // leaves that are plain tokens (not unary) carry no chain: the token's own label is dropped
        for b in 0..<bParent.count where bToken[b] >= 0 && !bUnary[b] { bChain[b] = [] }
        return renumber(parent: bParent, chain: bChain, token: bToken, tokenCount: tree.tokenCount, chains: &chains)
    }

    /// Pre-order renumbering, children by first token; interns chains.
    static func renumber(parent: [Int], chain: [[Int32]], token: [Int], tokenCount: Int,
                         chains: inout ASTChainTable) -> ASTBinaryTree {
        let n = parent.count
        let ch = ASTTree.children(parent.map { Int32($0) })
        var first = [Int](repeating: Int.max, count: n)
        for v in 0..<n where token[v] >= 0 { first[v] = token[v] }
        // post-order accumulate of first token
        let root = parent.firstIndex(of: -1)!
        var order = [root]
        var h = 0
        while h < order.count { let v = order[h]; h += 1; for k in ch.offsets[v]..<ch.offsets[v + 1] { order.append(ch.items[k]) } }
        for v in order.reversed() where parent[v] >= 0 { first[parent[v]] = min(first[parent[v]], first[v]) }
        var newId = [Int](repeating: -1, count: n)
        var outParent = [Int32](repeating: -1, count: n), outChain = [Int32](repeating: 0, count: n)
        var outToken = [Int32](repeating: -1, count: tokenCount)
        var stack = [root]
        var next = 0
        while let v = stack.popLast() {
            newId[v] = next
            outParent[next] = parent[v] >= 0 ? Int32(newId[parent[v]]) : -1
            outChain[next] = chains.intern(chain[v])
            if token[v] >= 0 { outToken[token[v]] = Int32(next) }
            next += 1
            var k = Array(ch.items[ch.offsets[v]..<ch.offsets[v + 1]])
            k.sort { first[$0] > first[$1] }  // push right first: left is popped first
            stack.append(contentsOf: k)
        }
        return ASTBinaryTree(parent: outParent, chain: outChain, tokenNode: outToken)
    }

    /// The (d, c, u) tuples of a binary tree (as the paper's tree_to_distance).
    package static func tuples(_ b: ASTBinaryTree) -> ASTTuples {
        let n = b.parent.count
        let L = b.tokenNode.count
        var tokenOf = [Int](repeating: -1, count: n)
        for (i, t) in b.tokenNode.enumerated() { tokenOf[Int(t)] = i }
        var height = [Int32](repeating: 0, count: n)
        var lastTok = [Int](repeating: -1, count: n)   // last token under node
        var firstTok = [Int](repeating: Int.max, count: n)
        // pre-order numbering: children have larger ids than parents
        for v in stride(from: n - 1, through: 0, by: -1) {
            if tokenOf[v] >= 0 { firstTok[v] = tokenOf[v]; lastTok[v] = tokenOf[v] }
            let p = Int(b.parent[v])
            if p >= 0 {
                height[p] = max(height[p], height[v] + 1)
                firstTok[p] = min(firstTok[p], firstTok[v]); lastTok[p] = max(lastTok[p], lastTok[v])
            }
        }
        var d = [Int32](repeating: 0, count: max(L - 1, 0)), c = [Int32](repeating: 0, count: max(L - 1, 0))
        var u = [Int32](repeating: 0, count: L)
        // split of an inner node = last token of its left (first) child; pre-order: left child = v+1
        for v in 0..<n where tokenOf[v] < 0 {
            let split = lastTok[v + 1]
            d[split] = height[v]
            c[split] = b.chain[v]
        }
        for i in 0..<L { u[i] = b.chain[Int(b.tokenNode[i])] }
        return ASTTuples(d: d, c: c, u: u)
    }

    /// The decoded tree of (d, c, u), expanded as the paper's evaluation does
    /// (distance_to_tree, then remove_empty_nodes, add_unary, extend_complex_nodes): recursive split
    /// at the first largest d; an inner node with the empty chain is removed (its children go to its
    /// parent) unless it is the root, which is kept with label `badRootLabel` ("bad_root"); a leaf
    /// with a unary chain gets that chain of nodes above it; a chain [a1..ak] becomes nodes
    /// a1 -> ... -> ak. Leaves get label `leafLabel`. Node numbering is pre-order.
    package static let leafLabel: Int32 = -1
    package static let badRootLabel: Int32 = -2

    package static func decode(d: [Float], c: [Int32], u: [Int32], chains: ASTChainTable) -> ASTTree {
        let L = u.count
        var parent = [Int32](), label = [Int32](), tokenNode = [Int32](repeating: -1, count: L)
        func add(_ p: Int32, _ l: Int32) -> Int32 { parent.append(p); label.append(l); return Int32(parent.count - 1) }
        func addChain(_ p: Int32, _ chain: [Int32]) -> Int32 {
            var q = p
            for a in chain { q = add(q, a) }
            return q
        }
        // stack of (lo, hi, parent in output, isRoot)
        var stack: [(Int, Int, Int32, Bool)] = [(0, L - 1, -1, true)]
        while let (lo, hi, p, isRoot) = stack.popLast() {
            if lo == hi {
                let q = addChain(p, chains.chains[Int(u[lo])])
                tokenNode[lo] = add(q, leafLabel)
                continue
            }
            var best = lo
            for i in lo..<hi where d[i] > d[best] { best = i }
            let chain = chains.chains[Int(c[best])]
            var q = p
            if chain.isEmpty {
                if isRoot { q = add(p, badRootLabel) }
            } else {
                q = addChain(p, chain)
            }
            stack.append((best + 1, hi, q, false))
            stack.append((lo, best, q, false))
        }
        return ASTTree(unchecked: parent, label: label, tokenNode: tokenNode)
    }

    /// Constituents of a tree: (label, first token, last token) of every node with children.
    package static func constituents(_ t: ASTTree) -> [ASTConstituent] {
        let n = t.nodeCount
        var lo = [Int](repeating: Int.max, count: n), hi = [Int](repeating: -1, count: n)
        var hasKids = [Bool](repeating: false, count: n)
        for (i, v) in t.tokenNode.enumerated() { lo[Int(v)] = i; hi[Int(v)] = i }
        let depth = t.depths()
        let byDepth = (0..<n).sorted { depth[$0] > depth[$1] }
        for v in byDepth where t.parent[v] >= 0 {
            let p = Int(t.parent[v])
            lo[p] = min(lo[p], lo[v]); hi[p] = max(hi[p], hi[v]); hasKids[p] = true
        }
        var out = [ASTConstituent]()
        for v in 0..<n where hasKids[v] { out.append(ASTConstituent(label: t.label[v], first: Int32(lo[v]), last: Int32(hi[v]))) }
        return out
    }

    /// Precision, recall and F1 of predicted against gold constituents, counted as the paper's
    /// get_precision_recall_f1: hits = predicted constituents (with multiplicity) present in the gold
    /// set; precision = hits / |pred|, recall = hits / |gold|; all 0 when precision + recall is 0.
    package static func precisionRecallF1(gold: [ASTConstituent], pred: [ASTConstituent]) -> (Double, Double, Double) {
        let goldSet = Set(gold)
        let hits = pred.reduce(0) { $0 + (goldSet.contains($1) ? 1 : 0) }
        let p = pred.isEmpty ? 0 : Double(hits) / Double(pred.count)
        let r = gold.isEmpty ? 0 : Double(hits) / Double(gold.count)
        if p + r == 0 { return (0, 0, 0) }
        return (p, r, 2 * p * r / (p + r))
    }

    /// Upper bound of the decoded tree's node count (tokens + chain nodes + a bad root).
    package static func decodedSizeBound(c: [Int32], u: [Int32], chains: ASTChainTable) -> Int {
        var n = u.count
        for k in c { n += max(1, chains.chains[Int(k)].count) }
        for k in u { n += chains.chains[Int(k)].count }
        return n
    }

    /// Validates tuples of one snippet against the chain table.
    package static func checkTuples(d: [Float], c: [Int32], u: [Int32], chains: ASTChainTable, name: String) throws {
        if u.isEmpty { throw LaminaError.invalid("\(name) has no tokens; expected >= 1") }
        if d.count != u.count - 1 || c.count != u.count - 1 {
            throw LaminaError.shape("\(name): \(d.count) d and \(c.count) c values for \(u.count) tokens; expected \(u.count - 1) each")
        }
        for (i, x) in d.enumerated() where !x.isFinite {
            throw LaminaError(.nonFinite, "\(name): d[\(i)] is \(x); expected finite values")
        }
        for (i, x) in c.enumerated() where x < 0 || Int(x) >= chains.count {
            throw LaminaError.invalid("\(name): c[\(i)] is \(x); expected a chain id in 0..<\(chains.count)")
        }
        for (i, x) in u.enumerated() where x < 0 || Int(x) >= chains.count {
            throw LaminaError.invalid("\(name): u[\(i)] is \(x); expected a chain id in 0..<\(chains.count)")
        }
        let bound = decodedSizeBound(c: c, u: u, chains: chains)
        if bound > Int(Int32.max) {
            throw LaminaError(.outOfMemory, "\(name): the decoded tree could have \(bound) nodes; expected <= \(Int32.max)")
        }
    }
}

package struct ASTConstituent: Hashable, Sendable {
    package var label: Int32
    package var first: Int32
    package var last: Int32
}

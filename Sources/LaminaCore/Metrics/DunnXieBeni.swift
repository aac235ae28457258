/// The generalized Dunn index (Bezdek & Pal 1998) and the Xie-Beni index (Xie & Beni 1991).
package enum DunnIndex {
    /// Inter-cluster distance delta(C_a, C_b).
    package enum Linkage: Int32, Sendable, CaseIterable {
        case single = 0     // min over x in a, y in b of d(x, y)        (Bezdek-Pal delta_1)
        case complete = 1   // max over x in a, y in b of d(x, y)        (delta_2)
        case average = 2    // mean over x in a, y in b of d(x, y)       (delta_3)
        case centroid = 3   // d(c_a, c_b)                               (delta_4)
    }

    /// Cluster diameter Delta(C).
    package enum Diameter: Int32, Sendable, CaseIterable {
        case maxPairwise = 0      // max over x, y in C of d(x, y)                    (Delta_1)
        case meanPairwise = 1     // sum over x != y in C of d(x, y) / (|C|(|C|-1))    (Delta_2)
        case centroidMean = 2     // 2 * mean over x in C of d(x, c_C)                 (Delta_3)
    }

    /// D = min_{a != b} delta(C_a, C_b) / max_c Delta(C_c), Euclidean distances. Size-1 clusters have
    /// diameter 0. If every diameter is 0 the index is +inf (or NaN when the numerator is 0 too).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    package static func compute<T: LaminaFloat>(_ x: MatrixViewOf<T>, labels: EncodedLabels, linkage: Linkage = .single,
                               diameter: Diameter = .maxPairwise) throws -> Double {
        try checkRowsMatch(x, labels)
        try checkLabelCount(labels)
        let k = labels.classCount
        let needsPairs = linkage != .centroid || diameter != .centroidMean
        let needsCentroids = linkage == .centroid || diameter == .centroidMean
        let segments = ClassSegments(labels)
        let stats = needsPairs
            ? ClusterPairStats(try PairwisePoints<T>(x, segments: segments, metric: .euclidean),
                               exactExtremes: linkage != .average || diameter == .maxPairwise) : nil
        let centroids = needsCentroids ? ClassCentroids(x, labels: labels) : nil
        var separation = Double.infinity
        for a in 0..<k {
            for b in (a + 1)..<k {
                let delta: Double
                switch linkage {
                case .single: delta = stats!.minimum[stats!.index(a, b)]
                case .complete: delta = stats!.maximum[stats!.index(a, b)]
                case .average: delta = stats!.meanDistance(a, b)
                case .centroid: delta = centroids!.distance(a, b)
                }
                separation = min(separation, delta)
            }
        }
        var widest = 0.0
        let plain = diameter == .centroidMean ? centroids!.dispersions(x, labels: labels).plain : []
        for c in 0..<k {
            let size = labels.counts[c]
            let width: Double
            switch diameter {
            case .maxPairwise: width = size > 1 ? stats!.maximum[stats!.index(c, c)] : 0
            case .meanPairwise: width = size > 1 ? stats!.meanDistance(c, c) : 0
            case .centroidMean: width = 2 * plain[c] / Double(size)
            }
            widest = max(widest, width)
        }
        if widest == 0 { return separation > 0 ? .infinity : .nan }
        return separation / widest
    }
}

package enum XieBeniIndex {
    package enum Separation: Int32, Sendable, CaseIterable {
        /// XB = W / (n * min_{a != b} ||c_a - c_b||^2): the fuzzy c-means form of Xie & Beni (1991) with
        /// hard (0/1) memberships.
        case centroid = 0
        /// XB = W / (n * min_{a != b} min_{x in a, y in b} ||x - y||^2): the form of R's clusterCrit
        /// (Desgraupes 2013), separation by the closest pair of points in different clusters.
        case pointPair = 1
    }

    /// W = sum_i ||x_i - c_{k(i)}||^2 (within-cluster sum of squares). +inf when the separation is 0.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    package static func compute<T: LaminaFloat>(_ x: MatrixViewOf<T>, labels: EncodedLabels, separation: Separation = .centroid) throws -> Double {
        try checkRowsMatch(x, labels)
        try checkLabelCount(labels)
        let k = labels.classCount
        let centroids = ClassCentroids(x, labels: labels)
        let within = centroids.dispersions(x, labels: labels).squared.reduce(0, +)
        var closest = Double.infinity
        switch separation {
        case .centroid:
            for a in 0..<k { for b in (a + 1)..<k { let t = centroids.distance(a, b); closest = min(closest, t * t) } }
        case .pointPair:
            let stats = ClusterPairStats(try PairwisePoints<T>(x, segments: ClassSegments(labels), metric: .euclidean),
                                         exactExtremes: true)
            for a in 0..<k { for b in (a + 1)..<k { let t = stats.minimum[stats.index(a, b)]; closest = min(closest, t * t) } }
        }
        if closest == 0 { return within > 0 ? .infinity : .nan }
        return within / (Double(x.rows) * closest)
    }
}

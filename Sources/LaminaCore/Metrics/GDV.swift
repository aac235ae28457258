/// The generalized discrimination value (Schilling, Maier, Gerum, Metzner, Krauss 2021, "Quantifying the
/// separability of data classes in neural networks"). Each dimension is z-scored and halved,
/// s = 0.5 (x - mu) / sigma (population sigma; constant dimensions become 0), then with Euclidean d:
///   GDV = (1 / sqrt(D)) * [ (1/L) sum_l mean_intra(C_l) - (2 / (L (L-1))) sum_{l<m} mean_inter(C_l, C_m) ]
/// mean_intra over the N_l (N_l - 1) / 2 unordered pairs of distinct points of C_l, mean_inter over the
/// N_l N_m cross pairs. -1 <= GDV <= 0 in practice; more negative means better separated classes.
package enum GeneralizedDiscriminationValue {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    package static func compute<T: LaminaFloat>(_ x: MatrixViewOf<T>, labels: EncodedLabels) throws -> Double {
        try checkRowsMatch(x, labels)
        let k = labels.classCount
        if k < 2 { throw LaminaError.invalid("labels has \(k) distinct class; GDV needs at least 2") }
        if let small = labels.counts.firstIndex(where: { $0 < 2 }) {
            throw LaminaError.invalid("class \(labels.values[small]) has 1 sample; GDV needs at least 2 samples per class")
        }
        let mean = ColumnStats.mean(x)
        let sigma = ColumnStats.std(x, mean: mean)
        let scale = sigma.map { $0 > 0 ? 0.5 / $0 : 0 }
        let points = try PairwisePoints<T>(x, segments: ClassSegments(labels), metric: .euclidean, shift: mean, scale: scale)
        let stats = ClusterPairStats(points)
        var intra = 0.0, inter = 0.0
        for a in 0..<k {
            intra += stats.meanDistance(a, a)
            for b in (a + 1)..<k { inter += stats.meanDistance(a, b) }
        }
        let l = Double(k)
        return (intra / l - 2 * inter / (l * (l - 1))) / Double(x.cols).squareRoot()
    }
}

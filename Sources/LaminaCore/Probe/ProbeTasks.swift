/// Probing procedures built on LogisticProbe: stratified k-fold cross-validation over many layers,
/// control tasks (Hewitt & Liang 2019), online MDL codelength (Voita & Titov 2020) and few-shot
/// accuracy. Work items (layer x fold, MDL blocks, few-shot draws) run in parallel, one probe per
/// worker with its own pass over X on that worker, so results are the same for any thread count.
package enum ProbeTasks {

    /// Runs `count` independent throwing items in parallel; rethrows the error of the lowest item.
    static func parallelItems<R>(_ count: Int, _ body: (Int) throws -> R) throws -> [R] {
        let results = UnsafeMutablePointer<Result<R, Error>?>.allocate(capacity: max(count, 1))
        results.initialize(repeating: nil, count: max(count, 1))
        defer { results.deinitialize(count: max(count, 1)); results.deallocate() }
        Parallel.forEachTask(count) { i in
            results[i] = Result { try body(i) }
        }
        var out: [R] = []
        out.reserveCapacity(count)
        for i in 0..<count { out.append(try results[i]!.get()) }
        return out
    }

    // MARK: - Stratified k-fold

    /// Test fold (0..<k) of every sample, with sklearn.model_selection.StratifiedKFold(n_splits=k,
    /// shuffle=True)'s fold sizes: classes are numbered by first appearance, the sorted label vector is
    /// dealt round-robin to the folds (allocation[f][c] = #{p ≡ f mod k : sorted[p] = c}), and each
    /// class's fold assignments are shuffled (here with Lamina's seeded generator, one stream per seed:
    /// the sizes match scikit-learn's exactly, the membership differs from numpy's draws).
    /// Every class needs at least k samples (so that it appears in every test fold).
    package static func stratifiedFolds(_ labels: UnsafeBufferPointer<Int32>, folds k: Int, seed: UInt64) throws -> [Int32] {
        let n = labels.count
        if k < 2 { throw LaminaError.invalid("n_splits is \(k); expected >= 2") }
        if k > n { throw LaminaError.invalid("n_splits=\(k) is greater than the number of samples: n_samples=\(n)") }
        // Classes by first appearance.
        var index: [Int32: Int] = [:]
        var firstOrder: [Int32] = []
        var code = [Int](repeating: 0, count: n)
        for i in 0..<n {
            if let c = index[labels[i]] { code[i] = c } else {
                index[labels[i]] = firstOrder.count; code[i] = firstOrder.count; firstOrder.append(labels[i])
            }
        }
        let classes = firstOrder.count
        var counts = [Int](repeating: 0, count: classes)
        for c in code { counts[c] += 1 }
        for c in 0..<classes where counts[c] < k {
            throw LaminaError.invalid("label \(firstOrder[c]) has \(counts[c]) sample(s), fewer than n_splits=\(k); every class needs at least n_splits samples so that it is present in every fold")
        }
        var foldOf = [Int32](repeating: 0, count: n)
        var members = [[Int]](repeating: [], count: classes)
        for i in 0..<n { members[code[i]].append(i) }
        var rng = Xoshiro256(seed: seed)
        var start = 0
        for c in 0..<classes {
            var assignment: [Int32] = []
            assignment.reserveCapacity(counts[c])
            for f in 0..<k {
                // positions p in [start, start + count) with p % k == f
                let first = start + ((f - start % k) % k + k) % k
                let m = first < start + counts[c] ? (start + counts[c] - 1 - first) / k + 1 : 0
                assignment.append(contentsOf: repeatElement(Int32(f), count: m))
            }
            rng.shuffle(&assignment)
            for (m, i) in members[c].enumerated() { foldOf[i] = assignment[m] }
            start += counts[c]
        }
        return foldOf
    }

    // MARK: - Layer sweep

    package struct SweepResult: Sendable {
        package var foldAccuracy: [Double]   // layers x folds
        package var mean: [Double]           // per layer
        package var std: [Double]            // per layer, population std (numpy's default)
    }

    /// Stratified k-fold accuracy of a logistic probe for every layer (all layers share n and labels;
    /// the same folds for every layer). Items (layer, fold) run in parallel.
    package static func layerSweep(_ layers: [MatrixView], labels: UnsafeBufferPointer<Int32>, parameters: LogisticProbe.Parameters,
                                  folds k: Int, seed: UInt64) throws -> SweepResult {
        if layers.isEmpty { throw LaminaError.invalid("n_layers is 0; expected at least one layer") }
        let n = labels.count
        for (l, v) in layers.enumerated() where v.rows != n {
            throw LaminaError.shape("layer \(l) has \(v.rows) rows; expected n = \(n) (one per label)")
        }
        if parameters.multiLabel { throw LaminaError.invalid("layer_sweep needs class labels; multi_label probes are not supported") }
        let foldOf = try stratifiedFolds(labels, folds: k, seed: seed)
        var trainIdx = [[Int]](repeating: [], count: k), testIdx = [[Int]](repeating: [], count: k)
        for i in 0..<n {
            let f = Int(foldOf[i])
            testIdx[f].append(i)
            for g in 0..<k where g != f { trainIdx[g].append(i) }
        }
        let acc = try parallelItems(layers.count * k) { item -> Double in
            let layer = layers[item / k], f = item % k
            return try holdoutAccuracy(layer, labels, train: trainIdx[f], test: testIdx[f], parameters: parameters)
        }
        var mean = [Double](repeating: 0, count: layers.count), std = mean
        for l in 0..<layers.count {
            let row = acc[(l * k)..<(l * k + k)]
            let m = row.reduce(0, +) / Double(k)
            mean[l] = m
            std[l] = (row.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(k)).squareRoot()
        }
        return SweepResult(foldAccuracy: acc, mean: mean, std: std)
    }

    /// Fits on the train rows (on the calling thread) and returns the accuracy on the test rows.
    static func holdoutAccuracy(_ x: MatrixView, _ labels: UnsafeBufferPointer<Int32>, train: [Int], test: [Int],
                                parameters: LogisticProbe.Parameters) throws -> Double {
        let probe = try fitRows(x, labels, train, parameters)
        let testX = Matrix.gathering(x, rows: test)
        let testY = test.map { labels[$0] }
        return try testX.withView { v in try testY.withUnsafeBufferPointer { try probe.accuracy(v, labels: $0) } }
    }

    static func fitRows(_ x: MatrixView, _ labels: UnsafeBufferPointer<Int32>, _ rows: [Int],
                        _ parameters: LogisticProbe.Parameters) throws -> LogisticProbe {
        let trainX = Matrix.gathering(x, rows: rows)
        let trainY = EncodedLabels(rows.map { labels[$0] })
        let probe = try LogisticProbe(parameters)
        try trainX.withView { try probe.fit($0, labels: trainY, parallel: false) }
        return probe
    }

    // MARK: - Control tasks

    /// Hewitt & Liang (2019) type-level control labels: every distinct type id gets one label drawn
    /// independently from the empirical label distribution of the samples (seeded; types in ascending
    /// order of their ids draw in turn), and every sample takes its type's label.
    package static func controlLabels(types: UnsafeBufferPointer<Int32>, labels: UnsafeBufferPointer<Int32>, seed: UInt64) throws -> [Int32] {
        let n = labels.count
        if types.count != n { throw LaminaError.shape("types has \(types.count) entries; expected n = \(n)") }
        if n == 0 { return [] }
        let encoded = EncodedLabels(labels)
        let typeCodes = EncodedLabels(types)
        var cumulative = [Int](repeating: 0, count: encoded.classCount)
        var running = 0
        for c in 0..<encoded.classCount { running += encoded.counts[c]; cumulative[c] = running }
        var rng = Xoshiro256(seed: seed)
        var typeLabel = [Int32](repeating: 0, count: typeCodes.classCount)
        for t in 0..<typeCodes.classCount {
            let u = Int(rng.next() % UInt64(n))   // a sample index uniform in 0..<n: label c with p = count_c / n
            var c = 0
            while cumulative[c] <= u { c += 1 }
            typeLabel[t] = encoded.values[c]
        }
        return typeCodes.codes.map { typeLabel[Int($0)] }
    }

    // MARK: - Online (prequential) MDL

    /// Voita & Titov (2020)'s block boundaries as percentages of the data.
    package static let standardFractions: [Double] = [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.25, 12.5, 25, 50, 100]

    package struct MDLResult: Sendable {
        package var onlineBits: Double
        package var uniformBits: Double
        package var boundaries: [Int]       // t_1 < ... < t_S = n
        package var blockBits: [Double]     // bits of each block: [0, t_1) uniform, then [t_i, t_i+1)
        package var compression: Double { uniformBits / onlineBits }
    }

    /// Online codelength: with t_i = floor(n * f_i / 100) (duplicates dropped, t_S = n), the first t_1
    /// examples are sent with the uniform code (t_1 log2 K bits) and block [t_i, t_i+1) with a probe
    /// trained on examples [0, t_i): sum of -log2 p(y_j | x_j). Examples are taken in `order` (a
    /// permutation of 0..<n). A block whose training prefix lacks one of the K classes is sent with the
    /// uniform code as well (the receiver knows the prefix labels, so the code stays decodable; a probe
    /// cannot give a positive probability to a class it has not seen). Uniform codelength = n log2 K.
    package static func onlineCodelength(_ x: MatrixView, labels: UnsafeBufferPointer<Int32>, order: [Int],
                                        fractions: [Double], parameters: LogisticProbe.Parameters) throws -> MDLResult {
        let n = x.rows
        if labels.count != n { throw LaminaError.shape("labels has \(labels.count) entries; expected n = \(n)") }
        if order.count != n { throw LaminaError.shape("order has \(order.count) entries; expected n = \(n)") }
        var seen = [Bool](repeating: false, count: n)
        for (p, i) in order.enumerated() {
            if i < 0 || i >= n || seen[i] { throw LaminaError.invalid("order[\(p)] is \(i); expected a permutation of 0..<\(n)") }
            seen[i] = true
        }
        if fractions.isEmpty { throw LaminaError.invalid("fractions is empty; expected increasing percentages ending at 100") }
        for (i, f) in fractions.enumerated() {
            if !(f > 0 && f <= 100) { throw LaminaError.invalid("fractions[\(i)] is \(f); expected a percentage in (0, 100]") }
            if i > 0 && !(f > fractions[i - 1]) { throw LaminaError.invalid("fractions[\(i)] is \(f); expected strictly increasing values") }
        }
        if fractions.last! != 100 { throw LaminaError.invalid("fractions ends at \(fractions.last!); expected the last value to be 100") }
        let encoded = EncodedLabels(labels)
        let k = encoded.classCount
        if k < 2 { throw LaminaError.invalid("labels contain only one class; the MDL probe needs at least 2") }
        var boundaries: [Int] = []
        for f in fractions {
            let t = Int((Double(n) * f / 100).rounded(.down))
            if t >= 1 && (boundaries.last.map { t > $0 } ?? true) { boundaries.append(t) }
        }
        if boundaries.last != n { boundaries.append(n) }
        let log2K = _log(Double(k)) / _log(2)
        let ordered = order.map { labels[$0] }
        let blocks = boundaries.count - 1
        let blockBits = try parallelItems(blocks) { b -> Double in
            let lo = boundaries[b], hi = boundaries[b + 1]
            let prefix = Array(order[0..<lo])
            let prefixLabels = EncodedLabels(Array(ordered[0..<lo]))
            if prefixLabels.classCount < k { return Double(hi - lo) * log2K }
            let probe = try fitRows(x, labels, prefix, parameters)
            let block = Matrix.gathering(x, rows: Array(order[lo..<hi]))
            let proba = try block.withView { try probe.predictProba($0) }
            var bits = 0.0
            let width = probe.probaColumns
            for r in 0..<(hi - lo) {
                // Column of the true class: the probe's classes are all K values, ascending.
                let c = Int(encoded.codes[order[lo + r]])
                let p = width == 2 && k == 2 ? proba[r * 2 + c] : proba[r * width + c]
                bits -= _log(max(p, Double.leastNonzeroMagnitude)) / _log(2)
            }
            return bits
        }
        let first = Double(boundaries[0]) * log2K
        let online = first + blockBits.reduce(0, +)
        return MDLResult(onlineBits: online, uniformBits: Double(n) * log2K, boundaries: boundaries,
                         blockBits: [first] + blockBits)
    }

    /// A seeded uniform permutation of 0..<n (Fisher-Yates with Xoshiro256).
    package static func permutation(_ n: Int, seed: UInt64) -> [Int] {
        var p = Array(0..<n)
        var rng = Xoshiro256(seed: seed)
        rng.shuffle(&p)
        return p
    }

    // MARK: - Few-shot

    /// Accuracy on the test set of a probe trained on `shots` examples per class drawn without
    /// replacement from the training set, for each of `draws` seeded draws (draw r uses the stream
    /// seed + r). Every class of the training labels needs at least `shots` samples.
    package static func fewShot(train: MatrixView, trainLabels: UnsafeBufferPointer<Int32>, test: MatrixView,
                               testLabels: UnsafeBufferPointer<Int32>, shots: Int, draws: Int, seed: UInt64,
                               parameters: LogisticProbe.Parameters) throws -> [Double] {
        if shots < 1 { throw LaminaError.invalid("k is \(shots); expected >= 1 example per class") }
        if draws < 1 { throw LaminaError.invalid("n_draws is \(draws); expected >= 1") }
        if train.cols != test.cols { throw LaminaError.shape("x_test has \(test.cols) features; x_train has \(train.cols)") }
        let encoded = EncodedLabels(trainLabels)
        if encoded.classCount < 2 { throw LaminaError.invalid("train labels contain only one class; expected at least 2") }
        for c in 0..<encoded.classCount where encoded.counts[c] < shots {
            throw LaminaError.invalid("label \(encoded.values[c]) has \(encoded.counts[c]) training sample(s); k = \(shots) examples per class were requested")
        }
        let segments = ClassSegments(encoded)
        return try parallelItems(draws) { r -> Double in
            var rng = Xoshiro256(seed: seed &+ UInt64(r))
            var rows: [Int] = []
            for c in 0..<encoded.classCount {
                var members = Array(segments.order[segments.segmentStart[c]..<segments.segmentStart[c + 1]])
                for i in 0..<shots {   // partial Fisher-Yates: the first `shots` of a uniform shuffle
                    let j = i + Int(rng.next() % UInt64(members.count - i))
                    members.swapAt(i, j)
                }
                rows.append(contentsOf: members[0..<shots])
            }
            let probe = try fitRows(train, trainLabels, rows, parameters)
            return try probe.accuracy(test, labels: testLabels)
        }
    }
}

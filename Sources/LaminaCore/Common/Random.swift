/// SplitMix64-seeded xoshiro256**: a small, fast, reproducible generator (same seed, same stream, on
/// every platform). Lamina's randomness never depends on the thread count.
package struct Xoshiro256: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    package init(seed: UInt64) {
        var z = seed
        func splitmix() -> UInt64 {
            z &+= 0x9E37_79B9_7F4A_7C15
            var x = z
            x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
            x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
            return x ^ (x >> 31)
        }
        s = (splitmix(), splitmix(), splitmix(), splitmix())
    }

    @inline(__always)
    package mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0; s.3 ^= s.1; s.1 ^= s.2; s.0 ^= s.3
        s.2 ^= t
        s.3 = (s.3 << 45) | (s.3 >> 19)
        return result
    }

    /// Uniform in [0, 1) with 53 random bits.
    @inline(__always)
    package mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1.0p-53 }
}

extension Xoshiro256 {
    /// Stream `index` of a seed: the generator seeded with seed + index * 0x9E3779B97F4A7C15 (wrapping;
    /// stream 0 is the seed itself). Independent tasks (k-means restarts, bootstrap resamples) each take
    /// their own stream, so their draws do not depend on the order or the thread they run on.
    package init(seed: UInt64, stream index: Int) {
        self.init(seed: seed &+ UInt64(truncatingIfNeeded: index) &* 0x9E37_79B9_7F4A_7C15)
    }

    /// Seeded in-place Fisher-Yates: for i from count - 1 down to 1, swap a[i] with a[j], j = next() % (i + 1).
    /// One draw per i; the stream consumed is count - 1 values (none for count < 2).
    package mutating func shuffle<T>(_ a: inout [T]) {
        let n = a.count
        if n < 2 { return }
        for i in stride(from: n - 1, to: 0, by: -1) {
            let j = Int(next() % UInt64(i + 1))
            a.swapAt(i, j)
        }
    }
}

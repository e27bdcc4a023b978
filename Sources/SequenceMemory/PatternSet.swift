import NumericalCore

/// P patterns xi^1..xi^P in {-1,+1}^N (docs/theory/sequence-memory.md §1), stored as Int8 rows and bit-packed into UInt64 words
/// (bit = 1 for +1, zero padding), so that the integer overlap is g = xi.S = N - 2 popcount(xi XOR S).
public struct PatternSet: Sendable {
    /// N, the number of neurons.
    public let neurons: Int
    /// P, the number of patterns.
    public let count: Int
    /// Row-major P x N, entries +-1.
    public let values: [Int8]
    /// Words per packed pattern, ceil(N / 64).
    public let words: Int
    /// Row-major P x words.
    public let packed: [UInt64]

    /// Patterns from row-major +-1 values. Throws `invalidParameter` unless N >= 2, P >= 1 and every entry is +-1.
    public init(neurons: Int, count: Int, values: [Int8]) throws {
        try Validate.inRange("neurons", neurons, 2...1_000_000)
        try Validate.inRange("patterns", count, 1...100_000_000)
        guard values.count == neurons * count else {
            throw SolvableError.invalidParameter(name: "patterns", value: "\(values.count) values",
                                                 allowed: "exactly P x N = \(count * neurons) values")
        }
        if let bad = values.first(where: { $0 != 1 && $0 != -1 }) {
            throw SolvableError.invalidParameter(name: "patterns", value: "\(bad)", allowed: "entries +1 or -1")
        }
        self.init(unchecked: neurons, count, values)
    }

    /// Patterns from user rows (e.g. a .npy or CSV of +-1 rows): each row is one pattern.
    public init(rows: [[Double]]) throws {
        guard let n = rows.first?.count, n >= 2 else {
            throw SolvableError.invalidParameter(name: "patterns", value: "\(rows.first?.count ?? 0) columns",
                                                 allowed: "at least one row of at least 2 entries")
        }
        var v = [Int8](); v.reserveCapacity(rows.count * n)
        for (r, row) in rows.enumerated() {
            guard row.count == n else {
                throw SolvableError.invalidParameter(name: "patterns", value: "row \(r + 1) has \(row.count) entries", allowed: "\(n) entries per row")
            }
            for x in row {
                guard x == 1 || x == -1 else {
                    throw SolvableError.invalidParameter(name: "patterns", value: "\(x) in row \(r + 1)", allowed: "entries +1 or -1")
                }
                v.append(x > 0 ? 1 : -1)
            }
        }
        try self.init(neurons: n, count: rows.count, values: v)
    }

    init(unchecked neurons: Int, _ count: Int, _ values: [Int8]) {
        self.neurons = neurons
        self.count = count
        self.values = values
        let w = (neurons + 63) / 64
        self.words = w
        var p = [UInt64](repeating: 0, count: count * w)
        for mu in 0..<count {
            for j in 0..<neurons where values[mu * neurons + j] > 0 { p[mu * w + j >> 6] |= 1 << UInt64(j & 63) }
        }
        self.packed = p
    }

    /// i.i.d. Rademacher patterns (docs/theory/sequence-memory.md §1).
    public static func random(neurons: Int, count: Int, rng: inout RandomStream) throws -> PatternSet {
        try biased(neurons: neurons, count: count, bias: 0, rng: &rng)
    }

    /// Biased patterns, Pr(xi = +1) = (1 + bias)/2 (docs/theory/sequence-memory.md §7). bias = 0 draws 64 bits per random word.
    public static func biased(neurons: Int, count: Int, bias: Double, rng: inout RandomStream) throws -> PatternSet {
        try Validate.inRange("neurons", neurons, 2...1_000_000)
        try Validate.inRange("patterns", count, 1...100_000_000)
        try MemoryBudget.check(2 * MemoryBudget.patternBytes(neurons: neurons, patterns: count), hint: "P = \(count) patterns of N = \(neurons) neurons; lower P or N")
        try Validate.inRange("bias", bias, -1...1)
        var v = [Int8](repeating: 1, count: neurons * count)
        if bias == 0 {
            var k = 0
            while k < v.count {
                var bits = rng.next()
                let end = min(v.count, k + 64)
                while k < end { v[k] = (bits & 1) == 1 ? 1 : -1; bits >>= 1; k += 1 }
            }
        } else {
            let q = (1 + bias) / 2
            for k in 0..<v.count { v[k] = rng.uniform() < q ? 1 : -1 }
        }
        return PatternSet(unchecked: neurons, count, v)
    }

    /// Patterns sharing a random template t: each bit equals t_j with probability `similarity`, else is a fresh
    /// Rademacher bit, so E[xi^mu . xi^nu / N] = similarity^2 for mu != nu.
    public static func template(neurons: Int, count: Int, similarity: Double, rng: inout RandomStream) throws -> PatternSet {
        try Validate.inRange("neurons", neurons, 2...1_000_000)
        try Validate.inRange("patterns", count, 1...100_000_000)
        try Validate.inRange("similarity", similarity, 0...1)
        try MemoryBudget.check(2 * MemoryBudget.patternBytes(neurons: neurons, patterns: count), hint: "P = \(count) patterns of N = \(neurons) neurons; lower P or N")
        let t: [Int8] = (0..<neurons).map { _ in rng.rademacher() > 0 ? 1 : -1 }
        var v = [Int8](repeating: 1, count: neurons * count)
        for mu in 0..<count {
            for j in 0..<neurons {
                v[mu * neurons + j] = rng.uniform() < similarity ? t[j] : (rng.rademacher() > 0 ? 1 : -1)
            }
        }
        return PatternSet(unchecked: neurons, count, v)
    }

    /// Pattern mu (0-based) as +-1 values.
    public func pattern(_ mu: Int) -> [Int8] { Array(values[(mu * neurons)..<((mu + 1) * neurons)]) }

    /// Packs a +-1 state into words (bit 1 = +1).
    public static func pack(_ s: [Int8]) -> [UInt64] {
        var p = [UInt64](repeating: 0, count: (s.count + 63) / 64)
        for j in 0..<s.count where s[j] > 0 { p[j >> 6] |= 1 << UInt64(j & 63) }
        return p
    }

    /// g = xi^mu . xi^nu = N - 2 popcount(xi^mu XOR xi^nu) (padding bits are zero in both).
    @inlinable public func dot(_ mu: Int, _ nu: Int) -> Int {
        var d = 0
        let a = mu * words, b = nu * words
        for w in 0..<words { d &+= (packed[a + w] ^ packed[b + w]).nonzeroBitCount }
        return neurons - 2 * d
    }

    /// g_mu = xi^mu . S for a packed state.
    public func dots(packedState s: [UInt64]) -> [Int] {
        var g = [Int](repeating: 0, count: count)
        packed.withUnsafeBufferPointer { p in
            for mu in 0..<count {
                var d = 0
                for w in 0..<words { d &+= (p[mu * words + w] ^ s[w]).nonzeroBitCount }
                g[mu] = neurons - 2 * d
            }
        }
        return g
    }

    /// The integer Gram matrix G = Xi Xi^T (row-major P x P), O(P^2 N / 64).
    public func gram() -> [Int] {
        var g = [Int](repeating: 0, count: count * count)
        for mu in 0..<count {
            g[mu * count + mu] = neurons
            for nu in (mu + 1)..<max(mu + 1, count) { let x = dot(mu, nu); g[mu * count + nu] = x; g[nu * count + mu] = x }
        }
        return g
    }

    /// Dense reference overlap xi^mu . S / N with Double arithmetic (for tests of the packed path).
    public func denseOverlap(_ mu: Int, state: [Int8]) -> Double {
        var s = 0.0
        for j in 0..<neurons { s += Double(values[mu * neurons + j]) * Double(state[j]) }
        return s / Double(neurons)
    }

    /// Packed overlap xi^mu . S / N.
    public func overlaps(state: [Int8]) -> [Double] {
        dots(packedState: PatternSet.pack(state)).map { Double($0) / Double(neurons) }
    }

    /// Flips a fraction of the bits of a state (exactly round(fraction N) distinct bits), for noise-robustness runs.
    public static func corrupt(_ s: [Int8], fraction: Double, rng: inout RandomStream) -> [Int8] {
        var out = s
        let k = min(s.count, Int((fraction * Double(s.count)).rounded()))
        var idx = Array(0..<s.count)
        for a in 0..<k { let b = a + rng.index(below: s.count - a); idx.swapAt(a, b); out[idx[a]] = -out[idx[a]] }
        return out
    }
}

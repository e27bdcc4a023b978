import Foundation
import Testing
import NumericalCore

/// The ziggurat normal generator against the standard normal law.
@Suite("Ziggurat normal draws")
struct ZigguratTests {
    @Test("Moments, CDF (Kolmogorov-Smirnov at 61 points), tail beyond r, determinism per stream")
    func distribution() throws {
        let n = 2_000_000
        var rng = RandomStream(seed: 99, point: 1, sample: 2)
        let x = ZigguratNormal.draws(n, using: &rng)
        var again = RandomStream(seed: 99, point: 1, sample: 2)
        #expect(ZigguratNormal.draws(n, using: &again) == x)   // a fixed stream and count give fixed values
        let N = Double(n)
        let m1 = x.reduce(0, +) / N
        let m2 = x.reduce(0) { $0 + $1 * $1 } / N
        let m4 = x.reduce(0) { $0 + $1 * $1 * $1 * $1 } / N
        // 5-sigma bounds: sd(mean) = 1/√N, sd(x²) = √2/√N, sd(x⁴) = √96/√N
        #expect(abs(m1) < 5 / N.squareRoot(), "mean \(m1)")
        #expect(abs(m2 - 1) < 5 * 2.0.squareRoot() / N.squareRoot(), "variance \(m2)")
        #expect(abs(m4 - 3) < 5 * 96.0.squareRoot() / N.squareRoot(), "fourth moment \(m4)")
        // empirical CDF at c = -6, -5.8, ..., 6 vs Φ(c): KS statistic below the 0.1 % critical value 1.95/√N
        let sorted = x.sorted()
        var ks = 0.0
        for k in 0...60 {
            let c = -6 + 0.2 * Double(k)
            var lo = 0, hi = n
            while lo < hi { let mid = (lo + hi) / 2; if sorted[mid] <= c { lo = mid + 1 } else { hi = mid } }
            ks = max(ks, abs(Double(lo) / N - 0.5 * erfc(-c / 2.0.squareRoot())))
        }
        #expect(ks < 1.95 / N.squareRoot(), "KS \(ks)")
        // the tail |x| > r = 3.654 (drawn by the tail method): expected N·erfc(r/√2) ≈ 516, Poisson 5-sigma bound
        let tail = Double(x.filter { abs($0) > 3.6541528853610088 }.count)
        let expected = N * erfc(3.6541528853610088 / 2.0.squareRoot())
        #expect(abs(tail - expected) < 5 * expected.squareRoot(), "tail \(tail) vs \(expected)")
        #expect(x.allSatisfy { $0.isFinite })
        print("ziggurat: mean \(m1) var \(m2) m4 \(m4) KS·√N \(ks * N.squareRoot()) tail \(tail) (expected \(expected))")
    }
}

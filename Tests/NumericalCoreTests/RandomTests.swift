import Foundation
import NumericalCore
import Testing

@Suite struct RandomTests {
    @Test func sameSeedPointSampleGivesSameNumbers() {
        var a = RandomStream(seed: 42, point: 3, sample: 7)
        var b = RandomStream(seed: 42, point: 3, sample: 7)
        #expect((0..<100).map { _ in a.next() } == (0..<100).map { _ in b.next() })
        var c = RandomStream(seed: 42, point: 3, sample: 8)
        var d = RandomStream(seed: 42, point: 4, sample: 7)
        var e = RandomStream(seed: 42, point: 3, sample: 7)
        let first = e.next()
        #expect(c.next() != first && d.next() != first)
    }

    @Test func streamsDoNotDependOnThreadCount() {
        let draw = { (threads: Int) -> [Double] in
            ThreadPolicy.parallelMap(64, threads: threads) { i in
                var r = RandomStream(seed: 9, point: 0, sample: UInt64(i))
                return (0..<10).reduce(0.0) { acc, _ in acc + r.gaussian() }
            }
        }
        let one = draw(1), two = draw(2), five = draw(5)
        #expect(one == two && two == five)   // bitwise identical
    }

    /// First four moments of 10^6 normal draws. Standard errors of the sample moments:
    /// sqrt(Var(z^k)/n) with Var(z)=1, Var(z^2)=2, Var(z^3)=15, Var(z^4)=96; tolerance 5 standard errors
    /// (two-sided false-failure probability < 6e-7 per moment).
    @Test func normalMomentsWithinSamplingError() {
        let n = 1_000_000
        var r = RandomStream(seed: 2024, point: 1, sample: 0)
        var m = [Double](repeating: 0, count: 5)
        for _ in 0..<n {
            let z = r.gaussian()
            var p = 1.0
            for k in 1...4 { p *= z; m[k] += p }
        }
        for k in 1...4 { m[k] /= Double(n) }
        let expected = [0.0, 0, 1, 0, 3]
        let variance = [0.0, 1, 2, 15, 96]
        for k in 1...4 {
            let se = (variance[k] / Double(n)).squareRoot()
            #expect(abs(m[k] - expected[k]) < 5 * se, "moment \(k): \(m[k]) vs \(expected[k]) (se \(se))")
        }
    }

    /// Rademacher draws: mean 0 with standard error 1/sqrt(n); tolerance 5 standard errors.
    @Test func rademacherIsBalanced() {
        let n = 200_000
        var r = RandomStream(seed: 5)
        let xs = r.rademachers(n)
        #expect(xs.allSatisfy { $0 == 1 || $0 == -1 })
        #expect(abs(xs.reduce(0, +) / Double(n)) < 5 / Double(n).squareRoot())
    }

    /// Uniform draws: mean 1/2 with standard error sqrt(1/12 / n); tolerance 5 standard errors.
    @Test func uniformMean() {
        let n = 200_000
        var r = RandomStream(seed: 6)
        var s = 0.0
        for _ in 0..<n { let u = r.uniform(); #expect(u >= 0 && u < 1); s += u }
        #expect(abs(s / Double(n) - 0.5) < 5 * (1.0 / 12 / Double(n)).squareRoot())
    }
}

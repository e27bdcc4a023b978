import Foundation
import NumericalCore
import Testing

/// (k-1)!! for even k (E[z^k] of a standard normal), 0 for odd k.
func normalMoment(_ k: Int) -> Double {
    if k % 2 == 1 { return 0 }
    return stride(from: k - 1, to: 0, by: -2).reduce(1.0) { $0 * Double($1) }
}

@Suite struct GaussHermiteTests {
    @Test(arguments: [1, 2, 5, 10, 20])
    func exactOnPolynomialsUpToDegree2nMinus1(n: Int) throws {
        let gh = try GaussHermite(order: n)
        #expect(abs(gh.weights.reduce(0, +) - 1) < 1e-13)
        for k in 0...(2 * n - 1) {
            let q = gh.expectation { pow($0, Double(k)) }
            let exact = normalMoment(k)
            // floating-point bound of a weighted sum: a few ulps of sum_i w_i |z_i|^k (odd moments cancel to 0
            // from terms as large as 37!! ~ 1e21 at n = 20, so the scale is the absolute sum, not the result)
            let scale = gh.expectation { pow(abs($0), Double(k)) }
            #expect(abs(q - exact) <= 1e-12 * Double(n) * max(1, scale), "n=\(n) k=\(k): \(q) vs \(exact)")
        }
        // and not exact at degree 2n (the rule is sharp): the error is n! (Hermite norm), far above rounding
        let k = 2 * n
        #expect(abs(gh.expectation { pow($0, Double(k)) } - normalMoment(k)) > 1e-6 * normalMoment(k))
    }

    /// E[tanh(z)^2] by a 100-node rule against composite Simpson quadrature of tanh(z)^2 phi(z) on [-40, 40]
    /// with 400 001 nodes (error ~ h^4 * max|f''''| ~ 1e-16, tail mass beyond 40 < 1e-300): agreement to 1e-10.
    @Test func tanhSquaredAgainstIndependentReference() throws {
        let gh = try GaussHermite(order: 100)
        let q = gh.expectation { pow(tanh($0), 2) }
        let n = 400_000, a = -40.0, b = 40.0
        let h = (b - a) / Double(n)
        var s = 0.0
        for i in 0...n {
            let z = a + Double(i) * h
            let f = pow(tanh(z), 2) * exp(-z * z / 2) / (2 * Double.pi).squareRoot()
            s += f * (i == 0 || i == n ? 1 : (i % 2 == 1 ? 4 : 2))
        }
        let reference = s * h / 3
        #expect(abs(q - reference) < 1e-10, "GH \(q) vs Simpson \(reference)")
    }

    /// Bivariate rule: E[z1 z2] = c12 and E[z1^2 z2^2] = c11 c22 + 2 c12^2 (Isserlis).
    @Test func bivariateExpectationIsExactOnLowMoments() throws {
        let gh = try GaussHermite(order: 8)
        let (c11, c12, c22) = (1.3, -0.4, 0.7)
        #expect(abs(gh.expectation2(c11: c11, c12: c12, c22: c22) { $0 * $1 } - c12) < 1e-13)
        #expect(abs(gh.expectation2(c11: c11, c12: c12, c22: c22) { $0 * $0 * $1 * $1 } - (c11 * c22 + 2 * c12 * c12)) < 1e-12)
    }

    @Test func rejectsNonPositiveOrder() {
        #expect(throws: SolvableError.self) { _ = try GaussHermite(order: 0) }
    }
}

@Suite struct RootFindingTests {
    @Test(arguments: [
        ("cubic", { (x: Double) in x * x * x - 2 * x - 5 }, (2.0, 3.0), 2.0945514815423265),
        ("cos", { (x: Double) in cos(x) - x }, (0.0, 1.0), 0.7390851332151607),
        ("exp", { (x: Double) in exp(x) - 10 }, (0.0, 5.0), log(10.0)),
        ("flat root", { (x: Double) in pow(x - 1, 3) }, (0.0, 3.0), 1.0),
    ] as [(String, @Sendable (Double) -> Double, (Double, Double), Double)])
    func brentFindsKnownRoots(name: String, f: @Sendable (Double) -> Double, bracket: (Double, Double), root: Double) {
        let s = brentRoot(in: bracket, xTolerance: 1e-14, f)
        #expect(s.status == .converged, "\(name)")
        // triple root: f is flat, x accurate only to about cbrt(eps)
        let tol = name == "flat root" ? 1e-5 : 1e-12
        #expect(abs(s.value - root) < tol, "\(name): \(s.value) vs \(root)")
        #expect(s.record.iterations < 200)
    }

    @Test func brentReportsMissingBracket() {
        let s = brentRoot(in: (0, 1)) { $0 * $0 + 1 }
        #expect(s.status == .failed)
        #expect(s.record.message?.contains("bracket") == true)
    }

    @Test func brentReportsIterationBudget() {
        let s = brentRoot(in: (0, 3), xTolerance: 0, maxIterations: 3) { $0 * $0 * $0 - 2 }
        #expect(s.status == .maxIterations)
    }

    @Test func logBracketFindsRootsAcrossDecades() throws {
        for root in [1e-8, 3e-3, 1.0, 4e5] {
            let f = { (x: Double) in log(x / root) }
            let br = try #require(logBracket(start: 1, f))
            #expect(br.0 <= root && root <= br.1)
            let s = brentRoot(in: br, xTolerance: 1e-14 * root, f)
            #expect(abs(s.value / root - 1) < 1e-10)
        }
    }

    @Test func brentMinimizeFindsMinimum() {
        let s = brentMinimize(in: (0, 4)) { ($0 - 1.7) * ($0 - 1.7) + 0.5 }
        #expect(s.status == .converged)
        #expect(abs(s.value.x - 1.7) < 1e-7)
        #expect(abs(s.value.fx - 0.5) < 1e-12)
    }
}

@Suite struct FixedPointTests {
    /// x = cos(x) has the Dottie number as its unique fixed point.
    @Test func convergesToKnownFixedPoint() {
        let s = solveFixedPoint(initial: [0], options: FixedPointOptions(damping: 0.7, tolerance: 1e-13, maxIterations: 500)) { [cos($0[0])] }
        #expect(s.status == .converged)
        #expect(abs(s.value[0] - 0.7390851332151607) < 1e-12)
        #expect(s.record.residualHistory.count == s.record.iterations)
    }

    @Test func reportsDivergenceAndBudget() {
        let diverging = solveFixedPoint(initial: [1], options: FixedPointOptions(maxIterations: 1000)) { [3 * $0[0]] }
        #expect(diverging.status == .diverged)
        let slow = solveFixedPoint(initial: [0], options: FixedPointOptions(tolerance: 1e-15, maxIterations: 3)) { [cos($0[0])] }
        #expect(slow.status == .maxIterations)
        #expect(slow.record.message != nil)
    }
}

@Suite struct StatisticsTests {
    @Test func meanVarianceAndStandardError() {
        let x = [1.0, 2, 3, 4, 5]
        #expect(Statistics.mean(x) == 3)
        #expect(abs(Statistics.variance(x) - 2.5) < 1e-15)
        #expect(abs(Statistics.standardError(x) - (2.5 / 5).squareRoot()) < 1e-15)
    }

    @Test func wilsonIntervalKnownValue() {
        // 50 of 100 at 95%: centre 0.5, half-width 1.96 sqrt(0.25/100 + 1.96^2/40000)/(1 + 1.96^2/100) = 0.0960
        let (lo, hi) = Statistics.wilsonInterval(successes: 50, trials: 100)
        #expect(abs(lo - 0.40383) < 1e-4 && abs(hi - 0.59617) < 1e-4)
        let (lo0, _) = Statistics.wilsonInterval(successes: 0, trials: 20)
        #expect(lo0 == 0)
    }

    @Test func logLogSlopeRecoversPowerLaw() {
        let x = [64.0, 128, 256, 512, 1024]
        let fit = Statistics.logLogSlope(x: x, y: x.map { 3 * pow($0, -1) })
        #expect(abs(fit.slope + 1) < 1e-12)
    }

    @Test func alignmentOfParallelAndOrthogonalVectors() {
        #expect(abs(Statistics.alignment([1, 2, 3], [2, 4, 6]) - 1) < 1e-15)
        #expect(abs(Statistics.alignment([1, 0], [0, 1])) < 1e-15)
    }

    @Test func runningMomentsMatchBatch() {
        var r = RunningMoments()
        let x = [0.3, -1.2, 2.5, 0.9, 4.1, -0.7]
        for v in x { r.add(v) }
        #expect(abs(r.mean - Statistics.mean(x)) < 1e-14)
        #expect(abs(r.variance - Statistics.variance(x)) < 1e-13)
    }

    @Test func parallelForPropagatesErrors() {
        #expect(throws: SolvableError.self) {
            try ThreadPolicy.parallelFor(10, threads: 2) { i in if i == 7 { throw SolvableError.runtime("boom") } }
        }
    }
}
